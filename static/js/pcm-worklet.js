// AudioWorklet: microphone audio at the context's rate (often 48000 Hz) in,
// 16 kHz mono signed 16-bit little-endian PCM out, in frames of `frameMs`.
//
// Resampling is band-limited: every output sample is a windowed-sinc (Blackman)
// interpolation of the input around its fractional position, with the cutoff
// below the output's Nyquist frequency, so nothing above 8 kHz folds back into
// the speech band (plain sample dropping would alias). The kernel is tabulated
// at PHASES sub-sample positions; works for any ratio, including 44.1 kHz.
//
// Messages to the main thread:
//   {type: "pcm", buffer: ArrayBuffer}   one frame, transferred
//   {type: "level", rms: number}         input loudness (0..1), about 20 per second

const PHASES = 64;
const ZERO_CROSSINGS = 16; // kernel half-width, in output samples

class PcmDownsampler extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.outRate = opts.targetRate || 16000;
    const frameMs = opts.frameMs || 100;
    this.ratio = sampleRate / this.outRate; // input samples per output sample
    const stretch = Math.max(this.ratio, 1);
    // Cutoff in cycles per input sample, a little under the lower Nyquist.
    this.cutoff = (0.5 / stretch) * 0.875;
    this.halfWidth = Math.ceil(ZERO_CROSSINGS * stretch); // in input samples
    this.table = this.buildKernel();
    // Pending input, with halfWidth samples of history before `pos`.
    this.buf = new Float32Array(8192);
    this.len = this.halfWidth; // start on zeros: the first outputs have history
    this.pos = this.halfWidth; // fractional input position of the next output
    this.frameSamples = Math.round((this.outRate * frameMs) / 1000);
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.levelSum = 0;
    this.levelCount = 0;
    this.levelEvery = Math.round(sampleRate / 20);
  }

  // h(d) for d = j / PHASES input samples, j = 0 .. halfWidth * PHASES (symmetric).
  buildKernel() {
    const n = this.halfWidth * PHASES + 2;
    const table = new Float32Array(n);
    const fc = this.cutoff;
    for (let j = 0; j < n; j++) {
      const d = j / PHASES;
      const x = 2 * fc * d;
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = d >= this.halfWidth ? 0 : blackman(d / this.halfWidth);
      table[j] = 2 * fc * sinc * w;
    }
    return table;
  }

  kernel(d) {
    const a = Math.abs(d) * PHASES;
    const i = Math.floor(a);
    const frac = a - i;
    return this.table[i] + (this.table[i + 1] - this.table[i]) * frac;
  }

  append(samples) {
    if (this.len + samples.length > this.buf.length) {
      const bigger = new Float32Array((this.len + samples.length) * 2);
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(samples, this.len);
    this.len += samples.length;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    const mono = mixDown(input);
    this.meter(mono);
    this.append(mono);
    const hw = this.halfWidth;
    // An output needs input up to pos + halfWidth.
    while (this.pos + hw < this.len) {
      const centre = Math.floor(this.pos);
      let acc = 0;
      let norm = 0;
      for (let k = centre - hw + 1; k <= centre + hw; k++) {
        const h = this.kernel(this.pos - k);
        acc += this.buf[k] * h;
        norm += h;
      }
      // Dividing by the taps' sum keeps unity gain at DC for every phase.
      this.emit(norm > 0 ? acc / norm : 0);
      this.pos += this.ratio;
    }
    // Drop input no future output needs (keep halfWidth of history).
    const keepFrom = Math.floor(this.pos) - hw;
    if (keepFrom > 0) {
      this.buf.copyWithin(0, keepFrom, this.len);
      this.len -= keepFrom;
      this.pos -= keepFrom;
    }
    return true;
  }

  emit(sample) {
    const s = Math.max(-1, Math.min(1, sample));
    this.frame[this.filled++] = Math.round(s < 0 ? s * 32768 : s * 32767);
    if (this.filled === this.frameSamples) {
      // Int16Array uses the platform's byte order; every browser platform is little-endian.
      const out = this.frame.buffer;
      this.port.postMessage({ type: "pcm", buffer: out }, [out]);
      // The old buffer was transferred (detached): start a fresh one.
      this.frame = new Int16Array(this.frameSamples);
      this.filled = 0;
    }
  }

  meter(mono) {
    for (let i = 0; i < mono.length; i++) this.levelSum += mono[i] * mono[i];
    this.levelCount += mono.length;
    if (this.levelCount >= this.levelEvery) {
      this.port.postMessage({ type: "level", rms: Math.sqrt(this.levelSum / this.levelCount) });
      this.levelSum = 0;
      this.levelCount = 0;
    }
  }
}

function blackman(t) {
  // t in [0, 1): distance from the centre as a fraction of the half-width.
  const x = Math.PI * (t + 1); // map the centre to the window's peak
  return 0.42 - 0.5 * Math.cos(x) + 0.08 * Math.cos(2 * x);
}

function mixDown(channels) {
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i] / channels.length;
  return out;
}

registerProcessor("pcm-downsampler", PcmDownsampler);
