"""The audio of the turn in progress, kept for its WAV file."""

from __future__ import annotations

from django.core.files.base import ContentFile

from speech import audio


class TurnRecorder:
    """Buffers one turn's PCM at one sample rate (settings.RT.save_turn_audio)."""

    def __init__(self, *, keep: bool) -> None:
        self.keep = keep
        self.pcm = bytearray()
        self.sample_rate = 16000

    def add(self, pcm: bytes, sample_rate: int) -> None:
        if self.keep:
            if sample_rate != self.sample_rate and self.pcm:
                self.pcm.clear()  # rate changed mid-turn: keep one consistent rate
            self.pcm.extend(pcm)
        self.sample_rate = sample_rate

    def prepend(self, pcm: bytes, sample_rate: int) -> int:
        """An earlier turn's audio goes first (take-back: one recording for the
        whole answer); the bytes put in front (0 at another rate or none kept)."""
        if not self.keep or not pcm or sample_rate != self.sample_rate:
            return 0
        self.pcm[:0] = pcm
        return len(pcm)

    def take(self) -> tuple[bytes, int]:
        """The turn's audio and its rate, and an empty buffer for the next turn."""
        pcm = bytes(self.pcm)
        self.pcm.clear()
        return pcm, self.sample_rate


def wav_file(pcm: bytes, sample_rate: int, name: str) -> ContentFile | None:
    """A WAV file of `pcm` to store with an answer; None when there is no audio."""
    if not pcm:
        return None
    return ContentFile(audio.wav_bytes(pcm, sample_rate), name=name)
