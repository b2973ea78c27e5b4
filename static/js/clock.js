// Countdown from a session's start and planned duration.

/** Seconds left, or null before the interview has started. */
export function secondsLeft(startedAtIso, durationMinutes, now = Date.now()) {
  if (!startedAtIso) return null;
  const started = Date.parse(startedAtIso);
  if (Number.isNaN(started)) return null;
  return Math.round((started + durationMinutes * 60000 - now) / 1000);
}

export function formatCountdown(left, durationMinutes) {
  if (left === null) return durationMinutes ? `${durationMinutes}:00` : "Not started";
  if (left <= 0) return "Time is up";
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s} left` : `${m}:${s} left`;
}
