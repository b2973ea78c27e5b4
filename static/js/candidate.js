// The candidate's page (the join link): consent and microphone check, then the
// live interview over /ws/interview/<session>/?token=<join token>.

import { LiveSocket, describeStatus, wsUrl } from "./socket.js";
import { Transcript } from "./transcript.js";
import { Microphone, TARGET_RATE, levelToMeter, micProblem } from "./mic.js";
import { Voice } from "./voice.js";
import { formatCountdown, secondsLeft } from "./clock.js";
import { ClientType, EventType } from "./wire.js";
import { BusyRetry } from "./busy.js";

const cfg = JSON.parse(document.getElementById("candidate-config").textContent);
const $ = (id) => document.getElementById(id);
const store = {
  get(key) {
    try {
      return localStorage.getItem(`irt:${cfg.session_id}:${key}`);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(`irt:${cfg.session_id}:${key}`, value);
    } catch {
      /* private mode: nothing to remember */
    }
  },
};

// Local loudness that counts as the candidate talking over the interviewer.
const BARGE_IN_RMS = 0.06;
const BARGE_IN_MS = 300;
// The quiet indicator (docs/browser.md): the microphone level that counts as
// the candidate's voice, how long it must last to count as having spoken, and
// how long the microphone must be quieter than that before the page says it
// is still listening while the server waits to see if the answer is finished.
const VOICE_RMS = 0.03;
const VOICE_MS = 200;
const QUIET_MS = 600;
const LISTENING = "Listening… take your time.";
const HOLDING = "Take your time: the interviewer waits until you speak again.";

const FATAL_MESSAGES = {
  invalid:
    "This interview link is not valid. Check that you opened the whole link from your invitation, " +
    "or ask the recruiter for a new one.",
  forbidden: "This interview link has expired or the interview is over. Please ask the recruiter for a new link.",
  unknown: "We could not find this interview. Please ask the recruiter for a new link.",
  replaced:
    "This interview is now open in another window or tab. Continue there, or reload this page to continue here.",
};

// Every error code the server may send a candidate (docs/protocol.md, "Error
// codes"), in plain words with a next step (`server_busy` has its own state:
// static/js/busy.js). The server's own message is for
// API clients and is never shown here: it can name protocol steps.
const RELOAD = "Reload the page to continue: your answers so far are kept.";
const ERROR_MESSAGES = {
  speech_unavailable: "Voice answers are not available right now. Please type your answers below.",
  audio_overflow: "The server is falling behind with your audio, so some words may be missed. Typing works too.",
  bad_audio: "The sound from your microphone could not be used. Try another microphone, or type your answer.",
  bad_field: "That answer could not be sent, perhaps because it is too long. Shorten it and send it again.",
  too_large: "That answer is too long to send. Shorten it and send it again.",
  bad_json: `Something went wrong on this page. ${RELOAD}`,
  bad_message: `Something went wrong on this page. ${RELOAD}`,
  unknown_type: `Something went wrong on this page. ${RELOAD}`,
  unexpected_binary: `Something went wrong on this page. ${RELOAD}`,
  internal_error: "Something went wrong on our side. Please send your answer again; if it keeps happening, reload the page.",
  not_found: "We could not find this interview. Please ask the recruiter for a new link.",
  invalid_transition: `That could not be done just now. ${RELOAD}`,
  storage_unavailable:
    "We could not save your answer just yet. It is kept and will be saved in a moment: you do not need to repeat it.",
};
// An answer lost with the connection (docs/reliability.md): the server never
// got all of it, so the candidate is asked for it again.
const LOST_SPOKEN =
  "The connection dropped while you were answering, so we did not get all of your answer. Please give that answer again.";
const LOST_TYPED =
  "The connection dropped before your answer reached the interviewer. It is back in the answer box: please send it again.";
const NOT_STARTED = "The interview had not started yet, so it is starting now. When the interviewer has asked its first question, please send your answer again.";
const ALREADY_OVER = "The interview is over, so no more answers are taken.";
const FALLBACK_ERROR = `Something went wrong. ${RELOAD}`;

const state = {
  status: cfg.status,
  startedAt: cfg.started_at,
  // Whether the AI has greeted: the page starts the conversation until it has,
  // whatever the session's status (staff may have started it over the API).
  aiOpened: cfg.ai_opened,
  lastSent: "", // the last control this page sent: "start", "answer", "end"
  mode: store.get("mode") || "", // "voice" | "typed"
  capturing: false,
  replyStreaming: false,
  ended: false,
  loudSince: 0,
  // The quiet indicator: the candidate has spoken in this turn (words
  // recognised, or their voice at the microphone), since when the microphone
  // has been quiet, since when it has been loud.
  spoke: false,
  quietSince: 0,
  voiceSince: 0,
  // A typed answer sent on an open connection whose commit has not come back:
  // a connection lost before then may have lost it.
  unconfirmed: "",
  replaying: false, // a resume's replay is on its way (ends with our ping's pong)
  // "Give me a moment" was pressed and the candidate has not spoken, ended the
  // answer or typed one since: a take-back the hold caused keeps its "take your
  // time" message.
  holding: false,
  // The problem that stays until dealt with (a passing one shows over it, then
  // gives it back), and its code, to clear it when it passes.
  standingProblem: { text: "", code: "" },
};

const transcript = new Transcript($("transcript"), { labels: { ai: "Interviewer", student: "You" } });
const voice = new Voice({
  lang: cfg.language,
  muted: store.get("muted") === "1",
  onSpeaking: (on) => on && setActivity("The interviewer is speaking…"),
  // The reply was heard to its end (or the candidate muted the voice and read
  // it): the server may use it to judge turn-taking (docs/browser.md).
  onReplySpoken: (conversationId) => socket.send({ type: ClientType.AI_SPOKEN, conversation_id: conversationId }),
});

const mic = new Microphone({
  onFrame: (buffer) => {
    if (state.capturing) socket.sendBinary(buffer);
  },
  onLevel: (rms) => {
    const position = levelToMeter(rms);
    $("level").value = position;
    $("meter-bar").style.width = `${Math.round(position * 100)}%`;
    $("live-meter-bar").style.width = `${Math.round(position * 100)}%`;
    bargeIn(rms);
    listenLevel(rms);
  },
  onEnded: () => {
    state.capturing = false;
    showMicOff("Your microphone stopped working (was it unplugged?). Turn it back on, or type your answer.");
  },
});

const socket = new LiveSocket(wsUrl(cfg.ws_path), {
  onEvent,
  onStatus,
  onOpen: (sock) => {
    sock.rawSend({ type: ClientType.AUDIO_CONFIG, sample_rate: TARGET_RATE });
    // The server answers in order: this ping's pong comes after the whole
    // replay, when the page knows which answers the server has committed.
    state.replaying = true;
    sock.rawSend({ type: ClientType.PING });
  },
});

// --- busy state (static/js/busy.js): no room for the voice yet; retried by sending audio.config again
const busy = new BusyRetry({
  box: $("busy"),
  stepS: cfg.busy_retry_s,
  maxS: cfg.busy_retry_max_s,
  retry: () => socket.send({ type: ClientType.AUDIO_CONFIG, sample_rate: TARGET_RATE }),
  onChange: (taken) => {
    state.capturing = taken && state.mode === "voice" && mic.active && !state.ended;
  },
});
// --- end busy state

// --- screens -------------------------------------------------------------------

function show(screen) {
  for (const id of ["setup", "interview", "ended"]) $(id).hidden = id !== screen;
}

function setActivity(text) {
  $("activity").textContent = text;
}

let problemTimer = null;

/**
 * A problem the candidate should know about. With `forMs` it passes: it hides
 * again later, and the problem that stood before it shows again.
 */
function showProblem(text, forMs = 0, code = "") {
  clearTimeout(problemTimer);
  if (text && forMs) {
    renderProblem(text);
    problemTimer = setTimeout(() => renderProblem(state.standingProblem.text), forMs);
    return;
  }
  state.standingProblem = { text, code: text ? code : "" };
  renderProblem(text);
}

function renderProblem(text) {
  const box = $("problem");
  box.textContent = text;
  box.hidden = !text;
}

function showFatal(text) {
  const box = $("fatal");
  box.textContent = text;
  box.hidden = false;
  setActivity("");
  state.capturing = false;
  mic.close();
  voice.stop();
  for (const el of document.querySelectorAll("#setup button, #setup input, #setup select, #interview button, #interview textarea")) {
    el.disabled = true;
  }
  box.setAttribute("tabindex", "-1");
  box.focus();
}

function showMicOff(text, buttonLabel = "Turn my microphone on") {
  $("mic-resume-text").textContent = text;
  $("mic-resume").textContent = buttonLabel;
  $("mic-resume-box").hidden = false;
}

function applyMode() {
  const typed = state.mode === "typed";
  $("done").hidden = typed;
  $("hold").hidden = typed;
  $("hold-hint").hidden = typed;
  $("live-meter-bar").parentElement.hidden = typed;
  if (typed) showMicOff("You are answering by typing.", "Use my microphone instead");
}

// --- setup: consent and microphone check -----------------------------------------

async function openMic(deviceId) {
  $("mic-error").hidden = true;
  $("mic-status").textContent = "Asking for your microphone…";
  try {
    await mic.open(deviceId);
  } catch (err) {
    const problem = micProblem(err);
    $("mic-error-text").textContent = problem.message;
    $("mic-error").hidden = false;
    $("mic-error").dataset.problem = problem.code;
    $("mic-status").textContent = "The microphone is not working yet.";
    return false;
  }
  store.set("device", mic.deviceId || "");
  await listDevices();
  $("mic-status").textContent = "Say something: the bar should move while you speak.";
  return true;
}

async function listDevices() {
  const select = $("mic-select");
  const devices = await Microphone.devices();
  select.replaceChildren();
  devices.forEach((d, i) => {
    const option = document.createElement("option");
    option.value = d.deviceId;
    option.textContent = d.label || `Microphone ${i + 1}`;
    option.selected = d.deviceId === mic.deviceId;
    select.append(option);
  });
  if (!devices.length) select.append(new Option("Default microphone", ""));
  select.disabled = devices.length < 2;
}

function consented() {
  const box = $("consent");
  if (box.checked) {
    box.removeAttribute("aria-invalid");
    return true;
  }
  box.setAttribute("aria-invalid", "true");
  $("consent-help").textContent = "Please tick the box to agree before starting.";
  $("consent-help").classList.add("error-text");
  box.focus();
  return false;
}

async function startVoice() {
  if (!consented()) return;
  if (!mic.active && !(await openMic($("mic-select").value || store.get("device") || ""))) {
    $("mic-retry").focus();
    return;
  }
  begin("voice");
}

function startTyped() {
  if (!consented()) return;
  mic.close();
  begin("typed");
}

function begin(mode) {
  store.set("consent", "1");
  state.mode = mode;
  store.set("mode", mode);
  state.capturing = mode === "voice";
  show("interview");
  applyMode();
  if (mode === "voice") $("mic-resume-box").hidden = true;
  startConversation();
  (mode === "voice" ? $("done") : $("answer")).focus();
}

/** Ask the AI to greet and ask its first question, unless it has already. */
function startConversation() {
  const greeted = state.aiOpened || transcript.entries().some((e) => e.kind === "ai");
  if (greeted || state.ended) return;
  socket.send({ type: ClientType.INTERVIEW_START });
  state.lastSent = "start";
  setActivity("Starting the interview…");
}

// --- the interview ---------------------------------------------------------------

function onEvent(event) {
  switch (event.type) {
    case EventType.SESSION_STATE:
      state.status = event.status;
      state.startedAt = event.started_at;
      if (event.status === "completed" || event.status === "cancelled") finishInterview();
      break;
    case EventType.INTERVIEW_ENDED:
      transcript.apply(event);
      finishInterview();
      break;
    case EventType.TRANSCRIPT_PARTIAL:
      transcript.apply(event);
      voice.stop(); // the candidate is talking: the interviewer stops
      // A server running behind sends partials of words said before "Give me a
      // moment" after it: the hold ends when the microphone hears the
      // candidate again (listenLevel), as the server's ends on speech after it.
      if (!state.holding) setActivity("Listening…");
      state.spoke = true;
      break;
    case EventType.TRANSCRIPT_FINAL:
      transcript.apply(event);
      if (!state.replaying) state.spoke = true;
      break;
    case EventType.TURN_REOPENED:
      // The candidate went on: the answer is in progress again, and the reply
      // still streaming for it is taken back (its ai.cancelled may follow).
      transcript.apply(event);
      voice.withdraw();
      state.replyStreaming = false;
      // Reopened by the hold: its message stays (or comes back after a replay).
      if (!state.replaying) setActivity(state.holding ? HOLDING : "Listening…");
      break;
    case EventType.AI_CANCELLED:
      transcript.apply(event);
      voice.withdraw(event.conversation_id);
      break;
    case EventType.TURN_COMMITTED:
      transcript.apply(event);
      state.spoke = false;
      // Not the hold's end: a commit that crossed a "Give me a moment" on the
      // wire is reopened by it next (its turn.reopened follows, after the reply
      // it takes back), so the page goes on saying "take your time".
      showListening(false);
      setActivity(state.holding ? HOLDING : "Answer received.");
      state.unconfirmed = "";
      // Saved after all (a slow database, or a commit that beat the drop).
      if (["storage_unavailable", "lost_answer"].includes(state.standingProblem.code)) showProblem("");
      break;
    case EventType.PONG:
      if (state.replaying) {
        state.replaying = false;
        checkLostAnswer();
      }
      break;
    case EventType.AI_DELTA:
      if (!transcript.apply(event)) break; // a reply taken back as it streamed
      state.replyStreaming = true;
      voice.delta(event.text || "");
      break;
    case EventType.AI_MESSAGE:
      state.aiOpened = true;
      transcript.apply(event);
      if (state.replyStreaming) voice.finish(event.text || "", event.conversation_id);
      state.replyStreaming = false;
      // Held: this reply is to an answer the hold reopened (its ai.cancelled follows).
      if (!voice.speaking && !state.holding) setActivity(state.mode === "typed" ? "Your turn: type your answer." : "Your turn.");
      break;
    case EventType.ERROR:
      onServerError(event);
      break;
    default:
      break;
  }
}

function onServerError(event) {
  if (event.code === "replaced") return; // the close code that follows says it
  if (event.code === "server_busy") return busy.refused(); // busy state: static/js/busy.js
  // A refused answer is not waiting to be saved: nothing to give back later.
  if (["invalid_transition", "bad_field", "too_large"].includes(event.code)) state.unconfirmed = "";
  if (event.code === "invalid_transition") {
    onRefusedStep();
    return;
  }
  if (event.code === "speech_unavailable") {
    state.capturing = false;
    showMicOff(ERROR_MESSAGES[event.code], "Try my microphone again");
  }
  // An overflow passes once the server catches up; other problems stay until dealt with.
  const transient = event.code === "audio_overflow" ? 8000 : 0;
  showProblem(ERROR_MESSAGES[event.code] || FALLBACK_ERROR, transient, event.code);
}

/**
 * After a (re)connection's replay: an answer the server has not committed by
 * now was lost with the old connection (the server keeps no half answer), so
 * the candidate is asked to give it again; a typed one goes back in the box.
 */
function checkLostAnswer() {
  if (state.ended) return;
  const typed = state.unconfirmed;
  if (!typed && !transcript.hasOpenAnswer()) return;
  state.unconfirmed = "";
  transcript.discardOpenAnswer();
  if (typed && !$("answer").value.trim()) $("answer").value = typed;
  showProblem(typed ? LOST_TYPED : LOST_SPOKEN, 0, "lost_answer");
  setActivity(state.mode === "typed" ? "Your turn: type your answer." : "Your turn.");
}

/** The server refused a step: not started yet, already over, or a second start. */
function onRefusedStep() {
  if (state.ended || state.status === "completed" || state.status === "cancelled") {
    showProblem(ALREADY_OVER);
  } else if (!state.aiOpened) {
    showProblem(NOT_STARTED, 15000);
    startConversation();
  } else if (state.lastSent !== "start") {
    // A start that raced another window's (or the API's) is no problem at all.
    showProblem(ERROR_MESSAGES.invalid_transition);
  }
}

function onStatus(s) {
  const pill = $("connection");
  pill.dataset.state = s.state;
  if (s.state === "closed") {
    pill.textContent = "Disconnected";
    showFatal(FATAL_MESSAGES[s.reason] || "The connection was closed.");
    return;
  }
  pill.textContent = describeStatus(s);
}

function finishInterview() {
  if (state.ended) return;
  state.ended = true;
  state.capturing = false;
  mic.close();
  // The transcript (with the closing words) stays; the controls go.
  $("setup").hidden = true;
  $("interview").hidden = false;
  $("interview").classList.add("interview--over");
  $("ended").hidden = false;
  setActivity("");
  $("ended-title").focus();
  // Let the interviewer finish its goodbye before the socket goes.
  setTimeout(() => {
    socket.stop();
    $("connection").dataset.state = "done";
    $("connection").textContent = "Finished";
  }, 1000);
}

function bargeIn(rms) {
  if (!state.capturing || !voice.speaking) {
    state.loudSince = 0;
    return;
  }
  const now = performance.now();
  if (rms < BARGE_IN_RMS) state.loudSince = 0;
  else if (!state.loudSince) state.loudSince = now;
  else if (now - state.loudSince >= BARGE_IN_MS) voice.stop();
}

/**
 * The quiet indicator: once the candidate has spoken in this turn and the
 * microphone has been quiet a moment, the page says it is still listening
 * (the server is waiting to see if the answer is finished). It goes when
 * their voice comes back or the answer is committed.
 */
function listenLevel(rms) {
  if (!state.capturing || state.ended || voice.speaking) {
    state.quietSince = 0;
    state.voiceSince = 0;
    showListening(false);
    return;
  }
  const now = performance.now();
  if (rms >= VOICE_RMS) {
    state.quietSince = 0;
    if (!state.voiceSince) state.voiceSince = now;
    else if (now - state.voiceSince >= VOICE_MS) {
      state.spoke = true;
      if (state.holding) {
        state.holding = false; // speaking again ends "Give me a moment"
        setActivity("Listening…");
      }
    }
    showListening(false);
    return;
  }
  state.voiceSince = 0;
  if (!state.quietSince) state.quietSince = now;
  if (state.spoke && now - state.quietSince >= QUIET_MS) showListening(true);
}

function showListening(on) {
  const box = $("listening");
  const text = on ? LISTENING : "";
  if (box.textContent !== text) box.textContent = text;
}

/** "Give me a moment": no silence ends this answer until the candidate speaks again. */
function holdTurn() {
  if (state.mode === "typed" || state.ended) return;
  socket.send({ type: ClientType.TURN_HOLD });
  state.holding = true;
  setActivity(HOLDING);
}

async function resumeMic() {
  if (state.mode === "typed") state.mode = "voice";
  store.set("mode", state.mode);
  const ok = mic.stream ? await mic.resume() : await openMic(store.get("device") || "");
  if (!ok || !mic.active) {
    const err = $("mic-error");
    showMicOff(err.hidden ? "The microphone did not start. Try again, or type your answer." : $("mic-error-text").textContent);
    return;
  }
  state.capturing = true;
  showProblem("");
  $("mic-resume-box").hidden = true;
  applyMode();
  $("done").focus();
}

function tickClock() {
  const el = $("countdown");
  if (state.ended) {
    el.textContent = "Ended";
    el.classList.remove("pill--late");
    return;
  }
  const left = secondsLeft(state.startedAt, cfg.duration_minutes);
  el.textContent = formatCountdown(left, cfg.duration_minutes);
  el.classList.toggle("pill--late", left !== null && left <= 60);
}

// --- wiring ----------------------------------------------------------------------

$("mic-test").addEventListener("click", () => openMic($("mic-select").value || store.get("device") || ""));
$("mic-retry").addEventListener("click", () => openMic(""));
$("mic-select").addEventListener("change", (e) => openMic(e.target.value));
$("consent").addEventListener("change", (e) => {
  if (e.target.checked) {
    e.target.removeAttribute("aria-invalid");
    $("consent-help").classList.remove("error-text");
    $("consent-help").textContent = "Thank you.";
  }
});
$("start-voice").addEventListener("click", startVoice);
$("start-typed").addEventListener("click", startTyped);
$("mic-resume").addEventListener("click", resumeMic);

$("done").addEventListener("click", () => {
  socket.send({ type: ClientType.TURN_END });
  state.holding = false;
  state.lastSent = "answer";
  setActivity("Answer sent. The interviewer is thinking…");
});
$("hold").addEventListener("click", holdTurn);
// Esc is "Give me a moment" anywhere on the interview screen, the answer box
// included: it types nothing there (and an input method composing Korean
// keeps its own Esc). With the end dialog open, Esc closes the dialog.
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" || e.repeat || e.isComposing || e.keyCode === 229) return;
  if ($("interview").hidden || $("hold").hidden || $("end-dialog").open) return;
  e.preventDefault();
  holdTurn();
});
const muteButton = $("mute");
function renderMute() {
  muteButton.setAttribute("aria-pressed", String(voice.muted));
  muteButton.textContent = voice.muted ? "Unmute interviewer voice" : "Mute interviewer voice";
}
muteButton.addEventListener("click", () => {
  voice.setMuted(!voice.muted);
  store.set("muted", voice.muted ? "1" : "0");
  renderMute();
});
$("answer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const box = $("answer");
  const text = box.value.trim();
  if (!text) {
    box.focus();
    return;
  }
  voice.stop();
  // One sent while the connection is down waits in the socket's queue and
  // goes out after the next replay: it cannot be lost by that drop.
  if (socket.isOpen) state.unconfirmed = text;
  socket.send({ type: ClientType.ANSWER_TEXT, text });
  state.holding = false;
  state.lastSent = "answer";
  box.value = "";
  setActivity("Answer sent. The interviewer is thinking…");
});
$("answer").addEventListener("keydown", (e) => {
  // Ctrl/Cmd+Enter sends; Enter alone makes a new line.
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("answer-form").requestSubmit();
});
$("end").addEventListener("click", () => {
  const dialog = $("end-dialog");
  if (typeof dialog.showModal === "function") dialog.showModal();
  else if (window.confirm("End the interview now?")) endInterview();
});
$("end-dialog").addEventListener("close", (e) => {
  if (e.target.returnValue === "end") endInterview();
});

function endInterview() {
  socket.send({ type: ClientType.INTERVIEW_END });
  state.holding = false;
  state.lastSent = "end";
  state.capturing = false;
  setActivity("Ending the interview…");
}

// --- start -----------------------------------------------------------------------

renderMute();
socket.start();
tickClock();
setInterval(tickClock, 1000);
if (state.status === "scheduled" || store.get("consent") !== "1") {
  show("setup");
  if (state.aiOpened) {
    $("start-voice").textContent = "Continue the interview";
    $("start-typed").textContent = "Continue by typing";
  }
  $("consent").checked = store.get("consent") === "1";
} else {
  // A reload during the interview: the transcript comes back from the server
  // (resume); the microphone needs a click before it may run again.
  show("interview");
  applyMode();
  if (state.mode !== "typed") {
    state.mode = "voice";
    showMicOff("Your microphone is off because the page was reloaded.");
  }
  startConversation(); // consent was given before the page was reloaded
}
