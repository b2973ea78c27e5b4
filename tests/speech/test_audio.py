"""Audio checks, the streaming resampler, WAV writing and ffmpeg decoding."""

from __future__ import annotations

import io
import subprocess
import wave
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from interviews.exceptions import InvalidInput, PayloadTooLarge
from speech import audio
from speech.frames import AudioChunk
from tests.audio_fixtures import KOREAN_SHORT, frames, speak, write_wav


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype("<i2").tobytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(samples(pcm) ** 2)))


def peak_hz(pcm: bytes, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples(pcm)))
    return float(np.fft.rfftfreq(len(pcm) // 2, 1 / rate)[int(np.argmax(spectrum))])


# --- checks -------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000, 16000.0])
def test_sample_rates_in_range_are_accepted(rate):
    assert audio.check_sample_rate(rate) == int(rate)


@pytest.mark.parametrize("rate", [7999, 48001, 0, -16000, "16000", None, True, 16000.5, [16000]])
def test_bad_sample_rates_raise_invalid_input_with_code(rate):
    with pytest.raises(InvalidInput) as caught:
        audio.check_sample_rate(rate)
    assert caught.value.code == "bad_sample_rate"
    assert "sample_rate" in caught.value.message


def test_odd_length_frame_is_bad_audio():
    with pytest.raises(InvalidInput) as caught:
        audio.check_frame(b"\x00" * 3201)
    assert caught.value.code == "bad_audio"
    assert "odd length" in caught.value.message


def test_frame_over_the_limit_is_refused_with_its_size():
    limit = settings.RT.audio_max_frame_bytes
    audio.check_frame(b"\x00" * limit)  # exactly at the limit is fine
    with pytest.raises(InvalidInput) as caught:
        audio.check_frame(b"\x00" * (limit + 2))
    assert caught.value.code == "frame_too_large"
    assert str(limit + 2) in caught.value.message


def test_frame_limit_follows_the_setting():
    with (
        override_settings(RT=replace(settings.RT, audio_max_frame_bytes=1000)),
        pytest.raises(InvalidInput),
    ):
        audio.check_frame(b"\x00" * 1002)


def test_text_is_not_an_audio_frame():
    with pytest.raises(InvalidInput) as caught:
        audio.check_frame("0000")  # type: ignore[arg-type]
    assert caught.value.code == "bad_audio"


def test_check_chunk_checks_rate_and_bytes():
    audio.check_chunk(AudioChunk(b"\x00\x00" * 10, 16000))
    with pytest.raises(InvalidInput):
        audio.check_chunk(AudioChunk(b"\x00\x00" * 10, 96000))
    with pytest.raises(InvalidInput):
        audio.check_chunk(AudioChunk(b"\x00" * 3, 16000))


# --- resampling ---------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_stream_resampler_keeps_a_tone_and_the_duration(rate):
    resampler = audio.StreamResampler(16000)
    pcm = tone(440, 2.0, rate)
    out = (
        b"".join(resampler.process(frame, rate) for frame in frames(pcm, rate)) + resampler.flush()
    )
    assert abs(len(out) / 2 / 16000 - 2.0) < 0.002
    assert abs(peak_hz(out, 16000) - 440) < 2
    assert rms(out) == pytest.approx(rms(pcm), rel=0.02)


def test_stream_resampler_filters_what_16_khz_cannot_hold():
    # 10 kHz is above 16 kHz's Nyquist limit: a real resampler removes it,
    # dropping two of every three samples would fold it down to 6 kHz.
    pcm = tone(10000, 1.0, 48000)
    resampler = audio.StreamResampler(16000)
    out = b"".join(resampler.process(f, 48000) for f in frames(pcm, 48000)) + resampler.flush()
    dropped = np.frombuffer(pcm, dtype="<i2")[::3].tobytes()
    assert rms(dropped) > 0.3 * 32767
    assert rms(out) < 0.01 * rms(dropped)


def test_chunked_stream_matches_whole_buffer_resampling():
    pcm = speak(KOREAN_SHORT, rate=44100)
    resampler = audio.StreamResampler(16000)
    # Uneven pieces (37 ms and 3 ms) so boundaries fall anywhere in the filter.
    cuts = [0]
    while cuts[-1] < len(pcm):
        cuts.append(min(len(pcm), cuts[-1] + 2 * (1631 if len(cuts) % 2 else 132)))
    streamed = b"".join(resampler.process(pcm[a:b], 44100) for a, b in pairwise(cuts))
    streamed += resampler.flush()
    whole = audio.resample(pcm, 44100, 16000)
    assert len(streamed) == len(whole)
    assert np.max(np.abs(samples(streamed) - samples(whole))) <= 4  # rounding, not gaps


def test_16_khz_passes_through_untouched():
    pcm = speak(KOREAN_SHORT)
    resampler = audio.StreamResampler(16000)
    assert b"".join(resampler.process(f, 16000) for f in frames(pcm)) == pcm


def test_rate_change_mid_stream_loses_no_audio():
    resampler = audio.StreamResampler(16000)
    out = resampler.process(tone(440, 1.0, 48000), 48000)
    out += resampler.process(tone(440, 1.0, 8000), 8000)
    out += resampler.flush()
    assert abs(len(out) / 2 / 16000 - 2.0) < 0.002


# --- WAV and decoding ---------------------------------------------------------


def test_wav_bytes_is_a_readable_mono_16_bit_wav():
    pcm = tone(440, 0.5, 16000)
    with wave.open(io.BytesIO(audio.wav_bytes(pcm, 16000))) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.readframes(wav.getnframes()) == pcm


def test_decode_file_converts_stereo_44k_to_16k_mono(tmp_path):
    source = write_wav(tmp_path / "in.wav", tone(440, 1.0, 44100), 44100)
    stereo = tmp_path / "stereo.flac"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-ac", "2", str(stereo)], check=True
    )
    pcm = audio.decode_file(stereo)
    assert abs(len(pcm) / 2 / 16000 - 1.0) < 0.01
    assert abs(peak_hz(pcm, 16000) - 440) < 2


def test_decode_refuses_garbage_with_a_reason(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 100)
    with pytest.raises(InvalidInput) as caught:
        audio.decode_file(junk)
    assert caught.value.code == "bad_audio"
    assert "not audio we can decode" in caught.value.message
    assert str(tmp_path) not in caught.value.message  # no server paths to the client


def test_decode_stops_at_the_duration_limit(tmp_path):
    source = write_wav(tmp_path / "long.wav", tone(440, 5.0, 16000))
    assert len(audio.decode_file(source, max_seconds=5.0)) == 5 * 16000 * 2
    with pytest.raises(PayloadTooLarge) as caught:
        audio.decode_file(source, max_seconds=3.0)
    assert caught.value.code == "audio_too_long"
    assert "3 s limit" in caught.value.message


def test_decode_upload_reads_in_memory_uploads(tmp_path):
    source = write_wav(tmp_path / "a.wav", tone(440, 1.0, 8000), 8000)
    upload = SimpleUploadedFile("a.wav", source.read_bytes(), content_type="audio/wav")
    pcm = audio.decode_upload(upload)
    assert abs(len(pcm) / 2 / 16000 - 1.0) < 0.01
