// The interviewer's voice: the browser's speech synthesis, fed sentence by
// sentence while the reply streams in, so it starts talking before the reply
// is complete. Muting or the candidate speaking again stops it.
//
// Each reply is followed to its end, so the page can tell the server it was
// heard (`ai.spoken`, docs/browser.md): `onReplySpoken(conversationId)` is
// called once the last sentence of a whole reply has finished speaking, or
// at once when the candidate has muted the voice (they read it instead).
// Never for a reply that was cut off (the candidate spoke over it), taken
// back (`withdraw`), or not spoken at all (no speech synthesis, or it failed).

const SENTENCE_END = /[.!?。？！…]\s|\n/;

export class Voice {
  constructor({ lang = "en", muted = false, onSpeaking, onReplySpoken, synth = window.speechSynthesis } = {}) {
    this.lang = lang;
    this.muted = muted;
    this.onSpeaking = onSpeaking;
    this.onReplySpoken = onReplySpoken;
    this.synth = synth || null;
    this.pending = ""; // streamed text not yet handed to the synthesiser
    this.spoken = ""; // text of the current reply already handed over
    this.started = new Set(); // utterances that have started and not ended
    this.reply = null; // the reply streaming now (its conversation id comes with ai.message)
    this.replies = new Set(); // replies whose speaking has not settled yet
  }

  get available() {
    return Boolean(this.synth) && typeof SpeechSynthesisUtterance !== "undefined";
  }

  get speaking() {
    return this.started.size > 0;
  }

  /** A chunk of the reply being streamed (`ai.delta`). */
  delta(text) {
    this.current();
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
  finish(fullText, conversationId = null) {
    const reply = this.current();
    reply.id = conversationId;
    const head = this.spoken.trim();
    let rest;
    if (!head) rest = fullText;
    else if (fullText.startsWith(head)) rest = fullText.slice(head.length);
    else rest = this.pending; // the final text was reworded: finish what streamed
    this.say(rest);
    this.pending = "";
    this.spoken = "";
    this.reply = null;
    reply.complete = true;
    if (this.muted) reply.muted = true;
    this.settle(reply);
  }

  say(text) {
    this.spoken += text;
    const words = text.trim();
    const reply = this.current();
    // Once cut off, the rest of that reply is not spoken (the next one is).
    if (!words || this.muted || reply.interrupted || reply.cancelled || !this.available) return;
    const utterance = new SpeechSynthesisUtterance(words);
    utterance.lang = this.lang;
    reply.queued += 1;
    // "Speaking" from the moment sound starts: a browser without voices
    // queues utterances that never start, and must not look busy forever.
    utterance.onstart = () => {
      if (reply.cancelled) {
        this.synth.cancel(); // taken back while it waited its turn
        return;
      }
      this.started.add(utterance);
      if (this.started.size === 1 && this.onSpeaking) this.onSpeaking(true);
    };
    let settled = false;
    const done = (ended) => {
      if (settled) return;
      settled = true;
      reply.queued -= 1;
      if (ended) reply.ended += 1;
      else reply.failed = true;
      if (this.started.delete(utterance) && this.started.size === 0 && this.onSpeaking) {
        this.onSpeaking(false);
      }
      this.settle(reply);
    };
    utterance.onend = () => done(true);
    utterance.onerror = () => done(false);
    this.synth.speak(utterance);
  }

  /** Stop talking now (the candidate speaks again, or mute). */
  stop({ interrupt = true } = {}) {
    const synthBusy = this.available && (this.synth.speaking || this.synth.pending);
    const busy = this.started.size > 0 || synthBusy || Boolean(this.pending);
    if (interrupt && busy) for (const reply of this.replies) reply.interrupted = true;
    if (this.available && busy) this.synth.cancel();
    if (this.started.size > 0) {
      this.started.clear();
      if (this.onSpeaking) this.onSpeaking(false);
    }
  }

  /**
   * A reply taken back by the server (`ai.cancelled`): stop speaking it at
   * once if it is the one speaking, and never say the rest. With no id, the
   * reply still streaming (its answer was reopened before it was complete).
   */
  withdraw(conversationId = null) {
    const targets = [...this.replies].filter((r) =>
      conversationId === null ? !r.complete : r.id === conversationId,
    );
    for (const reply of targets) reply.cancelled = true;
    if (targets.includes(this.reply)) {
      this.reply = null;
      this.pending = "";
      this.spoken = "";
    }
    if (targets.some((r) => r.queued > 0)) this.stop({ interrupt: false });
    for (const reply of targets) this.settle(reply);
    return targets.length > 0;
  }

  setMuted(muted) {
    this.muted = muted;
    if (!muted) return;
    // Muted mid-reply: the candidate reads the rest instead of hearing it.
    for (const reply of this.replies) reply.muted = true;
    this.stop({ interrupt: false });
    for (const reply of [...this.replies]) this.settle(reply);
  }

  current() {
    if (!this.reply) {
      this.reply = {
        id: null,
        complete: false, // its ai.message has come
        queued: 0, // utterances handed over and not yet ended
        ended: 0, // utterances that finished speaking
        failed: false,
        interrupted: false, // the candidate cut it off
        cancelled: false, // taken back (ai.cancelled)
        muted: false,
      };
      this.replies.add(this.reply);
    }
    return this.reply;
  }

  /** Report a whole reply once it is heard (or muted); forget it once nothing more can happen. */
  settle(reply) {
    if (!this.replies.has(reply) || !reply.complete) return;
    const cutOff = reply.interrupted || reply.cancelled;
    const heard = !cutOff && !reply.failed && reply.queued === 0 && reply.ended > 0;
    const read = !cutOff && reply.muted;
    if (heard || read) {
      this.replies.delete(reply);
      if (reply.id !== null && this.onReplySpoken) this.onReplySpoken(reply.id);
    } else if (reply.queued === 0) {
      this.replies.delete(reply); // cut off, taken back, or never spoken: nothing to report
    }
  }
}
