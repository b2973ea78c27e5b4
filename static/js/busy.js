// The candidate page's busy state: the server had no room to listen to this
// interview's voice yet (it refused the audio with server_busy). The page says
// so in plain words with a live countdown and asks again by itself, waiting a
// little longer each time (10 s, 20 s, 30 s ... up to a cap). Typed answers
// keep working meanwhile; nothing here touches them.

/** Seconds to wait before retry number `attempt` (1, 2, ...). */
export function retryDelay(attempt, stepS, maxS) {
  return Math.min(stepS * Math.max(1, attempt), maxS);
}

// No refusal this long after a retry: the server took the audio.
const ADMITTED_AFTER_MS = 3000;

export class BusyRetry {
  /**
   * @param {object} opts
   * @param {HTMLElement} opts.box   the notice (hidden while not busy)
   * @param {() => void} opts.retry  asks the server again (sends audio.config)
   * @param {(admitted: boolean) => void} [opts.onChange]  busy (false) / taken (true)
   * @param {number} [opts.stepS]    first wait, and how much each wait grows
   * @param {number} [opts.maxS]     longest wait
   */
  constructor({ box, retry, onChange = () => {}, stepS = 10, maxS = 60 }) {
    this.box = box;
    this.retry = retry;
    this.onChange = onChange;
    this.stepS = stepS;
    this.maxS = maxS;
    this.attempt = 0;
    this.busy = false;
    this.timer = null;
    this.settle = null;
    this.text = document.createElement("p");
    this.help = document.createElement("p");
    this.help.textContent = "You can type your answers meanwhile.";
    box.replaceChildren(this.text, this.help);
  }

  /** The server said server_busy: show the countdown, then try again. */
  refused() {
    clearTimeout(this.settle);
    this.busy = true;
    this.attempt += 1;
    this.onChange(false);
    let left = retryDelay(this.attempt, this.stepS, this.maxS);
    this.box.hidden = false;
    this.show(left);
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      left -= 1;
      if (left > 0) {
        this.show(left);
        return;
      }
      clearInterval(this.timer);
      this.text.textContent = "The interview server is busy; trying again now…";
      this.retry();
      this.settle = setTimeout(() => this.admitted(), ADMITTED_AFTER_MS);
    }, 1000);
  }

  /** The voice is being listened to again: hide the notice, start afresh. */
  admitted() {
    if (!this.busy) return;
    clearInterval(this.timer);
    clearTimeout(this.settle);
    this.busy = false;
    this.attempt = 0;
    this.box.hidden = true;
    this.onChange(true);
  }

  show(seconds) {
    this.text.textContent = `The interview server is busy; trying again in ${seconds} s`;
  }
}
