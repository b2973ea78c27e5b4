// The live transcript, shared by the candidate page and the observer view.
//
// The model is the set of persisted events (by seq) plus two ephemeral
// pieces: the recogniser's current hypothesis (`transcript.partial`) and the
// AI reply as it streams (`ai.delta`). Every change re-derives the list of
// turns in seq order and patches the DOM by key, so a replay after a reload,
// or events that arrive out of order after a resume, end up in the same place.
//
// A student turn collects its `transcript.final`s until its `turn.committed`
// replaces them with the whole answer; the hypothesis shows after the finals
// in a lighter style. Partial text and the streaming reply are hidden from
// screen readers (they change many times a second); finished turns are
// announced once by the list's aria-live region.
//
// Taking back (docs/protocol.md): `turn.reopened` puts a committed answer back
// in progress (its next `turn.committed`, same conversation_id, replaces its
// line: one line per answer), and `ai.cancelled` takes back the reply to it.
// The candidate's page drops that reply; the observers' (`showWithdrawn`)
// strike it through, labelled "taken back", and note the reopening.

import { EventType } from "./wire.js";

const TRANSCRIPT_TYPES = new Set([
  EventType.TRANSCRIPT_FINAL,
  EventType.TURN_COMMITTED,
  EventType.AI_MESSAGE,
  EventType.INTERVIEW_ENDED,
  EventType.OBSERVER_WARNING,
  EventType.TURN_REOPENED,
  EventType.AI_CANCELLED,
]);

export class Transcript {
  constructor(list, { labels = {}, onRender, showWithdrawn = false } = {}) {
    this.list = list;
    this.labels = { ai: "Interviewer", student: "You", system: "", ...labels };
    this.onRender = onRender;
    this.showWithdrawn = showWithdrawn;
    this.events = new Map(); // seq -> event
    this.partial = "";
    this.streaming = "";
  }

  /** Apply one event; returns true when the transcript changed. */
  apply(event) {
    const type = event.type;
    if (type === EventType.TRANSCRIPT_PARTIAL) {
      this.partial = event.text || "";
    } else if (type === EventType.AI_DELTA) {
      // A reply still streaming when its answer was reopened is taken back.
      if (this.reopenedSinceCommit()) return false;
      this.streaming += event.text || "";
    } else if (TRANSCRIPT_TYPES.has(type) && typeof event.seq === "number") {
      this.events.set(event.seq, event);
      if (type === EventType.TRANSCRIPT_FINAL || type === EventType.TURN_COMMITTED) this.partial = "";
      if (type === EventType.AI_MESSAGE) this.streaming = "";
      // The reply streaming for a reopened answer is taken back with it (not
      // when an old reopening is replayed after a later answer).
      if (this.reopenedSinceCommit()) this.streaming = "";
    } else {
      return false;
    }
    this.render();
    return true;
  }

  /** Whether words of a student answer are shown that the server has not committed. */
  hasOpenAnswer() {
    return this.derive().some((e) => e.kind === "student" && !e.committed && (e.finals.length || e.partial));
  }

  /** Whether the latest word on the answers is a reopening (by seq, whatever the arrival order). */
  reopenedSinceCommit() {
    let reopened = -1;
    let committed = -1;
    for (const [seq, ev] of this.events) {
      if (ev.type === EventType.TURN_REOPENED) reopened = Math.max(reopened, seq);
      if (ev.type === EventType.TURN_COMMITTED) committed = Math.max(committed, seq);
    }
    return reopened > committed;
  }

  /**
   * Forget the answer in progress: it was lost with its connection and will
   * never be committed (the page asks for it again). Its transcript lines stay
   * in the server's log; the next committed answer replaces them there.
   */
  discardOpenAnswer() {
    const seqs = [...this.events.keys()].sort((a, b) => b - a);
    for (const seq of seqs) {
      if (this.events.get(seq).type !== EventType.TRANSCRIPT_FINAL) break;
      this.events.delete(seq);
    }
    this.partial = "";
    this.render();
  }

  /** Committed student answers and AI messages, in order (for tests and reports). */
  entries() {
    return this.derive().filter((e) => !e.live);
  }

  derive() {
    let entries = [];
    let open = null; // the student turn still collecting finals
    let studentTurns = 0;
    const answers = new Map(); // conversation_id -> the student entry it committed
    const replies = new Map(); // conversation_id -> the AI entry
    const newAnswer = (seq) => {
      open = { key: `st-${studentTurns}`, kind: "student", seq, finals: [], base: "", text: "" };
      entries.push(open);
    };
    const seqs = [...this.events.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const ev = this.events.get(seq);
      if (ev.type === EventType.TRANSCRIPT_FINAL) {
        if (!open) newAnswer(seq);
        open.finals.push(ev.text);
        open.text = [open.base, ...open.finals].filter(Boolean).join(" ");
      } else if (ev.type === EventType.TURN_COMMITTED) {
        const known = ev.conversation_id == null ? undefined : answers.get(ev.conversation_id);
        if (known && open && open !== known) entries = entries.filter((e) => e !== open);
        if (known) open = known;
        else if (!open) newAnswer(seq);
        open.text = ev.text;
        open.finals = [];
        open.base = "";
        open.committed = true;
        open.committedSeq = seq;
        open.conversationId = ev.conversation_id;
        if (!known) {
          if (ev.conversation_id != null) answers.set(ev.conversation_id, open);
          studentTurns += 1;
        }
        open = null;
      } else if (ev.type === EventType.TURN_REOPENED) {
        const answer = answers.get(ev.conversation_id);
        if (!answer) continue;
        // Words already heard of the continuation join the reopened answer's line.
        const heard = open && open !== answer ? open.finals : [];
        if (open && open !== answer) entries = entries.filter((e) => e !== open);
        answer.committed = false;
        answer.reopened = true;
        answer.base = answer.text;
        answer.finals = [...heard];
        answer.text = [answer.base, ...answer.finals].filter(Boolean).join(" ");
        open = answer;
        if (this.showWithdrawn) {
          entries.push({ key: `reopen-${seq}`, kind: "system", seq, text: "The candidate went on with their answer." });
        }
      } else if (ev.type === EventType.AI_CANCELLED) {
        const reply = replies.get(ev.conversation_id);
        if (reply) reply.withdrawn = true;
      } else if (ev.type === EventType.AI_MESSAGE) {
        const reply = {
          key: `ai-${seq}`,
          kind: "ai",
          seq,
          text: ev.text,
          questionId: ev.question_id,
          conversationId: ev.conversation_id,
        };
        if (ev.conversation_id != null) replies.set(ev.conversation_id, reply);
        entries.push(reply);
      } else if (ev.type === EventType.INTERVIEW_ENDED) {
        entries.push({ key: `end-${seq}`, kind: "system", seq, text: "The interview has ended." });
      } else if (ev.type === EventType.OBSERVER_WARNING) {
        entries.push({ key: `warn-${seq}`, kind: "warning", seq, text: ev.message || ev.code });
      }
    }
    if (!this.showWithdrawn) entries = entries.filter((e) => !e.withdrawn);
    if (this.partial) {
      if (!open) newAnswer(undefined);
      open.partial = this.partial;
    }
    if (this.streaming) {
      entries.push({ key: "ai-live", kind: "ai", text: this.streaming, live: true });
    }
    return entries;
  }

  render() {
    const entries = this.derive();
    const scroller = scrollParent(this.list);
    // Follow the conversation unless the reader has scrolled up to reread.
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const existing = new Map();
    for (const li of this.list.children) existing.set(li.dataset.key, li);
    let previous = null;
    for (const entry of entries) {
      let li = existing.get(entry.key);
      if (li) existing.delete(entry.key);
      else li = this.create(entry);
      this.fill(li, entry);
      const expectedPosition = previous ? previous.nextSibling : this.list.firstChild;
      if (li !== expectedPosition) this.list.insertBefore(li, expectedPosition);
      previous = li;
    }
    for (const li of existing.values()) li.remove();
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
    if (this.onRender) this.onRender(entries);
  }

  create(entry) {
    const li = document.createElement("li");
    li.dataset.key = entry.key;
    li.className = `turn turn--${entry.kind}`;
    const who = document.createElement("span");
    who.className = "turn__who";
    who.textContent = this.labels[entry.kind] || "";
    const tag = document.createElement("span");
    tag.className = "turn__tag";
    who.append(tag);
    const text = document.createElement("p");
    text.className = "turn__text";
    const final = document.createElement("span");
    final.className = "turn__final";
    const partial = document.createElement("span");
    partial.className = "turn__partial";
    partial.setAttribute("aria-hidden", "true");
    text.append(final, partial);
    li.append(who, text);
    return li;
  }

  fill(li, entry) {
    if (entry.seq !== undefined) {
      const seq = String(entry.committedSeq ?? entry.seq);
      li.dataset.seq = seq;
      li.id = `turn-${seq}`;
    }
    li.classList.toggle("turn--live", Boolean(entry.live));
    li.classList.toggle("turn--open", entry.kind === "student" && !entry.committed);
    li.classList.toggle("turn--withdrawn", Boolean(entry.withdrawn));
    setText(li.querySelector(".turn__tag"), entry.withdrawn ? " · taken back" : "");
    if (entry.live) li.setAttribute("aria-hidden", "true");
    else li.removeAttribute("aria-hidden");
    const final = li.querySelector(".turn__final");
    const partial = li.querySelector(".turn__partial");
    setText(final, entry.text || "");
    setText(partial, entry.partial ? (entry.text ? " " : "") + entry.partial : "");
  }
}

function scrollParent(node) {
  for (let el = node.parentElement; el; el = el.parentElement) {
    const overflow = getComputedStyle(el).overflowY;
    if ((overflow === "auto" || overflow === "scroll") && el.scrollHeight > el.clientHeight) return el;
  }
  return document.scrollingElement || document.documentElement;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
