"""The turn's audio, kept for its WAV file."""

from __future__ import annotations

import io
import wave

from live.recorder import TurnRecorder, wav_file


def test_a_turn_keeps_its_audio_at_one_rate_and_the_next_starts_empty():
    recorder = TurnRecorder(keep=True)
    recorder.add(b"\x01\x00" * 80, 8000)
    recorder.add(b"\x02\x00" * 160, 16000)  # the rate changed: the 8 kHz part is dropped
    recorder.add(b"\x03\x00" * 160, 16000)
    pcm, rate = recorder.take()
    assert (pcm, rate) == (b"\x02\x00" * 160 + b"\x03\x00" * 160, 16000)
    assert recorder.take() == (b"", 16000)

    with wave.open(io.BytesIO(wav_file(pcm, rate, "turn.wav").read())) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (16000, 1, 320)


def test_nothing_is_kept_when_turn_audio_is_off():
    recorder = TurnRecorder(keep=False)
    recorder.add(b"\x01\x00" * 160, 16000)
    assert recorder.take() == (b"", 16000)
    assert wav_file(b"", 16000, "turn.wav") is None
