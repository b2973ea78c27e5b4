// The microphone: permission, device choice, a level meter and 16 kHz PCM
// frames from the AudioWorklet in pcm-worklet.js.

const WORKLET_URL = new URL("./pcm-worklet.js", import.meta.url);
export const TARGET_RATE = 16000;
export const FRAME_MS = 100;

/** Why the microphone cannot be used, in words a candidate can act on. */
export function micProblem(err) {
  const name = (err && err.name) || "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return {
      code: "denied",
      message:
        "Microphone access is blocked. To answer by voice, allow the microphone for this site " +
        "(click the icon at the left of the address bar), then press “Try again”. " +
        "You can also answer by typing.",
    };
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return {
      code: "missing",
      message:
        "No microphone was found. Connect one and press “Try again”, or answer by typing.",
    };
  }
  if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") {
    return {
      code: "busy",
      message:
        "Your microphone could not be started: another app may be using it. Close that app " +
        "and press “Try again”, or answer by typing.",
    };
  }
  if (name === "Unsupported") {
    return { code: "unsupported", message: err.message };
  }
  return {
    code: "error",
    message: `The microphone could not be started (${name || "unknown error"}). You can answer by typing.`,
  };
}

function unsupported(message) {
  const err = new Error(message);
  err.name = "Unsupported";
  return err;
}

export class Microphone {
  constructor({ onFrame, onLevel, onEnded } = {}) {
    this.onFrame = onFrame;
    this.onLevel = onLevel;
    this.onEnded = onEnded;
    this.stream = null;
    this.context = null;
    this.node = null;
    this.deviceId = "";
  }

  get active() {
    return Boolean(this.stream) && this.context && this.context.state === "running";
  }

  /** Ask for the microphone (deviceId "" = the default one) and start the worklet. */
  async open(deviceId = "") {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw unsupported(
        "This page cannot use a microphone because it was not opened over a secure (https://) " +
          "link. Ask the recruiter for an https link, or answer by typing.",
      );
    }
    if (typeof AudioWorkletNode === "undefined") {
      throw unsupported(
        "This browser cannot record audio for the interview. Use a current Chrome, Edge, " +
          "Firefox or Safari, or answer by typing.",
      );
    }
    this.close();
    const audio = {
      channelCount: 1,
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
    };
    if (deviceId) audio.deviceId = { exact: deviceId };
    const stream = await navigator.mediaDevices.getUserMedia({ audio });
    this.stream = stream;
    const track = stream.getAudioTracks()[0];
    this.deviceId = (track.getSettings && track.getSettings().deviceId) || deviceId;
    track.addEventListener("ended", () => {
      if (this.stream === stream && this.onEnded) this.onEnded();
    });
    const context = new AudioContext();
    this.context = context;
    await context.audioWorklet.addModule(WORKLET_URL);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-downsampler", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: "explicit",
      processorOptions: { targetRate: TARGET_RATE, frameMs: FRAME_MS },
    });
    node.port.onmessage = (msg) => {
      const data = msg.data;
      if (data.type === "pcm" && this.onFrame) this.onFrame(data.buffer);
      else if (data.type === "level" && this.onLevel) this.onLevel(data.rms);
    };
    // Connected to the output through a muted gain so the graph pulls the
    // worklet in every browser; nothing is heard.
    const mute = context.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(context.destination);
    this.node = node;
    if (context.state !== "running") await context.resume().catch(() => {});
    return this;
  }

  /** Resume a context the browser suspended (needs a click first). */
  async resume() {
    if (this.context && this.context.state !== "running") await this.context.resume();
    return this.active;
  }

  static async devices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === "audioinput");
  }

  close() {
    if (this.node) this.node.port.onmessage = null;
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    if (this.context) this.context.close().catch(() => {});
    this.stream = null;
    this.context = null;
    this.node = null;
  }
}

/** RMS (0..1) to a meter position (0..1) on a -60..0 dBFS scale. */
export function levelToMeter(rms) {
  if (!(rms > 0)) return 0;
  return Math.max(0, Math.min(1, (20 * Math.log10(rms) + 60) / 60));
}
