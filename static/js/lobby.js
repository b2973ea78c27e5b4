// The dashboard lobby: every session's status, live over /ws/observe/.
// The lobby socket has no replay, so after a reconnect the table is refreshed
// from the REST API (the staff session cookie authenticates it).

import { LiveSocket, describeStatus, wsUrl } from "./socket.js";
import { EventType } from "./wire.js";

const STATUS_LABELS = {
  scheduled: "Scheduled",
  in_progress: "In progress",
  completed: "Completed",
  cancelled: "Cancelled",
};
const body = document.querySelector("#sessions tbody");

function row(sessionId) {
  return body.querySelector(`tr[data-session="${CSS.escape(sessionId)}"]`);
}

/** "2026-02-01 10:00" in the viewer's time zone. */
function localTime(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function timeCell(td, iso) {
  td.replaceChildren();
  if (!iso) return;
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = localTime(iso);
  td.append(time);
}

// Times rendered by the server are in its time zone: show them in the viewer's.
for (const time of body.querySelectorAll("time[datetime]")) time.textContent = localTime(time.dateTime);

function update({ session_id: id, status, title, started_at: startedAt, student }) {
  let tr = row(id);
  if (!tr) {
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    tr = document.createElement("tr");
    tr.dataset.session = id;
    const link = document.createElement("a");
    link.href = `/dashboard/${id}/`;
    link.textContent = title || id;
    const cells = [document.createElement("td"), document.createElement("td"), document.createElement("td"), document.createElement("td"), document.createElement("td")];
    cells[0].append(link);
    cells[1].textContent = student || "";
    const pill = document.createElement("span");
    pill.className = "pill status";
    cells[2].append(pill);
    cells[4].className = "started";
    tr.append(...cells);
    body.prepend(tr);
  }
  const pill = tr.querySelector(".status");
  pill.dataset.status = status;
  pill.textContent = STATUS_LABELS[status] || status;
  if (startedAt !== undefined) timeCell(tr.querySelector(".started"), startedAt);
  tr.classList.remove("flash");
  void tr.offsetWidth; // restart the highlight animation
  tr.classList.add("flash");
}

async function refresh() {
  try {
    const response = await fetch("/api/sessions/?page_size=200", { credentials: "same-origin" });
    if (!response.ok) return;
    const page = await response.json();
    for (const s of page.results || page) {
      const tr = row(s.session_id);
      const pill = tr && tr.querySelector(".status");
      if (!tr || pill.dataset.status !== s.status) {
        update({ session_id: s.session_id, status: s.status, title: s.title, started_at: s.started_at, student: s.student && s.student.name });
      }
    }
  } catch {
    /* the next reconnect tries again */
  }
}

const socket = new LiveSocket(wsUrl("/ws/observe/"), {
  resume: false,
  onEvent: (event) => {
    if (event.type === EventType.SESSION_STATE) update(event);
  },
  onOpen: (_sock, first) => {
    if (!first) refresh();
  },
  onStatus: (s) => {
    const pill = document.getElementById("connection");
    pill.dataset.state = s.state;
    pill.textContent =
      s.state === "closed" ? "Disconnected: log in again and reload" : s.state === "open" ? "Live" : describeStatus(s);
  },
});
socket.start();
