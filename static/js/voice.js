// The interviewer's voice: the browser's speech synthesis, fed sentence by
// sentence while the reply streams in, so it starts talking before the reply
// is complete. Muting or the candidate speaking again stops it.

const SENTENCE_END = /[.!?。？！…]\s|\n/;

export class Voice {
  constructor({ lang = "en", muted = false, onSpeaking, synth = window.speechSynthesis } = {}) {
    this.lang = lang;
    this.muted = muted;
    this.onSpeaking = onSpeaking;
    this.synth = synth || null;
    this.pending = ""; // streamed text not yet handed to the synthesiser
    this.spoken = ""; // text of the current reply already handed over
    this.started = new Set(); // utterances that have started and not ended
    this.interrupted = false; // the candidate cut this reply off
  }

  get available() {
    return Boolean(this.synth) && typeof SpeechSynthesisUtterance !== "undefined";
  }

  get speaking() {
    return this.started.size > 0;
  }

  /** A chunk of the reply being streamed (`ai.delta`). */
  delta(text) {
    this.pending += text;
    let match = SENTENCE_END.exec(this.pending);
    while (match) {
      const end = match.index + match[0].length;
      this.say(this.pending.slice(0, end));
      this.pending = this.pending.slice(end);
      match = SENTENCE_END.exec(this.pending);
    }
  }

  /** The whole reply (`ai.message`): speak what the deltas have not covered. */
  finish(fullText) {
    const head = this.spoken.trim();
    let rest;
    if (!head) rest = fullText;
    else if (fullText.startsWith(head)) rest = fullText.slice(head.length);
    else rest = this.pending; // the final text was reworded: finish what streamed
    this.say(rest);
    this.pending = "";
    this.spoken = "";
    this.interrupted = false;
  }

  say(text) {
    this.spoken += text;
    const words = text.trim();
    if (!words || this.muted || this.interrupted || !this.available) return;
    const utterance = new SpeechSynthesisUtterance(words);
    utterance.lang = this.lang;
    // "Speaking" from the moment sound starts: a browser without voices
    // queues utterances that never start, and must not look busy forever.
    utterance.onstart = () => {
      this.started.add(utterance);
      if (this.started.size === 1 && this.onSpeaking) this.onSpeaking(true);
    };
    const done = () => {
      if (this.started.delete(utterance) && this.started.size === 0 && this.onSpeaking) {
        this.onSpeaking(false);
      }
    };
    utterance.onend = done;
    utterance.onerror = done;
    this.synth.speak(utterance);
  }

  /** Stop talking now (the candidate speaks again, or mute). */
  stop({ interrupt = true } = {}) {
    const synthBusy = this.available && (this.synth.speaking || this.synth.pending);
    const busy = this.started.size > 0 || synthBusy || Boolean(this.pending);
    if (interrupt && busy) this.interrupted = true;
    if (this.available && busy) this.synth.cancel();
    if (this.started.size > 0) {
      this.started.clear();
      if (this.onSpeaking) this.onSpeaking(false);
    }
  }

  setMuted(muted) {
    this.muted = muted;
    if (muted) this.stop({ interrupt: false });
  }
}
