// formcheck upload page: plain JS, no build step.
// Upload (XHR, for upload progress) -> poll GET /api/v1/analyses/{id} -> show the results.
// The analysis id is kept in the URL (#id) so a reload resumes polling or shows the results.
"use strict";

const API = "/api/v1/analyses";
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);
let pollTimer = null;
const chart = createAngleChart($("angle-chart"), $("video"));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const fmt = (value, digits = 1) =>
  value === null || value === undefined ? "—"
    : typeof value === "boolean" ? (value ? "yes" : "no")
    : typeof value === "number" ? value.toFixed(digits) : String(value);

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
  history.replaceState(null, "", location.pathname);
  $("result-view").hidden = true;
  $("upload-view").hidden = false;
  $("progress-box").hidden = true;
  $("error-box").hidden = true;
  $("upload-form").reset();
  $("drop-text").textContent = "Drop a video here, or choose a file";
  $("submit").disabled = true;
  $("video").removeAttribute("src");
  chart.clear();
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
  let body;
  try {
    const response = await fetch(`${API}/${id}`);
    body = await response.json();
    if (!response.ok) { resetUpload(); showError(body); return; }
  } catch (err) {
    pollTimer = setTimeout(() => poll(id), POLL_MS * 3);
    return;
  }
  if (body.status === "done") { showResults(body); return; }
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
  return el("span", { class: "seek", title: "Show in the video", onclick: () => {
    const video = $("video"); video.currentTime = seconds; video.scrollIntoView({ behavior: "smooth", block: "center" });
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
    rows.push(["Camera view", `${m.view} (confidence ${m.view_confidence.toFixed(2)})`]);
    rows.push(["Reps", `${m.rep_count} complete${m.partial_rep_count ? `, ${m.partial_rep_count} partial` : ""}`]);
  }
  rows.push(["Clip", `${a.input.width}×${a.input.height}, ${a.input.fps.toFixed(1)} fps, ${a.input.duration_s.toFixed(1)} s`]);
  rows.push(["Person found", `${Math.round(a.quality.pose_fraction * 100)} % of frames`]);
  rows.push(["Model", a.model.name]);
  const sc = job.scale || {};
  const scale = [sc.leg_length_left_cm && `left leg ${sc.leg_length_left_cm} cm`, sc.leg_length_right_cm && `right leg ${sc.leg_length_right_cm} cm`,
    sc.marker_size_cm && `floor marker ${sc.marker_size_cm} cm`].filter(Boolean);
  if (scale.length) rows.push(["Scale given", scale.join(", ")]);
  $("summary").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("warnings").replaceChildren(...a.quality.warnings.map((w) => el("li", {}, w)));
  const fb = m ? m.feedback : { runner: [], clinician: [] };
  $("feedback").replaceChildren(
    fb.runner.length ? el("div", {}, el("h3", {}, "Feedback"), el("ul", {}, fb.runner.map((x) => el("li", {}, x)))) : null,
    fb.clinician.length ? el("details", {}, el("summary", {}, "For a clinician"), el("ul", {}, fb.clinician.map((x) => el("li", {}, x)))) : null,
  );
}

function renderReps(m) {
  const table = $("reps");
  if (!m || !m.reps.length) { table.replaceChildren(el("tr", {}, el("td", {}, "No reps were found."))); return; }
  const keys = [...new Set(m.reps.flatMap((r) => Object.keys(r.metrics)))].sort();
  const head = el("tr", {}, ["#", "Side", "Start", "Deepest", "End", "Complete", "Flags"].map((h) => el("th", {}, h)),
    keys.map((k) => el("th", {}, k.replaceAll("_", " "))));
  const rows = m.reps.map((r) => el("tr", {},
    el("td", {}, r.index), el("td", {}, r.side), el("td", {}, seekButton(r.start_s)), el("td", {}, seekButton(r.bottom_s)),
    el("td", {}, seekButton(r.end_s)), el("td", {}, r.complete ? "yes" : `partial${r.partial_reason ? `: ${r.partial_reason}` : ""}`), el("td", {}, r.flags.length),
    keys.map((k) => el("td", {}, fmt(r.metrics[k])))));
  table.replaceChildren(head, ...rows);
}

function renderFlags(m) {
  const flags = m ? [...m.reps.flatMap((r) => r.flags), ...m.flags] : [];
  if (!flags.length) { $("flags").replaceChildren(el("p", {}, "No compensation flagged.")); return; }
  $("flags").replaceChildren(...flags.map((f) => {
    const where = f.rep_index === null || f.rep_index === undefined ? "whole clip" : `rep ${f.rep_index}`;
    const rep = m.reps.find((r) => r.index === f.rep_index);
    return el("div", { class: "flag" },
      el("div", {}, el("strong", {}, f.label), ` — ${where}${f.side ? ` (${f.side})` : ""} `, rep ? seekButton(rep.bottom_s) : null),
      el("div", { class: "numbers" }, `${fmt(f.value)} ${f.unit} (flagged ${f.direction} ${fmt(f.threshold)} ${f.unit})`),
      el("div", { class: "cue" }, f.cue),
      f.detail ? el("div", { class: "muted small" }, f.detail) : null,
      el("div", { class: "muted small" }, `${f.evidence === "published" ? "Published threshold" : "Coaching default"}: ${f.source}`
        + (f.population ? ` — ${f.population}` : "")));
  }));
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
  $("upload-view").hidden = true;
  $("result-view").hidden = false;
  $("result-title").textContent = `Results: ${job.file_name || a.input.file_name}`;
  $("report-link").href = job.links.report;
  $("csv-link").href = job.links.angles_csv;
  $("video").src = job.links.video;
  renderSummary(a, job);
  renderReps(a.movement);
  renderFlags(a.movement);
  loadChart(job);
  $("plots").replaceChildren(...Object.entries(job.links.plots).map(([name, url]) =>
    el("figure", {}, el("img", { src: url, alt: `${name} angles`, loading: "lazy" }), el("figcaption", { class: "muted" }, `${name} plane`))));
  const unsupported = a.movement ? a.movement.unsupported_measures : [];
  $("unsupported").replaceChildren(...(unsupported.length ? [el("h3", {}, "Not measured from this view"),
    el("ul", {}, unsupported.map((u) => el("li", {}, el("strong", {}, u.measure), `: ${u.reason} ${u.advice}`)))] : []));
  $("delete").onclick = async () => {
    if (!confirm("Delete the video and all results of this analysis?")) return;
    await fetch(`${API}/${job.id}`, { method: "DELETE" });
    resetUpload();
  };
}

$("new-upload").addEventListener("click", resetUpload);
$("chart-plane").addEventListener("change", (event) => chart.setPlane(event.target.value));
loadExercises();
const resumeId = location.hash.slice(1);
if (/^[0-9a-f]{32}$/.test(resumeId)) { setProgress("Checking…", 0); poll(resumeId); }
