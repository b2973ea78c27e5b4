// The observers' live view of one interview: /ws/observe/<session>/ with the
// staff member's Django session cookie.

import { LiveSocket, describeStatus, wsUrl } from "./socket.js";
import { Transcript } from "./transcript.js";
import { formatCountdown, secondsLeft } from "./clock.js";
import { drawLatencyChart } from "./chart.js";
import { ClientType, EventType } from "./wire.js";

const cfg = JSON.parse(document.getElementById("observer-config").textContent);
const $ = (id) => document.getElementById(id);
const STATUS_LABELS = {
  scheduled: "Scheduled",
  in_progress: "In progress",
  completed: "Completed",
  cancelled: "Cancelled",
};
const FATAL_MESSAGES = {
  invalid: "You are not logged in any more. Log in again and reload this page.",
  forbidden: "Your account may not observe interviews (staff only).",
  unknown: "This interview no longer exists.",
};

const state = {
  status: cfg.status,
  startedAt: cfg.started_at,
  aiClosed: cfg.ai_closed,
  metrics: [],
  notes: new Map(),
};
const questions = new Map(cfg.questions.map((q, i) => [q.id, { ...q, position: i + 1 }]));

// Replies taken back stay, struck through and labelled; reopened answers are noted.
const transcript = new Transcript($("transcript"), {
  labels: { ai: "Interviewer (AI)", student: "Candidate" },
  showWithdrawn: true,
  onRender: (entries) => {
    $("transcript-empty").hidden = entries.length > 0;
  },
});

const socket = new LiveSocket(wsUrl(cfg.ws_path), { onEvent, onStatus });

function onEvent(event) {
  switch (event.type) {
    case EventType.SESSION_STATE:
      setStatus(event.status);
      state.startedAt = event.started_at;
      break;
    case EventType.PRESENCE:
      $("presence-candidate").textContent = event.candidate ? "connected" : "not connected";
      $("presence-candidate").dataset.on = String(Boolean(event.candidate));
      $("presence-observers").textContent = String(event.observers);
      break;
    case EventType.AI_MESSAGE:
      transcript.apply(event);
      showQuestion(event.question_id);
      break;
    case EventType.METRICS_TURN:
      state.metrics.push(event);
      state.metrics.sort((a, b) => a.seq - b.seq);
      renderLatency();
      break;
    case EventType.OBSERVER_NOTE:
    case EventType.OBSERVER_SUGGEST:
      state.notes.set(event.seq, event);
      renderNotes();
      break;
    case EventType.INTERVIEW_ENDED:
      // The AI's closing words (or the session's end): the page offers ending it.
      state.aiClosed = true;
      transcript.apply(event);
      renderControls();
      break;
    case EventType.ERROR:
      showProblem(event.message || event.code);
      break;
    default:
      transcript.apply(event);
  }
}

function onStatus(s) {
  const pill = $("connection");
  pill.dataset.state = s.state;
  pill.textContent = s.state === "closed" ? "Disconnected" : describeStatus(s);
  if (s.state === "closed") {
    const box = $("fatal");
    box.textContent = FATAL_MESSAGES[s.reason] || "The connection was closed.";
    box.hidden = false;
  }
}

function showProblem(text) {
  $("problem").textContent = text;
  $("problem").hidden = !text;
}

function setStatus(status) {
  state.status = status;
  const pill = $("status");
  pill.dataset.status = status;
  pill.textContent = STATUS_LABELS[status] || status;
  renderControls();
}

function showQuestion(questionId) {
  const q = questions.get(questionId);
  if (!q) return;
  $("question").textContent = q.text;
  $("question-position").textContent =
    `Question ${q.position} of ${questions.size}${q.category ? ` · ${q.category}` : ""}`;
}

// --- latency --------------------------------------------------------------------

function renderLatency() {
  const rows = $("latency-rows");
  rows.replaceChildren();
  state.metrics.forEach((m, i) => {
    const tr = document.createElement("tr");
    for (const value of [i + 1, m.stt_final_ms, m.llm_first_token_ms, m.llm_total_ms, m.words]) {
      const td = document.createElement("td");
      td.textContent = value === null || value === undefined ? "–" : String(Math.round(value));
      tr.append(td);
    }
    rows.append(tr);
  });
  const last = state.metrics[state.metrics.length - 1];
  $("latency-summary").textContent = last
    ? `${state.metrics.length} turn(s). Last turn: first AI word after ${Math.round(last.llm_first_token_ms)} ms, ` +
      `whole reply ${Math.round(last.llm_total_ms)} ms` +
      (last.stt_final_ms !== null && last.stt_final_ms !== undefined
        ? `, speech final ${Math.round(last.stt_final_ms)} ms.`
        : last.speech_s
          ? "."
          : " (typed answer).")
    : "No answered turns yet.";
  drawLatencyChart($("latency-chart"), state.metrics);
}

// --- notes and suggestions --------------------------------------------------------

function renderNotes() {
  const list = $("notes");
  list.replaceChildren();
  for (const seq of [...state.notes.keys()].sort((a, b) => a - b)) {
    const note = state.notes.get(seq);
    const li = document.createElement("li");
    li.className = `note note--${note.type === EventType.OBSERVER_SUGGEST ? "suggest" : "note"}`;
    const head = document.createElement("span");
    head.className = "note__head";
    head.textContent = `${note.type === EventType.OBSERVER_SUGGEST ? "Suggestion" : "Note"} · ${note.author}`;
    const text = document.createElement("p");
    text.textContent = note.text;
    li.append(head, text);
    if (note.ref_seq) {
      const ref = document.createElement("a");
      ref.href = `#turn-${note.ref_seq}`;
      ref.className = "small";
      ref.textContent = "about this answer";
      ref.addEventListener("click", (e) => {
        e.preventDefault();
        const target = document.querySelector(`#transcript [data-seq="${note.ref_seq}"]`);
        if (target) {
          target.setAttribute("tabindex", "-1");
          target.scrollIntoView({ block: "center" });
          target.focus();
        }
      });
      li.append(ref);
    }
    list.append(li);
  }
}

function latestAnswerSeq() {
  const answers = transcript.entries().filter((e) => e.kind === "student" && e.committed);
  return answers.length ? answers[answers.length - 1].committedSeq : null;
}

// The note form's two submit buttons (value="note" and value="suggest").
const NOTE_KINDS = { note: ClientType.OBSERVER_NOTE, suggest: ClientType.OBSERVER_SUGGEST };

$("note-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const box = $("note-text");
  const text = box.value.trim();
  if (!text) {
    box.focus();
    return;
  }
  const kind = NOTE_KINDS[e.submitter && e.submitter.value] || ClientType.OBSERVER_NOTE;
  const message = { type: kind, text };
  if (kind === ClientType.OBSERVER_NOTE && $("note-ref").checked) {
    const ref = latestAnswerSeq();
    if (ref !== null) message.ref_seq = ref;
  }
  socket.send(message);
  box.value = "";
  $("note-ref").checked = false;
  box.focus();
});

// --- controls by phase ----------------------------------------------------------------

/** The page's phase, as dashboard/views.py `phase` computes it on load. */
function phase() {
  if (state.status === "completed" || state.status === "cancelled") return "ended";
  if (state.status === "in_progress") return state.aiClosed ? "ai_closed" : "in_progress";
  return "scheduled";
}

function renderControls() {
  const now = phase();
  for (const el of document.querySelectorAll("[data-phase]")) {
    el.hidden = !el.dataset.phase.split(" ").includes(now);
  }
}

// --- start ------------------------------------------------------------------------

function tickClock() {
  const over = state.status === "completed" || state.status === "cancelled";
  $("countdown").textContent = over
    ? "Ended"
    : formatCountdown(secondsLeft(state.startedAt, cfg.duration_minutes), cfg.duration_minutes);
}

setStatus(state.status);
socket.start();
tickClock();
setInterval(tickClock, 1000);
