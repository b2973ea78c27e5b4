"""The candidate's AudioWorklet (static/js/pcm-worklet.js) in Chromium: tones
rendered at the browser's usual rates come out as 16 kHz s16le frames of
100 ms, speech-band tones at full level, and tones above 8 kHz filtered
instead of folding back into the speech band (what sample dropping does)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.browser

RENDER = """
async ([workletUrl, rate, freq, seconds]) => {
  const ctx = new OfflineAudioContext(1, Math.round(rate * seconds), rate);
  await ctx.audioWorklet.addModule(workletUrl);
  const node = new AudioWorkletNode(ctx, "pcm-downsampler", {
    processorOptions: { targetRate: 16000, frameMs: 100 },
  });
  const frames = [];
  node.port.onmessage = (m) => {
    if (m.data.type === "pcm") frames.push(Array.from(new Int16Array(m.data.buffer)));
  };
  const osc = new OscillatorNode(ctx, { frequency: freq });
  const gain = new GainNode(ctx, { gain: 0.5 });
  osc.connect(gain).connect(node).connect(ctx.destination);
  osc.start();
  await ctx.startRendering();
  await new Promise((r) => setTimeout(r, 300)); // let the last messages arrive
  return frames;
}
"""


@pytest.fixture(scope="module")
def render(voice_browser, rt_server):
    page = voice_browser.new_page()
    page.goto(f"{rt_server.base}/healthz")
    url = f"{rt_server.base}/static/js/pcm-worklet.js"

    def run(rate: int, freq: float, seconds: float = 1.0) -> list[list[int]]:
        return page.evaluate(RENDER, [url, rate, freq, seconds])

    yield run
    page.close()


def level_db(frames: list[list[int]]) -> float:
    """RMS of the steady part (the filter's start-up skipped), dB re a 0.5 sine."""
    samples = np.concatenate([np.array(f, dtype=np.float64) for f in frames])[800:]
    rms = math.sqrt(float(np.mean(samples**2))) / 32767
    return 20 * math.log10(max(rms, 1e-9) / (0.5 / math.sqrt(2)))


@pytest.mark.parametrize("rate", [48000, 44100])
def test_frames_are_100_ms_of_16_khz_s16(render, rate):
    frames = render(rate, 440.0, 1.0)
    assert len(frames) in (9, 10)  # 1 s of input; the filter holds back a few ms
    assert {len(f) for f in frames} == {1600}  # 1600 samples = 3200 bytes


@pytest.mark.parametrize("rate", [48000, 44100])
@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0, 5000.0])
def test_speech_band_passes_at_full_level(render, rate, freq):
    assert abs(level_db(render(rate, freq))) < 0.5


@pytest.mark.parametrize("rate", [48000, 44100])
@pytest.mark.parametrize("freq", [9500.0, 12000.0, 15000.0])
def test_tones_above_8_khz_do_not_alias_into_the_speech_band(render, rate, freq):
    # Sample dropping would fold these to 6.5, 4 and 1 kHz at full level.
    assert level_db(render(rate, freq)) < -50
