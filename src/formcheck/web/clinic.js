// formcheck clinic pages: plain JS, no build step, on the clinic API (/api/v1/clinic, docs/api.md).
// Views by hash: #/login, #/athletes, #/athletes/<id>, #/screenings/<id> (the wizard),
// #/screenings/<id>/report. The login is an HttpOnly session cookie; any 401 leads back to #/login.
"use strict";

const API = "/api/v1/clinic";
const POLL_MS = 1500;
const $ = (id) => document.getElementById(id);
let pollTimer = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? "—" : typeof v === "number" ? v.toFixed(digits) : String(v));
const UNIT_WORDS = { pct_limb: "% limb length", deg: "°", cm: "cm", ratio: "ratio" };
const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : "");

// ---- the screening protocol: what comes next and where the camera goes --------------------
const SIDE_CAMERA = "Camera: side view — phone at hip height, about 3 m away, square to the movement; "
  + "whole body from head to feet in frame.";
const DIRECTIONS = ["anterior", "posteromedial", "posterolateral"];
// mSEBT: each direction on the left then the right stance leg (Gribble et al. 2012 order), then lunge, step-up.
const PROTOCOL = [
  ...DIRECTIONS.flatMap((direction) => ["left", "right"].map((leg) => ({
    key: `msebt:${leg}:${direction}`, kind: "msebt", leg, direction,
    title: `mSEBT — stand on the ${leg} leg, ${direction} reach`,
    what: `Stance on the ${leg} leg, hands on hips, heel down. Reach ${direction} with the other foot along the `
      + "tape line, touch lightly and come back to standing: 3 trials in one clip, after 4 practice trials.",
    camera: `${SIDE_CAMERA} Stance (${leg}) leg nearest the camera; the reach line on the floor (and the printed marker, if used) in view.`,
  }))),
  { key: "lunge::", kind: "lunge", leg: null, direction: null, title: "Forward lunge",
    what: "Forward lunges, alternating legs, 3 to 5 on each leg at a steady pace.", camera: SIDE_CAMERA },
  { key: "step_up::", kind: "step_up", leg: null, direction: null, title: "Step-up",
    what: "Step-ups onto a box of about knee height, 3 to 5 on each leg, standing tall at the top.", camera: SIDE_CAMERA },
];
const testKey = (t) => `${t.kind}:${t.leg || ""}:${t.direction || ""}`;
// The printed floor marker's side (cm), one per screening: sent with its mSEBT clips (optional).
const markerKey = (screeningId) => `marker:${screeningId}`;

// ---- API ---------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) { super(body.message || `HTTP ${status}`); this.status = status; this.body = body; }
}

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await fetch(API + path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && !path.startsWith("/auth/login")) { location.hash = "#/login"; throw new ApiError(401, data); }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// An error is shown where the clinician is: inside `where` (the step card, the form that was
// sent) when given, else in the box at the top; either way scrolled into view.
function showError(error, where) {
  const body = error && error.body ? error.body : error;
  const box = where ? where.querySelector(":scope > .local-error") || el("div", { class: "error local-error", role: "alert" })
    : $("error-box");
  box.replaceChildren(el("strong", {}, (body && body.message) || String(error)),
    body && body.hint ? el("span", { class: "hint" }, body.hint) : null);
  box.hidden = false;
  if (where && !box.parentNode) where.append(box);
  box.scrollIntoView({ block: "nearest" });
}

function clearErrors(where) {
  if (where) where.querySelectorAll(":scope > .local-error").forEach((box) => box.remove());
  $("error-box").hidden = true;
}

// Replace the page's view; children left out (null, false) draw nothing (never the text "null").
const showView = (...children) => $("view").replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
const today = () => { const d = new Date(); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`; };

function crumbs(...items) {
  $("crumbs").replaceChildren(...items.flatMap(([label, href], i) =>
    [i ? " › " : "", href ? el("a", { href }, label) : el("span", {}, label)]));
}

// ---- views -------------------------------------------------------------------------------
async function loginView() {
  $("who").hidden = true;
  crumbs(["Log in"]);
  let registering = false;
  const name = el("label", { hidden: true }, "Your name (shown on reports)", el("input", { id: "login-name", autocomplete: "name" }));
  const submit = el("button", { type: "submit", id: "login-submit" }, "Log in");
  const toggle = el("button", { type: "button", class: "link", id: "login-toggle" }, "New here? Create an account");
  const form = el("form", { id: "login-form", class: "card narrow" },
    el("label", {}, "E-mail", el("input", { id: "login-email", type: "email", required: true, autocomplete: "username" })),
    el("label", {}, "Password (at least 10 characters)",
      el("input", { id: "login-password", type: "password", required: true, minlength: "10", autocomplete: "current-password" })),
    name, el("div", { class: "row" }, submit, toggle));
  toggle.onclick = () => {
    registering = !registering;
    name.hidden = !registering;
    submit.textContent = registering ? "Create account" : "Log in";
    toggle.textContent = registering ? "I have an account" : "New here? Create an account";
  };
  form.onsubmit = async (event) => {
    event.preventDefault();
    const body = { email: $("login-email").value, password: $("login-password").value, session: "cookie" };
    if (registering) body.name = $("login-name").value;
    try {
      // register answers the same for a new and a taken e-mail (no enumeration): then log in
      if (registering) await api("POST", "/auth/register", body);
      delete body.name;
      try { await api("POST", "/auth/login", body); } catch (err) {
        if (!err.body || err.body.code !== "totp_required") throw err;
        body.totp = prompt("The 6-digit code of your authenticator app") || "";
        await api("POST", "/auth/login", body);
      }
      location.hash = "#/athletes";
    } catch (err) { showError(err, form); }
  };
  showView(el("h2", {}, "Log in"), form);
}

async function athletesView() {
  crumbs(["Athletes"]);
  const athletes = await api("GET", "/athletes");
  const table = athletes.length
    ? el("div", { class: "table-scroll" }, el("table", { id: "athletes" },
      el("tr", {}, ["Name or code", "Born", "Leg length L / R (cm)", "Dominant leg"].map((h) => el("th", {}, h))),
      athletes.map((a) => el("tr", { "data-id": a.id },
        el("td", {}, el("a", { href: `#/athletes/${a.id}` }, a.name)), el("td", {}, fmt(a.birth_year, 0)),
        el("td", {}, `${fmt(a.leg_length_left_cm)} / ${fmt(a.leg_length_right_cm)}`), el("td", {}, fmt(a.dominant_leg))))))
    : el("p", { id: "athletes", class: "muted" }, "No athletes yet: add the first one below.");
  const number = (id, label, attrs = {}) => el("label", {}, label, el("input", { id, type: "number", step: "0.5", ...attrs }));
  const form = el("form", { id: "athlete-form", class: "card" },
    el("h3", {}, "Add an athlete"),
    el("div", { class: "row" },
      el("label", {}, "Name or code", el("input", { id: "athlete-name", required: true, maxlength: "120" })),
      number("athlete-birth-year", "Birth year", { step: "1", min: "1900" }),
      number("athlete-leg-left", "Leg length left (cm)", { min: "40", max: "140" }),
      number("athlete-leg-right", "Leg length right (cm)", { min: "40", max: "140" }),
      el("label", {}, "Dominant leg", el("select", { id: "athlete-dominant" },
        el("option", { value: "" }, "—"), el("option", { value: "left" }, "left"), el("option", { value: "right" }, "right")))),
    el("p", { class: "muted small" }, "Leg length: ASIS to medial malleolus, lying supine. It turns reaches into % of limb length."),
    el("label", {}, "Injury notes", el("textarea", { id: "athlete-notes", rows: "2", maxlength: "4000" })),
    el("button", { type: "submit", id: "athlete-submit" }, "Add athlete"));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const num = (id) => ($(id).value === "" ? null : Number($(id).value));
    try {
      const athlete = await api("POST", "/athletes", {
        name: $("athlete-name").value, birth_year: num("athlete-birth-year"), leg_length_left_cm: num("athlete-leg-left"),
        leg_length_right_cm: num("athlete-leg-right"), dominant_leg: $("athlete-dominant").value || null,
        injury_notes: $("athlete-notes").value,
      });
      location.hash = `#/athletes/${athlete.id}`;
    } catch (err) { showError(err, form); }
  };
  showView(el("h2", {}, "Athletes"), table, form);
}

function historyBlock(athleteId, history) {
  const metrics = history.metrics.filter((m) => m.points.some((p) => p.value !== null));
  if (!metrics.length) return el("p", { class: "muted", id: "history" }, "No scores yet: the trends appear after the first analysed screening.");
  return el("div", { id: "history" },
    el("div", { class: "table-scroll" }, el("table", {}, el("tr", {}, ["Metric", "Screenings (value, change)", "Beyond measurement error"].map((h) => el("th", {}, h))),
      metrics.map((m) => el("tr", {},
        el("td", {}, `${m.label} (${UNIT_WORDS[m.unit] || m.unit})`),
        el("td", {}, m.points.map((p) => el("div", { class: p.beyond_mdc ? "beyond" : "" },
          `${p.date}: ${fmt(p.value)}${p.change === null ? "" : ` (${p.change > 0 ? "+" : ""}${fmt(p.change)})`}`))),
        el("td", {}, m.flags.length ? m.flags.join(" ") : m.mdc === null ? "no published MDC" : `no (MDC ${fmt(m.mdc, 2)})`))))),
    el("img", { src: `${API}/athletes/${athleteId}/history.png`, alt: "Trends across screenings", class: "plot" }));
}

async function athleteView(id) {
  const [athlete, screenings, history] = await Promise.all([
    api("GET", `/athletes/${id}`), api("GET", `/athletes/${id}/screenings`), api("GET", `/athletes/${id}/history`)]);
  crumbs(["Athletes", "#/athletes"], [athlete.name]);
  const facts = [["Born", fmt(athlete.birth_year, 0)], ["Leg length left", `${fmt(athlete.leg_length_left_cm)} cm`],
    ["Leg length right", `${fmt(athlete.leg_length_right_cm)} cm`], ["Dominant leg", fmt(athlete.dominant_leg)],
    ["Injury notes", athlete.injury_notes || "—"]];
  const rows = screenings.slice().reverse().map((s) => {
    const withClip = s.tests.filter((t) => t.status !== "no_clip").length;
    return el("tr", { "data-id": s.id }, el("td", {}, s.date), el("td", {}, `${withClip} of ${PROTOCOL.length} tests filmed`),
      el("td", {}, el("a", { href: `#/screenings/${s.id}` }, "Continue screening"), " · ",
        el("a", { href: `#/screenings/${s.id}/report` }, "Report")));
  });
  const form = el("form", { id: "screening-form", class: "row" },
    el("label", {}, "Date", el("input", { id: "screening-date", type: "date", value: today(), max: today(), required: true })),
    el("label", {}, "Notes", el("input", { id: "screening-notes", maxlength: "4000" })),
    el("button", { type: "submit", id: "screening-submit" }, "Start a screening"));
  form.onsubmit = async (event) => {
    event.preventDefault();
    clearErrors(form);
    const date = $("screening-date").value;
    if (date > today()) {
      showError({ message: `The screening date ${date} is in the future.`, hint: "Use today's date or the day the screening took place." }, form);
      return;
    }
    try {
      const s = await api("POST", `/athletes/${id}/screenings`, { date, notes: $("screening-notes").value });
      location.hash = `#/screenings/${s.id}`;
    } catch (err) { showError(err, form); }
  };
  const remove = el("button", { type: "button", class: "danger", id: "athlete-delete" }, "Delete athlete and all their data");
  remove.onclick = async () => {
    if (!confirm(`Delete ${athlete.name}, every screening, clip and report?`)) return;
    try { await api("DELETE", `/athletes/${id}`); location.hash = "#/athletes"; } catch (err) { showError(err); }
  };
  showView(
    el("h2", { id: "athlete-name-title" }, athlete.name),
    el("dl", { class: "summary" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("h3", {}, "Screenings"),
    rows.length ? el("div", { class: "table-scroll" }, el("table", { id: "screenings" }, el("tr", {}, ["Date", "Tests", ""].map((h) => el("th", {}, h))), rows))
      : el("p", { class: "muted", id: "screenings" }, "No screening yet."),
    form,
    el("h3", {}, "History"), historyBlock(id, history),
    auditBlock(id),
    el("p", {}, remove));
}

// Who viewed, exported, shared or deleted this athlete's data (loaded when opened).
function auditBlock(athleteId) {
  const list = el("ul", { id: "audit-list", class: "small" });
  const block = el("details", { id: "audit" }, el("summary", {}, "Access log"), list);
  block.ontoggle = async () => {
    if (!block.open) return;
    try {
      const entries = await api("GET", `/athletes/${athleteId}/audit`);
      list.replaceChildren(...(entries.length ? entries.map((e) => el("li", {}, `${e.at.slice(0, 16).replace("T", " ")} UTC · ${e.action} · ${e.what} · by ${e.actor}`))
        : [el("li", {}, "Nothing yet.")]));
    } catch (err) { showError(err, block); }
  };
  return block;
}

function statusText(test) {
  if (test && test.status === "no_clip" && test.manual_trials.length) return "measured with a tape (no clip)";
  if (!test || test.status === "no_clip") return "not filmed";
  if (test.status === "failed") return `failed: ${(test.job && test.job.error && test.job.error.message) || "the analysis failed"}`;
  if (test.status === "queued" || test.status === "running") return `analysing… ${Math.round(((test.job && test.job.progress) || 0) * 100)} %`;
  const marker = test.job && test.job.marker_size_cm ? `, floor marker ${test.job.marker_size_cm} cm` : "";
  const held = [test.view_check, test.leg_check].some((check) => check && !check.ok);
  return `analysed (${test.file_name}${marker})${held ? ": needs your review before it is scored" : ""}`;
}

function uploadClip(test, file, bar, markerCm) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    if (markerCm) form.append("marker_size_cm", markerCm);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${API}/tests/${test.id}/clip`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; });
    xhr.addEventListener("load", () => (xhr.status === 202 ? resolve(xhr.response)
      : reject(new ApiError(xhr.status, xhr.response || {}))));
    xhr.addEventListener("error", () => reject(new ApiError(0, { message: "The upload was interrupted.", hint: "Try again." })));
    xhr.send(form);
  });
}

// A clip filmed from another view than the test needs, or whose stance/working leg reads the
// other way, is held until the clinician settles it here (PUT /tests/{id}/review).
function reviewBlock(test, card) {
  if (!test || test.status !== "done") return null;
  const review = async (body) => {
    try { await api("PUT", `/tests/${test.id}/review`, body); route(); } catch (err) { showError(err, card); }
  };
  const parts = [];
  const view = test.view_check;
  if (view && view.message) {
    parts.push(el("div", { class: view.ok ? "small muted" : "small warn" }, view.message,
      view.ok ? null : el("button", { type: "button", class: "accept-view" }, "Accept this view")));
    if (!view.ok) parts[parts.length - 1].querySelector("button").onclick = () => review({ accept_view: true });
  }
  const leg = test.leg_check;
  if (leg && leg.message) {
    const choose = (side) => el("button", { type: "button", class: `leg-${side}` }, `It was the ${side} leg`);
    const buttons = leg.ok ? [] : ["left", "right"].map(choose);
    buttons.forEach((b, k) => { b.onclick = () => review({ leg: ["left", "right"][k] }); });
    parts.push(el("div", { class: leg.ok ? "small muted" : "small warn" }, leg.message, ...buttons));
  }
  return parts.length ? el("div", { class: "review" }, ...parts) : null;
}

// One step's results, inline: the reaches (the clip's next to the tape's) for an mSEBT step,
// reps and flags for a lunge or step-up. `result` is GET /screenings/{id}/result (or null).
const reachText = (t) => `T${t.trial} ${t.cm !== null ? `${fmt(t.cm)} cm` : `${fmt(t.pct_limb)} % limb`}`
  + `${t.valid ? "" : " (invalid)"}${t.best ? " best" : ""}`;

function sebtTrials(score, step, fromTape) {
  if (!score) return [];
  const direction = score.legs[step.leg].directions[step.direction];
  return direction.trials.filter((t) => (t.cm_source === "tape") === fromTape);
}

function stepResult(step, test, result) {
  if (!result || !test) return null;
  if (step.kind === "msebt") {
    const camera = sebtTrials(result.camera_sebt || result.sebt, step, false);
    if (!camera.length) return test.status === "done" ? el("div", { class: "step-result small" }, "Camera: no trial of this leg scored yet.") : null;
    return el("div", { class: "step-result small" }, el("strong", {}, "Camera: "), camera.map(reachText).join(" · "),
      result.camera_sebt ? el("span", { class: "muted" }, " (the tape reaches below are what is scored)") : null);
  }
  const analysed = result.tests.find((r) => r.test.id === test.id);
  if (!analysed || test.status !== "done") return null;
  const flags = [...new Set(analysed.flags.map((f) => f.label))];
  return el("div", { class: "step-result small" }, el("strong", {}, "Result: "),
    `${analysed.reps} rep${analysed.reps === 1 ? "" : "s"} analysed · `, flags.length ? `flagged: ${flags.join(", ")}` : "no flag");
}

async function wizardView(id) {
  const screening = await api("GET", `/screenings/${id}`);
  const athlete = await api("GET", `/athletes/${screening.athlete_id}`);
  const scored = screening.tests.some((t) => t.status === "done" || t.manual_trials.length);
  const result = scored ? await api("GET", `/screenings/${id}/result`) : null;
  crumbs(["Athletes", "#/athletes"], [athlete.name, `#/athletes/${athlete.id}`], [`Screening ${screening.date}`]);
  const tests = new Map(screening.tests.map((t) => [testKey(t), t]));
  const skip = new Set(screening.skipped_steps || []);   // kept with the screening: a new session remembers it
  const open = (step) => { const t = tests.get(step.key); return !t || t.status === "no_clip" || t.status === "failed"; };
  const taped = (step) => { const t = tests.get(step.key); return Boolean(t && t.manual_trials.length); };
  const next = PROTOCOL.find((step) => open(step) && !taped(step) && !skip.has(step.key));
  const marker = el("input", { id: "marker-size", type: "number", min: "2", max: "100", step: "0.1", inputmode: "decimal",
    class: "num-input", value: sessionStorage.getItem(markerKey(id)) || null });
  marker.oninput = () => sessionStorage.setItem(markerKey(id), marker.value);
  const testFor = async (step) => tests.get(step.key)
    || api("POST", `/screenings/${id}/tests`, { kind: step.kind, leg: step.leg, direction: step.direction });

  const stepCard = (step, index) => {
    const test = tests.get(step.key);
    const card = el("li", {});
    const file = el("input", { type: "file", accept: "video/*", class: "clip-input", "aria-label": `Clip for ${step.title}` });
    const bar = el("progress", { max: "1", value: "0", hidden: true });
    const button = el("button", { type: "button", class: "upload" }, test && test.status !== "no_clip" ? "Replace clip" : "Upload clip");
    button.onclick = async () => {
      clearErrors(card);
      if (!file.files[0]) { showError({ message: "Choose the clip first.", hint: step.camera }, card); return; }
      if (step.kind === "msebt" && !marker.reportValidity()) return;
      button.disabled = true; bar.hidden = false;
      try {
        await uploadClip(await testFor(step), file.files[0], bar, step.kind === "msebt" ? marker.value : "");
        route();
      } catch (err) { button.disabled = false; bar.hidden = true; showError(err, card); }
    };
    const skipButton = el("button", { type: "button", class: "link skip" }, skip.has(step.key) ? "Do it now" : "Skip for now");
    skipButton.onclick = async () => {
      const steps = new Set(skip);
      if (skip.has(step.key)) steps.delete(step.key); else steps.add(step.key);
      try { await api("PATCH", `/screenings/${id}`, { skipped_steps: [...steps] }); route(); } catch (err) { showError(err, card); }
    };

    let tape = null;
    if (step.kind === "msebt") {   // reaches measured with a tape, in cm, next to the camera's
      const manual = test ? test.manual_trials : [];
      const inputs = [1, 2, 3].map((n) => el("input", { type: "number", class: "num-input tape-cm", min: "1", max: "250",
        step: "0.5", inputmode: "decimal", "aria-label": `Tape reach, trial ${n}, cm`,
        value: (manual.find((t) => t.trial === n) || {}).reach_cm ?? null }));
      const save = el("button", { type: "button", class: "save-tape" }, "Save tape reaches");
      save.onclick = async () => {
        clearErrors(card);
        if (!inputs.every((input) => input.reportValidity())) return;
        const trials = inputs.map((input, k) => ({ trial: k + 1, reach_cm: input.value === "" ? null : Number(input.value) }))
          .filter((t) => t.reach_cm !== null);
        try { await api("PUT", `/tests/${(await testFor(step)).id}/manual-trials`, trials); route(); } catch (err) { showError(err, card); }
      };
      const scoredTape = result ? sebtTrials(result.sebt, step, true) : [];
      tape = el("div", { class: "row tape" }, el("span", { class: "small" }, el("strong", {}, "Tape, cm: "), "T1–T3"), ...inputs, save,
        scoredTape.length ? el("span", { class: "small muted tape-scored" }, `scored: ${scoredTape.map(reachText).join(" · ")}`) : null);
    }

    const notes = el("textarea", { class: "test-notes", rows: "2", maxlength: "4000", "aria-label": `Note on ${step.title}` });
    notes.value = test ? test.notes || "" : "";
    const saveNotes = el("button", { type: "button", class: "save-notes" }, "Save note");
    const saved = el("span", { class: "small muted notes-saved" });
    saveNotes.onclick = async () => {
      clearErrors(card);
      try {
        const t = await testFor(step);
        await api("PUT", `/tests/${t.id}/notes`, { notes: notes.value });
        saved.textContent = "Saved.";
        if (!tests.has(step.key)) route();
      } catch (err) { showError(err, card); }
    };
    const noteBox = el("details", { class: "notes", open: notes.value ? true : null },
      el("summary", { class: "small" }, notes.value ? "Note on this test" : "Add a note on this test"), notes,
      el("div", { class: "row" }, saveNotes, saved));

    const state = !test || test.status === "no_clip" ? (taped(step) ? "measured" : skip.has(step.key) ? "skipped" : "todo")
      : test.status;
    card.className = `step ${state}${step === next ? " next" : ""}`;
    card.dataset.step = step.key;
    card.dataset.status = state;
    card.append(
      el("div", { class: "row spread" }, el("strong", {}, `${index + 1}. ${step.title}`), el("span", { class: "status" }, statusText(test))),
      el("div", { class: "small" }, step.what), el("div", { class: "small muted" }, step.camera),
      ...[reviewBlock(test, card), stepResult(step, test, result), tape].filter(Boolean),
      el("div", { class: "row" }, file, button, open(step) ? skipButton : null), bar, noteBox);
    return card;
  };

  const busy = screening.tests.some((t) => t.status === "queued" || t.status === "running");
  const done = screening.tests.filter((t) => t.status === "done").length;
  showView(
    el("h2", {}, `Screening of ${athlete.name}, ${screening.date}`),
    next ? el("div", { id: "next-step", class: "card next", "data-step": next.key },
      el("div", {}, el("strong", {}, "Next: "), next.title), el("div", {}, next.what), el("div", {}, el("strong", {}, next.camera)))
      : el("div", { id: "next-step", class: "card", "data-step": "" }, "Every test is filmed or skipped. ",
        busy ? "Some are still being analysed." : "Open the report."),
    el("p", {}, `${done} of ${PROTOCOL.length} tests analysed. `, el("a", { href: `#/screenings/${id}/report`, id: "report-link" }, "Open the report")),
    el("div", { class: "row" }, el("label", {}, "Printed floor marker side, cm", marker),
      el("span", { class: "muted small" }, "optional: the anterior reach in cm from the marker, filmed from the side (other reaches use the athlete's leg lengths)")),
    el("ol", { id: "steps", class: "steps" }, PROTOCOL.map(stepCard)));
  if (busy) pollTimer = setTimeout(() => pollWizard(id), POLL_MS);
}

// While clips are analysed, update their status lines in place (a full redraw would drop clips
// the clinician has chosen for other steps); redraw once nothing is chosen.
async function pollWizard(id) {
  let screening;
  try { screening = await api("GET", `/screenings/${id}`); } catch (err) { return; }
  const chosen = [...document.querySelectorAll(".clip-input")].some((input) => input.files.length);
  const busy = screening.tests.some((t) => t.status === "queued" || t.status === "running");
  if (!chosen && (!busy || screening.tests.some((t) => {
    const li = document.querySelector(`li.step[data-step="${testKey(t)}"]`);
    return li && li.dataset.status !== t.status && t.status !== "no_clip";  // a test with only tape or a note has no clip
  }))) { route(); return; }
  for (const t of screening.tests) {
    const li = document.querySelector(`li.step[data-step="${testKey(t)}"]`);
    if (li) li.querySelector(".status").textContent = statusText(t);
  }
  if (busy) pollTimer = setTimeout(() => pollWizard(id), POLL_MS);
}

async function reportView(id) {
  const result = await api("GET", `/screenings/${id}/result`);
  crumbs(["Athletes", "#/athletes"], [result.athlete.name, `#/athletes/${result.athlete.id}`],
    [`Screening ${result.screening.date}`, `#/screenings/${id}`], ["Report"]);
  const share = el("button", { type: "button", id: "share" }, "Share with the athlete (14 days)");
  const shareOut = el("span", { id: "share-url", class: "small" });
  const withHistory = el("input", { type: "checkbox", id: "share-history" });
  const withNotes = el("input", { type: "checkbox", id: "share-notes" });
  share.onclick = async () => {
    try {
      const link = await api("POST", `/screenings/${id}/share`,
        { days: 14, include_history: withHistory.checked, include_notes: withNotes.checked });
      const url = new URL(link.url, location.href).href;
      shareOut.replaceChildren("Read-only link (shown once): ", el("a", { href: url, target: "_blank" }, url),
        ` — expires ${link.expires_at.slice(0, 10)}`);
    } catch (err) { showError(err); }
  };
  showView(
    el("div", { class: "row spread" }, el("h2", {}, `Report: ${result.athlete.name}, ${result.screening.date}`),
      el("div", {}, el("a", { href: `${API}/screenings/${id}/report.pdf`, id: "report-pdf" }, "PDF"), " · ",
        el("a", { href: `${API}/screenings/${id}/metrics.csv` }, "metrics.csv"), " · ",
        el("a", { href: `${API}/screenings/${id}/report`, target: "_blank" }, "Open in a new tab"))),
    result.pending.length ? el("p", { class: "warnings", id: "pending" },
      `${result.pending.length} test(s) still being analysed: the report shows what is finished and updates itself.`) : null,
    el("p", { class: "row" }, share, el("label", { class: "small" }, withHistory, " with earlier screenings"),
      el("label", { class: "small" }, withNotes, " with injury and screening notes"), shareOut),
    el("iframe", { id: "report-frame", src: `${API}/screenings/${id}/report`, title: "Screening report" }));
  if (result.pending.length) pollTimer = setTimeout(route, POLL_MS * 2);
}

// ---- routing -----------------------------------------------------------------------------
async function route() {
  clearTimeout(pollTimer);
  const hash = location.hash || "#/athletes";
  let match;
  try {
    if (hash === "#/login") return await loginView();
    const me = await api("GET", "/auth/me");
    $("who-name").textContent = me.name || me.email;
    $("who").hidden = false;
    if ((match = hash.match(/^#\/athletes\/([\w-]+)$/))) await athleteView(match[1]);
    else if ((match = hash.match(/^#\/screenings\/([\w-]+)\/report$/))) await reportView(match[1]);
    else if ((match = hash.match(/^#\/screenings\/([\w-]+)$/))) await wizardView(match[1]);
    else await athletesView();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError(err);
  }
}

window.addEventListener("hashchange", () => { $("error-box").hidden = true; route(); });
$("logout").onclick = async () => {
  try { await api("POST", "/auth/logout"); } catch (err) { /* already logged out */ }
  location.hash = "#/login";
};
route();
