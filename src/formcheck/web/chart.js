// Angle curves drawn from angles.csv, with a cursor that follows the video's playhead.
// Plain canvas, no library. Panels and colours match the PNG plots (outputs/plots.py) and the
// annotated video (left blue, right orange). Clicking or dragging on the chart seeks the video.
// The cursor's time and x (device pixels) are mirrored in data-cursor-s / data-cursor-x.
// Columns the clip does not support (analysis.json withheld_measures) are never drawn; where the
// view withholds a 2D angle for its 3D estimate (knee flexion from the front) the 3D one is shown.
"use strict";

const ANGLE_PANELS = {
  sagittal: [
    { base: "hip_flexion", title: "Hip flexion" },
    { base: "knee_flexion", title: "Knee flexion" },
    { base: "ankle_dorsiflexion", title: "Ankle dorsiflexion" },
    { base: "trunk_lean", title: "Trunk lean", single: true },
  ],
  frontal: [
    { base: "knee_fppa", title: "Knee FPPA (+ valgus)" },
    { base: "pelvic_drop", title: "Pelvic drop" },
    { base: "trunk_lateral_lean", title: "Trunk lateral lean" },
  ],
};
const SIDE_COLORS = { left: "#1E90FF", right: "#FF8C00", "": "#444444" };
const CURSOR_COLOR = "#d92d20";
const REP_SHADES = ["#e4e4e4", "#f1f1f1"];

function parseAngleCsv(text) {
  const lines = text.trim().split(/\r?\n/);
  const names = lines[0].split(",");
  const columns = Object.fromEntries(names.map((n) => [n, new Float64Array(lines.length - 1)]));
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(",");
    names.forEach((n, j) => { columns[n][i - 1] = cells[j] === "" || cells[j] === undefined ? NaN : Number(cells[j]); });
  }
  return columns;
}

function nearestIndex(times, t) {
  let lo = 0, hi = times.length - 1;
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (times[mid] <= t) lo = mid; else hi = mid; }
  return Math.abs(times[hi] - t) < Math.abs(times[lo] - t) ? hi : lo;
}

function createAngleChart(canvas, video) {
  let columns = null, reps = [], plane = "sagittal", layout = null, withheld = {};

  // The column a line shows: the 2D angle, or the 3D estimate where the 2D one is withheld.
  function shownColumn(side, base) {
    const name = `${side ? side + "_" : ""}${base}_deg`;
    return name in withheld ? name.replace(/_deg$/, "_3d_deg") : name;
  }

  function series() {
    const out = [];
    for (const panel of ANGLE_PANELS[plane]) {
      const sides = panel.single ? [""] : ["left", "right"];
      const names = sides.map((side) => shownColumn(side, panel.base));
      const lines = sides.map((side, k) => ({ side, values: names[k] in withheld ? null : columns[names[k]] }))
        .filter((l) => l.values && l.values.some(Number.isFinite));
      const estimate = names.some((n) => n.endsWith("_3d_deg") && !(n in withheld));
      if (lines.length) out.push({ ...panel, title: panel.title + (estimate ? " (3D estimate)" : ""), lines });
    }
    return out;
  }

  // Why no panel of the plane is drawn, when the view withholds all of them.
  function withheldReason() {
    const names = ANGLE_PANELS[plane].flatMap((p) => (p.single ? [""] : ["left", "right"]).map((s) => shownColumn(s, p.base)));
    return names.every((n) => n in withheld) ? withheld[names[0]] : null;
  }

  function draw() {
    if (!columns) return;
    const dpr = window.devicePixelRatio || 1;
    const panels = series();
    const cssWidth = canvas.clientWidth || 800, panelCss = 110;
    canvas.style.height = `${Math.max(1, panels.length) * panelCss}px`;
    canvas.width = Math.round(cssWidth * dpr);
    canvas.height = Math.round(Math.max(1, panels.length) * panelCss * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, cssWidth, canvas.height / dpr);
    const times = columns.time_s;
    const t0 = times[0], t1 = Math.max(times[times.length - 1], video.duration || 0, t0 + 1e-3);
    const left = 44, right = cssWidth - 8;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (right - left);
    layout = { t0, t1, left, right, dpr };
    const now = Number.isFinite(video.currentTime) ? video.currentTime : 0;
    const at = nearestIndex(times, now);
    ctx.font = "12px system-ui, sans-serif";
    if (!panels.length) {
      const why = withheldReason();
      ctx.fillStyle = "#667085";
      ctx.fillText(why ? `${plane[0].toUpperCase() + plane.slice(1)} angles not measured: ${why}.` : `No ${plane} angles were measured in this clip.`, left, 20);
    }

    panels.forEach((panel, k) => {
      const top = k * panelCss + 18, bottom = (k + 1) * panelCss - 6;
      reps.forEach((rep, i) => {
        ctx.fillStyle = REP_SHADES[i % 2];
        ctx.fillRect(x(rep.start_s), top, x(rep.end_s) - x(rep.start_s), bottom - top);
      });
      let lo = Infinity, hi = -Infinity;
      for (const line of panel.lines) for (const v of line.values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const pad = Math.max(2, (hi - lo) * 0.08);
      lo -= pad; hi += pad;
      const y = (v) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
      ctx.strokeStyle = "#d9dde4"; ctx.lineWidth = 1;
      ctx.strokeRect(left, top, right - left, bottom - top);
      ctx.fillStyle = "#667085";
      ctx.fillText(`${Math.round(hi)}°`, 4, top + 10);
      ctx.fillText(`${Math.round(lo)}°`, 4, bottom);
      const readout = [];
      for (const line of panel.lines) {
        ctx.strokeStyle = SIDE_COLORS[line.side]; ctx.lineWidth = 1.6;
        ctx.beginPath();
        let pen = false;
        line.values.forEach((v, i) => {
          if (!Number.isFinite(v)) { pen = false; return; }
          if (pen) ctx.lineTo(x(times[i]), y(v)); else ctx.moveTo(x(times[i]), y(v));
          pen = true;
        });
        ctx.stroke();
        const v = line.values[at];
        readout.push(`${line.side ? line.side[0].toUpperCase() + " " : ""}${Number.isFinite(v) ? v.toFixed(1) + "°" : "—"}`);
        if (Number.isFinite(v)) {
          ctx.fillStyle = SIDE_COLORS[line.side];
          ctx.beginPath(); ctx.arc(x(times[at]), y(v), 3.5, 0, 2 * Math.PI); ctx.fill();
        }
      }
      ctx.fillStyle = "#1d2430";
      ctx.fillText(`${panel.title}   ${readout.join("   ")}`, left, top - 5);
    });

    const cx = Math.round(x(Math.min(Math.max(now, t0), t1)));
    ctx.strokeStyle = CURSOR_COLOR; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(cx, 0); ctx.lineTo(cx, canvas.height / dpr); ctx.stroke();
    canvas.dataset.cursorS = now.toFixed(3);
    canvas.dataset.cursorX = String(Math.round(cx * dpr));
  }

  // While playing, redraw every animation frame; otherwise on seeks and time updates.
  let frame = 0;
  function follow() { draw(); frame = video.paused || video.ended ? 0 : requestAnimationFrame(follow); }
  video.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(follow); });
  for (const type of ["seeked", "timeupdate", "loadedmetadata", "pause"]) video.addEventListener(type, draw);
  window.addEventListener("resize", draw);

  function seekTo(event) {
    if (!layout) return;
    const box = canvas.getBoundingClientRect();
    const fraction = (event.clientX - box.left - layout.left) / (layout.right - layout.left);
    video.currentTime = layout.t0 + Math.min(1, Math.max(0, fraction)) * (layout.t1 - layout.t0);
    draw();
  }
  canvas.addEventListener("pointerdown", (event) => { canvas.setPointerCapture(event.pointerId); seekTo(event); });
  canvas.addEventListener("pointermove", (event) => { if (event.buttons) seekTo(event); });

  return {
    load(csvText, repList, chosenPlane, withheldColumns) {
      columns = parseAngleCsv(csvText); reps = repList || []; plane = chosenPlane; withheld = withheldColumns || {}; draw();
    },
    setPlane(value) { plane = value; draw(); },
    clear() { columns = null; layout = null; cancelAnimationFrame(frame); frame = 0; },
  };
}
