// A WebSocket that reconnects with backoff and resumes where it left off.
//
// Persisted events carry a `seq`; the socket remembers every seq it has passed
// on (a replay can overlap what was already seen) and, after a reconnect, asks
// the server to `resume` after the highest seq it is sure to have. Events can
// arrive out of order just after a resume (a live event may overtake the
// replay), so that mark only advances once a connection has been up for
// SETTLE_MS; a drop during a replay therefore replays a little too much, never
// too little, and the duplicates are ignored here.

import { ClientType } from "./wire.js";

const SETTLE_MS = 3000;
const PING_EVERY_MS = 15000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;

// Close codes after which reconnecting cannot help (docs/protocol.md).
export const FINAL_CLOSE_CODES = {
  4401: "invalid",
  4403: "forbidden",
  4404: "unknown",
  4409: "replaced",
};

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export class LiveSocket {
  /**
   * @param {string} url  ws:// or wss:// URL
   * @param {object} hooks
   *   onEvent(event)          every event, each seq once
   *   onStatus(status)        {state: "connecting"|"open"|"reconnecting"|"closed", ...}
   *   onOpen(socket, first)   after (re)connecting and sending `resume`
   *   resume                  send `resume` on every open (default true)
   */
  constructor(url, hooks = {}) {
    this.url = url;
    this.hooks = hooks;
    this.resume = hooks.resume !== false;
    this.seen = new Set();
    this.highestSeq = 0; // highest seq passed on
    this.safeSeq = 0; // every seq up to here has been seen (or never will be)
    this.attempt = 0;
    this.queue = []; // text messages sent while disconnected
    this.ws = null;
    this.stopped = false;
    this.opens = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.settleTimer = null;
    this.lastMessageAt = 0;
    this.onOnline = () => this.retryNow();
    window.addEventListener("online", this.onOnline);
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.status({ state: this.opens ? "reconnecting" : "connecting", attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.scheduleRetry(0);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    const resumeFrom = this.safeSeq;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastMessageAt = Date.now();
      const first = this.opens === 0;
      this.opens += 1;
      if (this.resume) this.rawSend({ type: ClientType.RESUME, after_seq: resumeFrom });
      if (this.hooks.onOpen) this.hooks.onOpen(this, first);
      for (const message of this.queue.splice(0)) this.rawSend(message);
      this.status({ state: "open" });
      this.settleTimer = setTimeout(() => {
        this.settled = true;
        this.safeSeq = this.highestSeq;
      }, SETTLE_MS);
      this.settled = false;
      this.pingTimer = setInterval(() => this.keepAlive(), PING_EVERY_MS);
    };
    ws.onmessage = (msg) => {
      if (ws !== this.ws) return;
      this.lastMessageAt = Date.now();
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (typeof event.seq === "number") {
        if (this.seen.has(event.seq)) return;
        this.seen.add(event.seq);
        this.highestSeq = Math.max(this.highestSeq, event.seq);
        if (this.settled) this.safeSeq = this.highestSeq;
      }
      // The server proved it is there: the next drop starts the backoff afresh.
      this.attempt = 0;
      if (this.hooks.onEvent) this.hooks.onEvent(event);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.teardown();
      if (this.stopped) return;
      const final = FINAL_CLOSE_CODES[ev.code];
      if (final) {
        this.stopped = true;
        this.status({ state: "closed", code: ev.code, reason: final });
        return;
      }
      this.scheduleRetry();
    };
  }

  teardown() {
    clearInterval(this.pingTimer);
    clearTimeout(this.settleTimer);
    this.settled = false;
  }

  scheduleRetry(delayOverride) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    // Jitter, so that many clients do not reconnect in lockstep after a restart.
    const delay = delayOverride ?? Math.round(base * (0.5 + Math.random() * 0.5));
    this.attempt += 1;
    this.status({ state: "reconnecting", inMs: delay, attempt: this.attempt });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  retryNow() {
    if (this.stopped || !this.retryTimer) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    this.connect();
  }

  keepAlive() {
    // No message for two ping periods: the connection is dead even if the
    // browser has not noticed (a sleeping laptop, a silent proxy).
    if (Date.now() - this.lastMessageAt > 2 * PING_EVERY_MS + 5000) {
      this.ws.close(4000, "no answer to ping");
      this.teardown();
      this.ws = null;
      this.scheduleRetry(0);
      return;
    }
    this.rawSend({ type: ClientType.PING });
  }

  get isOpen() {
    return Boolean(this.ws) && this.ws.readyState === WebSocket.OPEN;
  }

  rawSend(message) {
    this.ws.send(JSON.stringify(message));
  }

  /** A JSON message; kept and sent on reconnect if the socket is down. */
  send(message) {
    if (this.isOpen) this.rawSend(message);
    else this.queue.push(message);
  }

  /** Binary data (audio); dropped unless the socket is open and keeping up. */
  sendBinary(buffer, maxBuffered = 64 * 1024) {
    if (!this.isOpen || this.ws.bufferedAmount > maxBuffered) return false;
    this.ws.send(buffer);
    return true;
  }

  /** Close for good (the page is done with it). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.teardown();
    window.removeEventListener("online", this.onOnline);
    if (this.ws) this.ws.close(1000);
  }

  status(s) {
    if (this.hooks.onStatus) this.hooks.onStatus(s);
  }
}

/** Words for a connection status, for a status line and screen readers. */
export function describeStatus(s) {
  if (s.state === "connecting") return "Connecting…";
  if (s.state === "open") return "Connected";
  if (s.state === "reconnecting") {
    if (s.inMs) return `Connection lost. Reconnecting in ${Math.ceil(s.inMs / 1000)} s…`;
    return "Connection lost. Reconnecting…";
  }
  return "Disconnected";
}
