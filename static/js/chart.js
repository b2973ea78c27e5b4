// A small SVG bar chart of per-turn latency (metrics.turn events): for each
// turn, three bars side by side: the recogniser's final, the AI's first word,
// the whole reply. The numbers are also in a table next to it.

const SVG = "http://www.w3.org/2000/svg";
const SERIES = [
  ["stt_final_ms", "chart__bar--stt", "speech final"],
  ["llm_first_token_ms", "chart__bar--first", "first AI word"],
  ["llm_total_ms", "chart__bar--total", "whole reply"],
];
const MAX_TURNS = 16;

export function drawLatencyChart(svg, metrics) {
  svg.replaceChildren();
  const turns = metrics.slice(-MAX_TURNS);
  if (!turns.length) return;
  const width = 320;
  const height = 120;
  const top = 14;
  const bottom = 14;
  const peak = Math.max(1, ...turns.flatMap((m) => SERIES.map(([key]) => m[key] || 0)));
  const slot = width / turns.length;
  const bar = Math.max(2, (slot - 4) / SERIES.length);
  const first = metrics.length - turns.length;
  turns.forEach((m, i) => {
    SERIES.forEach(([key, cls, label], j) => {
      const value = m[key];
      if (value === null || value === undefined) return;
      const h = ((height - top - bottom) * value) / peak;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(i * slot + 2 + j * bar));
      rect.setAttribute("y", String(height - bottom - h));
      rect.setAttribute("width", String(bar - 1));
      rect.setAttribute("height", String(Math.max(h, 1)));
      rect.setAttribute("class", `chart__bar ${cls}`);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `Turn ${first + i + 1}: ${label} ${Math.round(value)} ms`;
      rect.append(title);
      svg.append(rect);
    });
    const tick = document.createElementNS(SVG, "text");
    tick.setAttribute("x", String(i * slot + slot / 2));
    tick.setAttribute("y", String(height - 2));
    tick.setAttribute("class", "chart__tick");
    tick.setAttribute("text-anchor", "middle");
    tick.textContent = String(first + i + 1);
    svg.append(tick);
  });
  const scale = document.createElementNS(SVG, "text");
  scale.setAttribute("x", "2");
  scale.setAttribute("y", "10");
  scale.setAttribute("class", "chart__tick");
  scale.textContent = `${Math.round(peak)} ms`;
  svg.append(scale);
}
