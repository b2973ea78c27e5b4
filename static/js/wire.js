// Every WebSocket message type the browser sends or hears, written once.
//
// The same names as interviews/wire.py (ClientType, EventType), member for
// member; tests/browser/test_wire_js.py keeps the two in step and fails when
// another module in static/js/ writes a type name as a string literal.
// docs/protocol.md says what each message carries.

/** Text frames the pages send (the `type` field). */
export const ClientType = Object.freeze({
  AUDIO_CONFIG: "audio.config",
  TURN_END: "turn.end",
  TURN_HOLD: "turn.hold",
  ANSWER_TEXT: "answer.text",
  INTERVIEW_START: "interview.start",
  INTERVIEW_END: "interview.end",
  OBSERVER_NOTE: "observer.note",
  OBSERVER_SUGGEST: "observer.suggest",
  RESUME: "resume",
  AI_SPOKEN: "ai.spoken",
  PING: "ping",
});

/** Events the server sends (the `type` field). */
export const EventType = Object.freeze({
  SESSION_STATE: "session.state",
  TRANSCRIPT_PARTIAL: "transcript.partial",
  TRANSCRIPT_FINAL: "transcript.final",
  TURN_COMMITTED: "turn.committed",
  AI_DELTA: "ai.delta",
  AI_MESSAGE: "ai.message",
  INTERVIEW_ENDED: "interview.ended",
  OBSERVER_NOTE: "observer.note",
  OBSERVER_SUGGEST: "observer.suggest",
  OBSERVER_WARNING: "observer.warning",
  METRICS_TURN: "metrics.turn",
  TURN_REOPENED: "turn.reopened",
  AI_CANCELLED: "ai.cancelled",
  PRESENCE: "presence",
  PONG: "pong",
  ERROR: "error",
});
