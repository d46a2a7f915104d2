// Review tools of the results page, like a video-analysis program's: frame stepping (buttons and
// the arrow keys), slow motion, the skeleton drawn from the analysis' landmarks, an angle tool
// (three clicks: the angle at the middle point) and a line tool (two clicks: its tilt from
// horizontal) on the paused frame, and a second analysis played beside the first, kept in step at
// the rep bottoms. Plain canvas over the <video>; no library. The last measurement is mirrored in
// the overlay's data-measure-deg for tests.
"use strict";

// MediaPipe landmark indices (formcheck/landmarks.py), as the live page draws them.
const REVIEW_EDGES = [[11, 12], [23, 24], [11, 23], [12, 24], [11, 13], [13, 15], [12, 14], [14, 16],
  [23, 25], [25, 27], [27, 29], [29, 31], [27, 31], [24, 26], [26, 28], [28, 30], [30, 32], [28, 32]];
const REVIEW_COLORS = { left: "#1E90FF", right: "#FF8C00", mid: "#E6E6E6", tool: "#12b76a" };
const reviewSide = (i) => (i === 0 ? "mid" : (i % 2 === 1 ? "left" : "right"));

// Where the picture sits inside a <video> element (object-fit: contain letterboxes it).
function pictureBox(video) {
  const w = video.clientWidth, h = video.clientHeight;
  if (!video.videoWidth || !video.videoHeight) return { x: 0, y: 0, w, h };
  const scale = Math.min(w / video.videoWidth, h / video.videoHeight);
  const pw = video.videoWidth * scale, ph = video.videoHeight * scale;
  return { x: (w - pw) / 2, y: (h - ph) / 2, w: pw, h: ph };
}

// Angle at b (degrees, 0-180) of the points a, b, c given in picture pixels.
function angleAt(a, b, c) {
  const u = [a[0] - b[0], a[1] - b[1]], v = [c[0] - b[0], c[1] - b[1]];
  const cos = (u[0] * v[0] + u[1] * v[1]) / (Math.hypot(...u) * Math.hypot(...v));
  return (Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI;
}

// Tilt of the line a-b from horizontal (degrees, 0-90).
function tiltFromHorizontal(a, b) {
  return (Math.atan2(Math.abs(b[1] - a[1]), Math.abs(b[0] - a[0])) * 180) / Math.PI;
}

// A map from times in one clip to the other's, piecewise linear through matched rep bottoms
// (slope 1 before the first and after the last pair).
function repSync(bottomsA, bottomsB) {
  const n = Math.min(bottomsA.length, bottomsB.length);
  const a = bottomsA.slice(0, n), b = bottomsB.slice(0, n);
  return {
    pairs: n,
    at(t) {
      if (!n) return t;
      if (t <= a[0]) return b[0] + (t - a[0]);
      if (t >= a[n - 1]) return b[n - 1] + (t - a[n - 1]);
      let i = 0;
      while (t > a[i + 1]) i += 1;
      return b[i] + ((t - a[i]) * (b[i + 1] - b[i])) / (a[i + 1] - a[i] || 1);
    },
    slope(t) {
      if (n < 2 || t <= a[0] || t >= a[n - 1]) return 1;
      let i = 0;
      while (t > a[i + 1]) i += 1;
      return (b[i + 1] - b[i]) / (a[i + 1] - a[i] || 1);
    },
  };
}

function createReview(els) {
  const { video, overlay } = els;
  let fps = 30, skeleton = null, showSkeleton = els.skeletonToggle.checked, tool = null, points = [], shapes = [];
  let compare = null; // { video, sync }

  const frameIndex = (t) => Math.floor(t * fps + 1e-6);

  function updateLabels() {
    const t = Number.isFinite(video.currentTime) ? video.currentTime : 0;
    els.frameLabel.textContent = `frame ${frameIndex(t) + 1} · ${t.toFixed(2)} s`;
    els.play.textContent = video.paused ? "Play" : "Pause";
    if (Number.isFinite(video.duration) && video.duration > 0) {
      els.seekBar.max = String(video.duration);
      els.seekBar.value = String(t);
    }
  }

  function skeletonAt(t) {
    if (!skeleton || !skeleton.time_s.length) return null;
    const times = skeleton.time_s;
    let lo = 0, hi = times.length - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (times[mid] <= t) lo = mid; else hi = mid; }
    return skeleton.points[Math.abs(times[hi] - t) < Math.abs(times[lo] - t) ? hi : lo];
  }

  function draw() {
    const w = video.clientWidth, h = video.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (overlay.width !== Math.round(w * dpr) || overlay.height !== Math.round(h * dpr)) {
      overlay.width = Math.round(w * dpr); overlay.height = Math.round(h * dpr);
    }
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const box = pictureBox(video);
    const px = (p) => [box.x + p[0] * box.w, box.y + p[1] * box.h];
    if (showSkeleton) {
      const frame = skeletonAt(video.currentTime);
      if (frame) {
        ctx.lineWidth = Math.max(2, box.w / 220); ctx.lineCap = "round";
        for (const [a, b] of REVIEW_EDGES) {
          if (!frame[a] || !frame[b]) continue;
          const p = px(frame[a]), q = px(frame[b]);
          ctx.strokeStyle = reviewSide(a) === reviewSide(b) ? REVIEW_COLORS[reviewSide(a)] : REVIEW_COLORS.mid;
          ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
        }
      }
    }
    ctx.font = "14px system-ui, sans-serif";
    for (const shape of [...shapes, ...(points.length ? [{ kind: tool, points, open: true }] : [])]) {
      const pts = shape.points.map(px);
      ctx.strokeStyle = REVIEW_COLORS.tool; ctx.fillStyle = REVIEW_COLORS.tool; ctx.lineWidth = 2.5;
      ctx.beginPath();
      pts.forEach((p, i) => (i ? ctx.lineTo(p[0], p[1]) : ctx.moveTo(p[0], p[1])));
      ctx.stroke();
      for (const p of pts) { ctx.beginPath(); ctx.arc(p[0], p[1], 4, 0, 2 * Math.PI); ctx.fill(); }
      if (!shape.open) {
        const at = pts[1];
        const text = `${shape.value.toFixed(1)}°`;
        ctx.fillStyle = "rgba(0,0,0,.7)";
        ctx.fillRect(at[0] + 8, at[1] - 18, ctx.measureText(text).width + 10, 22);
        ctx.fillStyle = "#fff";
        ctx.fillText(text, at[0] + 13, at[1] - 2);
      }
    }
  }

  function refresh() { updateLabels(); draw(); }

  function step(frames) {
    video.pause();
    const target = (frameIndex(video.currentTime) + frames + 0.5) / fps;
    video.currentTime = Math.min(Math.max(0, target), Math.max(0, (video.duration || target) - 0.5 / fps));
  }

  function setTool(kind) {
    tool = tool === kind ? null : kind;
    points = [];
    els.toolAngle.setAttribute("aria-pressed", String(tool === "angle"));
    els.toolLine.setAttribute("aria-pressed", String(tool === "line"));
    overlay.classList.toggle("drawing", Boolean(tool));
    if (tool) {
      video.pause();
      els.readout.textContent = tool === "angle" ? "Click three points; the angle is at the middle one."
        : "Click the two ends of the line.";
    } else { els.readout.textContent = ""; }
    draw();
  }

  overlay.addEventListener("click", (event) => {
    if (!tool) { if (video.paused) video.play(); else video.pause(); return; }
    const rect = overlay.getBoundingClientRect(), box = pictureBox(video);
    const x = (event.clientX - rect.left - box.x) / box.w, y = (event.clientY - rect.top - box.y) / box.h;
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return;
    points.push([x, y]);
    const need = tool === "angle" ? 3 : 2;
    if (points.length === need) {
      const inPixels = points.map((p) => [p[0] * video.videoWidth, p[1] * video.videoHeight]);
      const value = tool === "angle" ? angleAt(...inPixels) : tiltFromHorizontal(...inPixels);
      shapes.push({ kind: tool, points, value });
      overlay.dataset.measureDeg = value.toFixed(2);
      els.readout.textContent = tool === "angle" ? `Angle: ${value.toFixed(1)}°` : `Line: ${value.toFixed(1)}° from horizontal`;
      points = [];
    }
    draw();
  });

  // Second video: follows the first through the rep-bottom map (seeks when paused or drifting).
  let following = 0;
  function follow() {
    if (!compare) { following = 0; return; }
    const target = compare.sync.at(video.currentTime);
    const other = compare.video;
    const clamped = Math.min(Math.max(0, target), Math.max(0, (other.duration || target)));
    if (video.paused) {
      if (!other.paused) other.pause();
      if (Math.abs(other.currentTime - clamped) > 0.5 / fps) other.currentTime = clamped;
    } else {
      other.playbackRate = Math.min(4, Math.max(0.0625, video.playbackRate * compare.sync.slope(video.currentTime)));
      if (Math.abs(other.currentTime - clamped) > 0.15) other.currentTime = clamped;
      if (other.paused && target >= 0 && target < (other.duration || Infinity)) other.play().catch(() => {});
    }
    following = video.paused ? 0 : requestAnimationFrame(follow);
  }

  let playing = 0;
  function whilePlaying() { refresh(); playing = video.paused || video.ended ? 0 : requestAnimationFrame(whilePlaying); }
  video.addEventListener("play", () => {
    if (!playing) playing = requestAnimationFrame(whilePlaying);
    if (compare && !following) following = requestAnimationFrame(follow);
    updateLabels();
  });
  for (const type of ["pause", "seeked", "loadedmetadata", "timeupdate"]) {
    video.addEventListener(type, () => { refresh(); if (compare && video.paused) follow(); });
  }
  window.addEventListener("resize", draw);

  els.play.addEventListener("click", () => { if (video.paused) video.play(); else video.pause(); });
  els.back.addEventListener("click", () => step(-1));
  els.forward.addEventListener("click", () => step(1));
  els.speed.addEventListener("change", () => { video.playbackRate = Number(els.speed.value); });
  els.seekBar.addEventListener("input", () => { video.currentTime = Number(els.seekBar.value); });
  els.skeletonToggle.addEventListener("change", () => {
    showSkeleton = els.skeletonToggle.checked;
    if (showSkeleton && !skeleton && api.job) api.loadSkeleton(api.job);
    draw();
  });
  els.toolAngle.addEventListener("click", () => setTool("angle"));
  els.toolLine.addEventListener("click", () => setTool("line"));
  els.toolClear.addEventListener("click", () => { shapes = []; points = []; els.readout.textContent = ""; draw(); });
  document.addEventListener("keydown", (event) => {
    if (els.hidden() || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      step(event.key === "ArrowRight" ? 1 : -1);
    }
  });

  const api = {
    job: null,
    load(job) {
      fps = job.analysis.input.fps || 30;
      shapes = []; points = []; skeleton = null;
      video.playbackRate = Number(els.speed.value);
      api.job = job;
      if (showSkeleton) api.loadSkeleton(job);
      refresh();
    },
    async loadSkeleton(job) {
      const response = await fetch(job.links.skeleton);
      if (response.ok) { skeleton = await response.json(); draw(); }
    },
    setCompare(otherVideo, bottomsA, bottomsB) {
      compare = otherVideo ? { video: otherVideo, sync: repSync(bottomsA, bottomsB) } : null;
      if (compare) { otherVideo.playbackRate = video.playbackRate; follow(); }
      return compare ? compare.sync.pairs : 0;
    },
    clear() { skeleton = null; shapes = []; points = []; compare = null; draw(); },
    frameIndex,
  };
  return api;
}
