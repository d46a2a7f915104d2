// formcheck upload page: plain JS, no build step.
// Upload (XHR, for upload progress) -> poll GET /api/v1/analyses/{id} -> show the results.
// The analysis id is kept in the URL (#id) so a reload resumes polling or shows the results;
// this browser's analyses are listed from localStorage ("Your analyses").
// Words and units come from GET /api/v1/labels (formcheck/labels.py, as the printable report).
"use strict";

const API = "/api/v1/analyses";
const POLL_MS = 1000;
const HISTORY_KEY = "formcheck.analyses";
const HISTORY_MAX = 50;
const $ = (id) => document.getElementById(id);
let pollTimer = null;
let currentJob = null;
const chart = createAngleChart($("angle-chart"), $("video"));
const review = createReview({
  video: $("video"), overlay: $("review-overlay"), frameLabel: $("frame-label"), play: $("play"),
  back: $("frame-back"), forward: $("frame-forward"), speed: $("speed"), seekBar: $("seek-bar"),
  skeletonToggle: $("skeleton-toggle"), toolAngle: $("tool-angle"), toolLine: $("tool-line"),
  toolClear: $("tool-clear"), readout: $("tool-readout"), hidden: () => $("result-view").hidden,
});

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// ---- words and units ----------------------------------------------------------------------
let LABELS = { metrics: {}, units: {}, key_metrics: {}, values: {}, views: {}, measures: {}, evidence: {}, planes: {} };
const labelsReady = fetch("/api/v1/labels").then((r) => (r.ok ? r.json() : LABELS)).then((body) => { LABELS = body; })
  .catch(() => {});

const humanize = (key) => { const words = String(key).replaceAll("_", " ").trim(); return words.charAt(0).toUpperCase() + words.slice(1); };
const SUFFIX_UNITS = [["_deg", "deg"], ["_pct_leg", "pct_leg"], ["_leg", "leg"], ["_cm", "cm"], ["_s", "s"], ["_pct", "pct"]];

function metricLabel(key) {
  if (LABELS.metrics[key]) return LABELS.metrics[key].label;
  const suffix = SUFFIX_UNITS.find(([s]) => key.endsWith(s));
  return humanize(suffix ? key.slice(0, -suffix[0].length) : key);
}
function metricUnit(key) {
  if (LABELS.metrics[key]) return LABELS.metrics[key].unit;
  const suffix = SUFFIX_UNITS.find(([s]) => key.endsWith(s));
  return suffix ? (LABELS.units[suffix[1]] ?? "") : "";
}
const unitText = (code) => (code ? (LABELS.units[code] ?? String(code).replaceAll("_", " ")) : "");

// A value as people read it: number (with unit), yes/no, words for a code; "—" when not measured.
function valueText(value, unit = "", digits = 1) {
  if (value === null || value === undefined || (typeof value === "number" && !Number.isFinite(value))) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    const number = Number.isInteger(value) && digits === 0 ? String(value) : value.toFixed(digits);
    return number + (!unit ? "" : unit === "°" || unit === "%" ? unit : ` ${unit}`);
  }
  return LABELS.values[value] ?? String(value).replaceAll("_", " ");
}
const metricDigits = (key) => (LABELS.metrics[key] ? LABELS.metrics[key].digits : 1);
const metricText = (key, value, withUnit = true) => valueText(value, withUnit ? metricUnit(key) : "", metricDigits(key));
const viewLabel = (view) => LABELS.views[view] ?? humanize(view || "unknown");
const measureLabel = (measure) => LABELS.measures[measure] ?? humanize(measure);

function evidenceText(flag) {
  let rest = (flag.source || "").trim();
  if (rest.toLowerCase().startsWith(flag.evidence.toLowerCase())) rest = rest.slice(flag.evidence.length).replace(/^[\s;:,]+/, "");
  let text = LABELS.evidence[flag.evidence] ?? humanize(flag.evidence);
  if (rest) text += flag.evidence === "coaching default" ? `; ${rest}` : `: ${rest}`;
  const population = (flag.population || "").trim();
  if (population.toLowerCase().startsWith("none")) { // "none (why no population applies)"
    const why = population.slice(4).replace(/^[\s(]+|[\s)]+$/g, "");
    if (why) text += `. ${why.charAt(0).toUpperCase()}${why.slice(1)}`;
  } else if (population) {
    text += `. Studied in: ${population}`;
  }
  return text;
}

// ---- this browser's analyses (localStorage) -------------------------------------------------
function readHistory() {
  try { const list = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); return Array.isArray(list) ? list : []; }
  catch (err) { return []; }
}
function writeHistory(list) {
  try { localStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, HISTORY_MAX))); } catch (err) { /* private mode */ }
  renderHistory();
}
function remember(entry) {
  const list = readHistory();
  const old = list.find((x) => x.id === entry.id) || {};
  writeHistory([{ ...old, ...entry }, ...list.filter((x) => x.id !== entry.id)]);
}
function forget(id) { writeHistory(readHistory().filter((x) => x.id !== id)); }

function renderHistory() {
  const list = readHistory();
  $("history").hidden = !list.length;
  $("history-list").replaceChildren(...list.map((item) => el("li", {},
    el("a", { href: `#${item.id}` }, item.file_name || "Untitled clip"),
    el("span", { class: "muted small" }, [item.exercise, item.created_at && new Date(item.created_at).toLocaleString()]
      .filter(Boolean).join(" · ")),
    el("button", { type: "button", class: "link", onclick: () => forget(item.id) }, "Remove from list"))));
  const compare = $("compare-with"), chosen = compare.value;
  compare.replaceChildren(el("option", { value: "" }, "(none)"), ...list.filter((item) => !currentJob || item.id !== currentJob.id)
    .map((item) => el("option", { value: item.id }, `${item.file_name || "Untitled clip"}${item.exercise ? ` (${item.exercise})` : ""}`)));
  compare.value = [...compare.options].some((o) => o.value === chosen) ? chosen : "";
}

// ---- views ----------------------------------------------------------------------------------
function showView(name) {
  for (const view of ["upload-view", "result-view", "missing-view"]) $(view).hidden = view !== name;
}

function showError(error) {
  const box = $("error-box");
  box.replaceChildren(el("strong", {}, error.message || "Something went wrong."),
    error.hint ? el("span", { class: "hint" }, error.hint) : null);
  box.hidden = false;
}

function setProgress(label, value) {
  $("progress-box").hidden = false;
  $("progress-label").textContent = label;
  $("progress").value = value;
  $("progress-pct").textContent = `${Math.round(value * 100)} %`;
}

function resetUpload() {
  clearTimeout(pollTimer);
  currentJob = null;
  if (location.hash) history.pushState(null, "", location.pathname);
  showView("upload-view");
  $("progress-box").hidden = true;
  $("error-box").hidden = true;
  $("upload-form").reset();
  $("drop-text").textContent = "Drop a video here, or choose a file";
  $("submit").disabled = true;
  for (const id of ["video", "compare-video"]) { $(id).pause(); $(id).removeAttribute("src"); }
  $("compare-stage").hidden = true;
  chart.clear();
  review.clear();
  renderHistory();
}

function showMissing(id, error) {
  clearTimeout(pollTimer);
  currentJob = null;
  forget(id);
  showView("missing-view");
  $("missing-text").textContent = `${error && error.message ? error.message : "No analysis with this id."} `
    + "It was deleted, or the link is wrong or incomplete. Upload the clip again to analyse it.";
}

// ---- exercise choices -------------------------------------------------------------------
async function loadExercises() {
  try {
    const response = await fetch("/api/v1/exercises");
    const body = await response.json();
    for (const [name, label] of Object.entries(body.labels).sort((a, b) => a[1].localeCompare(b[1]))) {
      $("exercise").append(el("option", { value: name }, label));
    }
  } catch (err) { /* "auto" still works */ }
}

// ---- file choice and drag-and-drop ------------------------------------------------------
let chosenFile = null;

// ---- who to analyse: a click on the person in the clip's first frame (the API's `subject`) ----
let subjectPoint = null; // "x,y@t": fractions of the frame, seconds

function showSubjectPicker(file) {
  subjectPoint = null;
  $("subject-dot").hidden = true;
  $("subject-clear").hidden = true;
  $("subject-choice").textContent = "Automatic";
  const preview = $("subject-preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  $("subject-pick").hidden = !file;
  if (file) preview.src = URL.createObjectURL(file);
}

$("subject-preview").addEventListener("click", (event) => {
  const video = event.currentTarget;
  const box = video.getBoundingClientRect();
  // the picture inside the element (letterboxed by object-fit: contain)
  const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
  const w = video.videoWidth * scale, h = video.videoHeight * scale;
  const x = (event.clientX - box.left - (box.width - w) / 2) / w;
  const y = (event.clientY - box.top - (box.height - h) / 2) / h;
  if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return;
  subjectPoint = `${x.toFixed(3)},${y.toFixed(3)}@${video.currentTime.toFixed(2)}`;
  const dot = $("subject-dot");
  dot.style.left = `${(100 * (event.clientX - box.left)) / box.width}%`; // stays on the person when the page reflows
  dot.style.top = `${(100 * (event.clientY - box.top)) / box.height}%`;
  dot.hidden = false;
  $("subject-clear").hidden = false;
  $("subject-choice").textContent = "This person will be analysed.";
});
$("subject-clear").addEventListener("click", () => showSubjectPicker(chosenFile));

function choose(file) {
  chosenFile = file || null;
  showSubjectPicker(chosenFile);
  $("drop-text").textContent = file ? `${file.name} (${(file.size / 1e6).toFixed(1)} MB)` : "Drop a video here, or choose a file";
  $("submit").disabled = !file;
  $("error-box").hidden = true;
}

$("file-input").addEventListener("change", (event) => choose(event.target.files[0]));
const zone = $("drop-zone");
for (const type of ["dragenter", "dragover"]) {
  zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("over"); });
}
for (const type of ["dragleave", "drop"]) {
  zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.remove("over"); });
}
zone.addEventListener("drop", (event) => choose(event.dataTransfer.files[0]));
zone.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") $("file-input").click(); });

// ---- upload -----------------------------------------------------------------------------
const SCALE_INPUTS = ["leg-left", "leg-right", "marker-size"]; // optional; named like the API's form fields
$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!chosenFile) return;
  const form = new FormData();
  form.append("exercise", $("exercise").value);
  if ($("model").value) form.append("model", $("model").value);
  for (const id of SCALE_INPUTS) if ($(id).value) form.append($(id).name, $(id).value);
  if (subjectPoint) form.append("subject", subjectPoint);
  form.append("file", chosenFile, chosenFile.name);

  const xhr = new XMLHttpRequest();
  xhr.open("POST", API);
  xhr.responseType = "json";
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) setProgress("Uploading…", e.loaded / e.total);
  });
  xhr.addEventListener("load", () => {
    const body = xhr.response || {};
    if (xhr.status === 202) {
      remember({ id: body.id, file_name: chosenFile.name, created_at: new Date().toISOString() });
      history.replaceState(null, "", `#${body.id}`);
      setProgress("Waiting for a free worker…", 0);
      poll(body.id);
    } else {
      $("progress-box").hidden = true;
      $("submit").disabled = false;
      showError(body.message ? body : { message: `Upload failed (HTTP ${xhr.status}).` });
    }
  });
  xhr.addEventListener("error", () => {
    $("progress-box").hidden = true;
    $("submit").disabled = false;
    showError({ message: "The upload was interrupted.", hint: "Check the connection and try again." });
  });
  $("submit").disabled = true;
  $("error-box").hidden = true;
  setProgress("Uploading…", 0);
  xhr.send(form);
});

// ---- processing -------------------------------------------------------------------------
const STAGES = { starting: "Starting…", pose: "Finding the body in each frame…", video: "Drawing the annotated video…" };

async function poll(id) {
  clearTimeout(pollTimer);
  let body, response;
  try {
    response = await fetch(`${API}/${id}`);
    body = await response.json();
  } catch (err) {
    pollTimer = setTimeout(() => poll(id), POLL_MS * 3);
    return;
  }
  if (response.status === 404) { showMissing(id, body); return; }
  if (!response.ok) { resetUpload(); showError(body); return; }
  if (body.status === "done") { await labelsReady; showResults(body); return; }
  showView("upload-view");
  if (body.status === "failed") {
    $("progress-box").hidden = true;
    $("submit").disabled = !chosenFile;
    showError(body.error || { message: "The analysis failed." });
    return;
  }
  setProgress(body.status === "queued" ? "Waiting for a free worker…" : (STAGES[body.stage] || "Analysing…"), body.progress);
  pollTimer = setTimeout(() => poll(id), POLL_MS);
}

// ---- results ----------------------------------------------------------------------------
function seekButton(seconds) {
  return el("button", { type: "button", class: "seek link", title: "Show in the video", onclick: () => {
    const video = $("video"); video.pause(); video.currentTime = seconds;
    video.scrollIntoView({ behavior: "smooth", block: "center" });
  } }, `${seconds.toFixed(2)} s`);
}

function renderSummary(a, job) {
  const m = a.movement;
  const rows = [["File", job.file_name || a.input.file_name]];
  if (m) {
    const how = m.exercise_source !== "auto" ? "chosen"
      : m.exercise_confidence == null ? "not recognised: choose it in the Exercise menu and upload again"
      : `recognised, confidence ${m.exercise_confidence.toFixed(2)}`;
    rows.push(["Exercise", `${m.exercise_label || "none of the known exercises"} (${how})`]);
    rows.push(["Camera view", `${viewLabel(m.view)} (confidence ${m.view_confidence.toFixed(2)})`]);
    rows.push(["Reps", `${m.rep_count} complete${m.partial_rep_count ? `, ${m.partial_rep_count} partial` : ""}`]);
  }
  rows.push(["Clip", `${a.input.width}×${a.input.height}, ${a.input.fps.toFixed(1)} fps, ${a.input.duration_s.toFixed(1)} s`]);
  rows.push(["Person found", `${Math.round(a.quality.pose_fraction * 100)} % of frames`]);
  rows.push(["Model", a.model.name]);
  const sc = job.scale || {};
  const scale = [sc.leg_length_left_cm && `left leg ${sc.leg_length_left_cm} cm`, sc.leg_length_right_cm && `right leg ${sc.leg_length_right_cm} cm`,
    sc.marker_size_cm && `floor marker ${sc.marker_size_cm} cm`].filter(Boolean);
  if (scale.length) rows.push(["Scale given", scale.join(", ")]);
  const swaps = a.quality.manual_leg_swaps_s || [];
  if (swaps.length) {
    rows.push(["Corrected", el("span", {}, "legs swapped by hand from ", swaps.map((t, i) => [i ? ", " : "", `${t.toFixed(2)} s `,
      el("button", { type: "button", class: "link", onclick: () => swapLegs(t, "Take back the leg swap") }, "undo")]))]);
  }
  $("summary").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("warnings").replaceChildren(...a.quality.warnings.map((w) => el("li", {}, w)));
  const fb = m ? m.feedback : { runner: [], clinician: [] };
  $("feedback").replaceChildren(
    fb.runner.length ? el("div", {}, el("h3", {}, "Feedback"), el("ul", {}, fb.runner.map((x) => el("li", {}, x)))) : null,
    fb.clinician.length ? el("details", {}, el("summary", {}, "For a clinician"), el("ul", {}, fb.clinician.map((x) => el("li", {}, x)))) : null,
  );
}

const repResult = (r) => (r.complete ? "complete" : `partial${r.partial_reason ? `: ${r.partial_reason}` : ""}`);

// Compact table: the exercise's key numbers; every other measurement under "All measurements".
function renderReps(m) {
  const table = $("reps");
  $("rep-details").replaceChildren();
  if (!m || !m.reps.length) { table.replaceChildren(el("tr", {}, el("td", {}, "No reps were found."))); return; }
  const present = [...new Set(m.reps.flatMap((r) => Object.keys(r.metrics)))].sort()
    .filter((k) => m.reps.some((r) => r.metrics[k] !== null && r.metrics[k] !== undefined));
  const wanted = (LABELS.key_metrics[m.exercise] || []).filter((k) => present.includes(k));
  const keys = wanted.length ? wanted : present.slice(0, 6);
  const heading = (k) => el("th", {}, metricLabel(k), metricUnit(k) ? el("span", { class: "unit" }, ` (${metricUnit(k)})`) : null);
  const head = el("tr", {}, ["#", "Leg", "Start", "Deepest", "End", "Result", "Findings"].map((h) => el("th", {}, h)),
    keys.map(heading), el("th", { class: "screen-only" }, "Correct"));
  const rows = m.reps.map((r) => el("tr", {},
    el("td", {}, r.index), el("td", {}, valueText(r.side)), el("td", {}, seekButton(r.start_s)), el("td", {}, seekButton(r.bottom_s)),
    el("td", {}, seekButton(r.end_s)), el("td", {}, repResult(r)), el("td", {}, r.flags.length),
    keys.map((k) => el("td", { class: "num" }, metricText(k, r.metrics[k], false))),
    el("td", { class: "screen-only" }, el("button", { type: "button", class: "link swap-legs", "data-rep": r.index,
      title: "Swap legs from here: the left and right legs are mixed up from this rep on; swap them and re-run the analysis",
      onclick: () => swapLegs(r.start_s, `Swap the legs from rep ${r.index} (${r.start_s.toFixed(2)} s) on`) }, "Swap legs"))));
  table.replaceChildren(head, ...rows);
  const rest = present.filter((k) => !keys.includes(k));
  if (rest.length) {
    const header = el("tr", {}, el("th", {}, "Measure"), m.reps.map((r) => el("th", {}, `Rep ${r.index}`)));
    const lines = rest.map((k) => el("tr", {}, el("th", {}, metricLabel(k)),
      m.reps.map((r) => el("td", { class: "num" }, metricText(k, r.metrics[k])))));
    $("rep-details").replaceChildren(el("details", { id: "all-measurements" }, el("summary", {}, "All measurements"),
      el("div", { class: "scroll" }, el("table", {}, header, lines))));
  }
}

// One card per kind of finding, with the reps it was seen in.
function renderFlags(m) {
  const flags = m ? [...m.reps.flatMap((r) => r.flags), ...m.flags] : [];
  if (!flags.length) { $("flags").replaceChildren(el("p", {}, "No compensation flagged.")); return; }
  const groups = new Map();
  for (const f of flags) { if (!groups.has(f.code)) groups.set(f.code, []); groups.get(f.code).push(f); }
  const flagValue = (f, v) => valueText(v, unitText(f.unit), f.unit === "ratio" ? 2 : 1);
  $("flags").replaceChildren(...[...groups.values()].map((group) => {
    const first = group[0];
    const details = group.filter((f) => f.detail).map((f) => el("li", {}, f.detail));
    return el("div", { class: "flag" },
      el("div", {}, el("strong", {}, first.label), el("span", { class: "muted" }, ` (${group.length} ${group.length === 1 ? "time" : "times"})`)),
      el("div", { class: "cue" }, first.cue),
      el("ul", { class: "where" }, group.map((f) => {
        const rep = m.reps.find((r) => r.index === f.rep_index);
        const where = f.rep_index === null || f.rep_index === undefined ? "Whole clip" : `Rep ${f.rep_index}`;
        return el("li", { class: "numbers" }, `${where}${f.side && f.side !== "both" ? ` (${f.side})` : ""}: ${flagValue(f, f.value)} `,
          rep ? seekButton(rep.bottom_s) : null);
      })),
      el("div", { class: "numbers" }, `Flagged ${first.direction} ${flagValue(first, first.threshold)}.`),
      details.length ? el("details", {}, el("summary", {}, "For a clinician"), el("ul", {}, details)) : null,
      el("div", { class: "muted small" }, evidenceText(first)));
  }));
}

function renderDownloads(job) {
  const links = job.links;
  const items = [[links.report, "Printable report (HTML)", null], [links.angles_csv, "Angles (CSV)", "angles.csv"],
    [links.angles_mot, "Angles for OpenSim (.mot)", "angles.mot"], [links.landmarks, "Landmarks (NumPy .npz)", "landmarks.npz"],
    [links.analysis_json, "Analysis (JSON)", "analysis.json"], [links.video, "Annotated video (MP4, drawn when asked: up to a minute)", "annotated.mp4"]];
  $("download-list").replaceChildren(...items.filter(([href]) => href).map(([href, label, file]) =>
    el("li", {}, el("a", file ? { href, download: file } : { href, target: "_blank", rel: "noopener" }, label))));
}

async function loadChart(job) {
  const m = job.analysis.movement;
  $("chart-plane").value = m && m.view === "frontal" ? "frontal" : "sagittal";
  $("chart-error").hidden = true;
  try {
    const response = await fetch(job.links.angles_csv);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    chart.load(await response.text(), m ? m.reps : [], $("chart-plane").value, job.analysis.withheld_measures);
  } catch (err) {
    $("chart-error").hidden = false;
  }
}

function showResults(job) {
  const a = job.analysis;
  currentJob = job;
  showView("result-view");
  $("result-view").dataset.jobId = job.id;
  const m = a.movement;
  remember({ id: job.id, file_name: job.file_name || a.input.file_name, created_at: job.created_at,
    exercise: m && m.exercise_label ? m.exercise_label : "" });
  $("result-title").textContent = `Results: ${job.file_name || a.input.file_name}`;
  const video = $("video");
  // the uploaded clip with the skeleton drawn over it (review.js); a clip the browser cannot play
  // (e.g. HEVC from a phone) falls back to the annotated MP4, which the server draws on request
  video.onerror = () => {
    if (video.src.endsWith(job.links.video)) return;
    $("video-note").textContent = "This browser cannot play the clip as uploaded: preparing a playable video…";
    video.src = job.links.video;
  };
  video.onloadeddata = () => { $("video-note").textContent = ""; };
  video.src = job.links.source;
  renderDownloads(job);
  renderSummary(a, job);
  renderReps(m);
  renderFlags(m);
  loadChart(job);
  review.load(job);
  $("plots").replaceChildren(...Object.entries(job.links.plots).map(([name, url]) =>
    el("figure", {}, el("img", { src: url, alt: LABELS.planes[name] || `${humanize(name)} angles`, loading: "lazy" }),
      el("figcaption", { class: "muted" }, LABELS.planes[name] || humanize(name)))));
  const unsupported = m ? m.unsupported_measures : [];
  $("unsupported").replaceChildren(...(unsupported.length ? [el("h3", {}, "Not measured from this view"),
    el("ul", {}, unsupported.map((u) => el("li", {}, el("strong", {}, measureLabel(u.measure)), `: ${u.reason} ${u.advice}`)))] : []));
  $("delete").onclick = async () => {
    if (!confirm("Delete the video and all results of this analysis?")) return;
    await fetch(`${API}/${job.id}`, { method: "DELETE" });
    forget(job.id);
    resetUpload();
  };
  renderHistory();
  if ($("compare-with").value) compareWith($("compare-with").value);
}

// ---- corrections: swap the legs from a time on, re-run from the stored landmarks -------------
async function swapLegs(fromS, question) {
  if (!currentJob || !confirm(`${question}? The analysis is re-run from the stored landmarks (a few seconds).`)) return;
  const status = $("relabel-status");
  status.hidden = false;
  status.textContent = "Re-running the analysis with the legs swapped…";
  for (const button of document.querySelectorAll(".swap-legs")) button.disabled = true;
  try {
    const response = await fetch(currentJob.links.swap_legs, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ from_s: fromS }) });
    const body = await response.json();
    if (!response.ok) throw body;
    status.hidden = true;
    showResults(body);
  } catch (err) {
    status.textContent = `The legs could not be swapped: ${err.message || err}`;
    for (const button of document.querySelectorAll(".swap-legs")) button.disabled = false;
  }
}

// ---- side by side: a second analysis of this browser, synced at the rep bottoms -------------
const repBottoms = (job) => ((job.analysis.movement || { reps: [] }).reps.filter((r) => r.complete).map((r) => r.bottom_s));

async function compareWith(id) {
  const stage = $("compare-stage"), other = $("compare-video");
  if (!id || !currentJob) { stage.hidden = true; other.pause(); other.removeAttribute("src"); review.setCompare(null); return; }
  const response = await fetch(`${API}/${id}`);
  const body = await response.json().catch(() => ({}));
  if (response.status === 404) { forget(id); stage.hidden = true; return; }
  if (!response.ok || body.status !== "done") { stage.hidden = true; return; }
  stage.hidden = false;
  other.onerror = () => { if (!other.src.endsWith(body.links.video)) other.src = body.links.video; };
  other.src = body.links.source;
  const pairs = review.setCompare(other, repBottoms(currentJob), repBottoms(body));
  $("compare-caption").textContent = `${body.file_name || body.analysis.input.file_name}: `
    + (pairs ? `synced at ${pairs} rep ${pairs === 1 ? "bottom" : "bottoms"}` : "no complete reps to sync on; played from the start");
  other.dataset.jobId = body.id;
}
$("compare-with").addEventListener("change", (event) => compareWith(event.target.value));

$("new-upload").addEventListener("click", resetUpload);
$("missing-new").addEventListener("click", resetUpload);
$("chart-plane").addEventListener("change", (event) => chart.setPlane(event.target.value));

function route() {
  const id = location.hash.slice(1);
  if (/^[0-9a-f]{32}$/.test(id)) {
    if (currentJob && currentJob.id === id) return;
    setProgress("Checking…", 0);
    poll(id);
  } else if (id) {
    showMissing(id, { message: "This link does not name an analysis." });
  } else {
    resetUpload();
  }
}
window.addEventListener("hashchange", route);
loadExercises();
renderHistory();
route();
