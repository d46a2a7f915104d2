// formcheck live page: webcam -> JPEG frames over the /api/v1/live WebSocket -> overlay + reps + cues.
// Rate control: one frame in flight; the next is sent when the answer to the previous one arrives,
// so the send rate follows what the server keeps up with (it never has a queue to work through).
"use strict";

const $ = (id) => document.getElementById(id);
const SEND_LONG_SIDE = 640;       // frames are shrunk to this before JPEG encoding
const JPEG_QUALITY = 0.7;
const LATENCY_WINDOW = 30;        // median of the last N round trips
const SETUP_OK_FRAMES = 10;       // set-up must pass this many answers in a row
const COLORS = { left: "#1E90FF", right: "#FF8C00", mid: "#E6E6E6" };
// MediaPipe landmark indices (formcheck/landmarks.py), edges as SKELETON_EDGES there.
const EDGES = [[11, 12], [23, 24], [11, 23], [12, 24], [11, 13], [13, 15], [12, 14], [14, 16],
  [23, 25], [25, 27], [27, 29], [29, 31], [27, 31], [24, 26], [26, 28], [28, 30], [30, 32], [28, 32]];
const JOINTS = { hip: [23, 24], knee: [25, 26], ankle: [27, 28] };
const ANGLE_LABEL = { hip: ["H", "hip_flexion_deg"], knee: ["K", "knee_flexion_deg"], ankle: ["A", "ankle_dorsiflexion_deg"] };

const state = { ws: null, stream: null, seq: 0, inFlight: false, sentAt: new Map(), rtts: [],
  setupOkRun: 0, setupDone: false, frames: 0, running: false };
const grab = document.createElement("canvas");

function sideOf(i) { return i === 0 ? "mid" : (i % 2 === 1 ? "left" : "right"); }
function fmtDeg(v) { return v === null || v === undefined ? "–" : `${Math.round(v)}°`; }
function median(xs) { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; }

function showError(message, hint) {
  const box = $("error-box");
  box.hidden = !message;
  box.textContent = message || "";
  if (hint) { const h = document.createElement("span"); h.className = "hint"; h.textContent = hint; box.appendChild(h); }
}

function setList(ul, items, emptyText) {
  ul.replaceChildren(...(items.length ? items : [emptyText]).map((text) => {
    const li = document.createElement("li"); li.textContent = text; return li;
  }));
}

async function loadExercises() {
  const select = $("exercise");
  try {
    const res = await fetch("/api/v1/live/exercises");
    const body = await res.json();
    for (const [value, label] of Object.entries(body.labels)) {
      select.add(new Option(label, value, value === body.default, value === body.default));
    }
  } catch (err) {
    showError("Could not load the exercise list.", String(err));
  }
}

function drawOverlay(result) {
  const canvas = $("overlay"), video = $("video");
  const w = video.clientWidth, h = video.clientHeight;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  const lms = result.landmarks;
  if (!lms) return;
  const pt = (i) => (lms[i][0] === null || lms[i][1] === null ? null : [lms[i][0] * w, lms[i][1] * h]);
  ctx.lineWidth = Math.max(2, w / 220);
  ctx.lineCap = "round";
  for (const [a, b] of EDGES) {
    const p = pt(a), q = pt(b);
    if (!p || !q) continue;
    const sa = sideOf(a), sb = sideOf(b);
    ctx.strokeStyle = sa === sb ? COLORS[sa] : COLORS.mid;
    ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
  }
  ctx.font = `${Math.max(12, Math.round(w / 40))}px system-ui, sans-serif`;
  for (const [joint, [li, ri]] of Object.entries(JOINTS)) {
    for (const [side, idx] of [["left", li], ["right", ri]]) {
      const p = pt(idx), v = result.angles[`${side}_${ANGLE_LABEL[joint][1]}`];
      if (!p) continue;
      ctx.fillStyle = COLORS[side];
      ctx.beginPath(); ctx.arc(p[0], p[1], ctx.lineWidth * 1.6, 0, 2 * Math.PI); ctx.fill();
      if (v === null || v === undefined) continue;
      const text = `${ANGLE_LABEL[joint][0]} ${Math.round(v)}°`;
      const tw = ctx.measureText(text).width, th = parseInt(ctx.font, 10);
      ctx.fillStyle = "rgba(0,0,0,.65)";
      ctx.fillRect(p[0] + 6, p[1] - th, tw + 8, th + 6);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, p[0] + 10, p[1]);
    }
  }
}

function showResult(r) {
  state.frames += 1;
  const sent = state.sentAt.get(r.seq);
  if (sent !== undefined) {
    state.rtts.push(performance.now() - sent);
    if (state.rtts.length > LATENCY_WINDOW) state.rtts.shift();
    state.sentAt.delete(r.seq);
  }
  drawOverlay(r);
  $("rep-count").textContent = r.reps.count;
  $("rep-partial").textContent = r.reps.partial ? `plus ${r.reps.partial} partial` : "";
  $("knee-left").textContent = fmtDeg(r.angles.left_knee_flexion_deg);
  $("knee-right").textContent = fmtDeg(r.angles.right_knee_flexion_deg);
  $("hip-left").textContent = fmtDeg(r.angles.left_hip_flexion_deg);
  $("hip-right").textContent = fmtDeg(r.angles.right_hip_flexion_deg);
  if (r.cues.length) setList($("cues"), r.cues, "");
  $("latency").textContent = `${Math.round(median(state.rtts))} ms`;
  $("server-ms").textContent = `${Math.round(r.server_ms)} ms`;
  $("frames").textContent = state.frames;
  $("dropped").textContent = r.dropped;
  // Set-up first: the check must pass for a run of answers; afterwards it only warns.
  state.setupOkRun = r.setup.ok ? state.setupOkRun + 1 : 0;
  if (!state.setupDone && state.setupOkRun >= SETUP_OK_FRAMES) state.setupDone = true;
  const label = $("setup-state");
  if (r.setup.ok) {
    label.className = "ok";
    label.textContent = state.setupDone ? "OK: start your reps" : "hold still…";
  } else {
    label.className = "todo";
    label.textContent = r.pose ? "adjust the camera" : "no person found";
  }
  setList($("setup-messages"), r.setup.messages,
    r.setup.ok ? `Whole body in the picture, ${r.setup.view} view.` : "Checking…");
}

async function sendFrame() {
  const video = $("video"), ws = state.ws;
  if (!state.running || !ws || ws.readyState !== WebSocket.OPEN || state.inFlight) return;
  if (video.readyState < 2 || !video.videoWidth) { setTimeout(sendFrame, 50); return; }
  const scale = Math.min(1, SEND_LONG_SIDE / Math.max(video.videoWidth, video.videoHeight));
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  state.inFlight = true;
  const blob = await new Promise((resolve) => grab.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  if (!blob || ws.readyState !== WebSocket.OPEN) { state.inFlight = false; return; }
  const jpeg = new Uint8Array(await blob.arrayBuffer());
  const message = new Uint8Array(12 + jpeg.length);
  const header = new DataView(message.buffer);
  const seq = (state.seq += 1);
  const now = performance.now();
  header.setUint32(0, seq);          // big-endian, as the server expects
  header.setFloat64(4, now);
  message.set(jpeg, 12);
  state.sentAt.set(seq, now);
  ws.send(message.buffer);
}

function connect(exercise, model) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/live`);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "config", exercise, model }));
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "ready") {
      $("setup-state").textContent = `checking (${msg.label} needs a ${msg.required_view === "sagittal" ? "side" : "front"} view)`;
      sendFrame();
    } else if (msg.type === "result") {
      state.inFlight = false;
      showError("");
      showResult(msg);
      sendFrame();
    } else if (msg.type === "error") {
      showError(msg.message, msg.hint);
      if (msg.seq !== null && msg.seq !== undefined) { state.inFlight = false; sendFrame(); }
    }
  };
  ws.onclose = (event) => {
    if (state.running && event.reason) showError(`The live connection closed: ${event.reason}.`, "Press Start to try again.");
    else if (state.running) showError("The live connection closed.", "Press Start to try again.");
    stop();
  };
}

async function start() {
  showError("");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError("This browser gives no camera access to this page.", "Open the page over https or on localhost, in a current browser.");
    return;
  }
  try {
    // No size constraint: a requested aspect ratio makes the browser crop the picture (feet, head).
    state.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  } catch (err) {
    showError(`No camera: ${err.message || err.name}.`, "Allow camera access for this page and check that no other program uses the webcam.");
    return;
  }
  const video = $("video");
  video.srcObject = state.stream;
  await video.play();
  Object.assign(state, { running: true, inFlight: false, seq: 0, rtts: [], sentAt: new Map(), setupOkRun: 0, setupDone: false, frames: 0 });
  $("start").disabled = true;
  $("stop").disabled = false;
  connect($("exercise").value, $("model").value);
}

function stop() {
  state.running = false;
  if (state.ws && state.ws.readyState <= WebSocket.OPEN) state.ws.close();
  state.ws = null;
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = null;
  $("start").disabled = false;
  $("stop").disabled = true;
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
loadExercises();
