// The page: sign-in, uploads with progress, live status, my images, search, detail, re-analysis and delete.
import { Auth } from "./lib/auth.js";
import { Api, uploadRefusal, uploadToS3 } from "./lib/api.js";
import { card, detailInfo, displayName, el, errorText, figure, formatBytes, topLabels } from "./lib/render.js";

const MAX_BYTES = 15 * 1024 * 1024;
const TYPES = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png" };
const PARALLEL_UPLOADS = 3;
const PAGE_SIZE = 24;
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
const POLL_GIVE_UP_MS = 10 * 60 * 1000;
const FEATURES_KEY = "imagePipeline.features";

const $ = (selector) => document.querySelector(selector);

const state = {
  api: null,
  auth: null,
  images: new Map(), // imageId -> result document, for the gallery and the detail view
  order: [], // imageIds in gallery order
  urls: new Map(), // imageId -> {url, expiresAt}
  revealed: new Set(), // unsafe images the user chose to see
  polls: new Map(), // imageId -> timeout id
  query: {},
  nextToken: null,
  listing: 0, // counts gallery loads: the answer of a load that a newer one replaced is dropped
  detailId: null,
  uploadQueue: [],
  activeUploads: 0,
};

// ---------- notices ----------
let noticeTimer;
function notify(message, { error = false } = {}) {
  const notice = $("#notice");
  notice.textContent = message;
  notice.classList.toggle("error", error);
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    notice.hidden = true;
  }, error ? 10000 : 4000);
}

// ---------- start ----------
async function start() {
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
    config = await response.json();
  } catch (error) {
    $("#loading").textContent = `The page cannot start: config.json is missing or invalid (${error.message}).`;
    $("#loading").classList.add("error");
    return;
  }
  state.auth = new Auth(config);
  state.api = new Api(config.apiUrl, state.auth, { onSignedOut: showSignIn });
  $("#loading").hidden = true;
  wireSignIn();
  wireUploads();
  wireGallery();
  wireDetail();
  if (state.auth.signedIn) showApp();
  else showSignIn();
}

// ---------- sign-in ----------
let challenge = null;

function showSignIn(message) {
  state.listing += 1;
  for (const id of state.polls.values()) clearTimeout(id);
  state.polls.clear();
  state.images.clear();
  state.order = [];
  state.urls.clear();
  $("#gallery").replaceChildren();
  $("#upload-list").replaceChildren();
  if ($("#detail").open) $("#detail").close();
  $("#app-view").hidden = true;
  $("#account").hidden = true;
  $("#signin-view").hidden = false;
  $("#signin-form").hidden = false;
  $("#new-password-form").hidden = true;
  showSignInError(typeof message === "string" ? message : "");
  $("#username").focus();
}

function showSignInError(message) {
  $("#signin-error").textContent = message;
  $("#signin-error").hidden = !message;
}

function wireSignIn() {
  $("#signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("#username").value.trim();
    const password = $("#password").value;
    if (!username || !password) return showSignInError("Enter your username and password.");
    await busy(event.submitter, async () => {
      try {
        const outcome = await state.auth.signIn(username, password);
        $("#password").value = "";
        if (outcome.challenge) {
          challenge = outcome;
          $("#challenge-username").value = outcome.username;
          $("#signin-form").hidden = true;
          $("#new-password-form").hidden = false;
          showSignInError("");
          $("#new-password").focus();
        } else {
          showApp();
        }
      } catch (error) {
        showSignInError(error.message);
      }
    });
  });

  $("#new-password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = $("#new-password").value;
    if (password.length < 8) return showSignInError("Choose a password of at least 8 characters.");
    if (password !== $("#new-password-again").value) return showSignInError("The two passwords differ.");
    await busy(event.submitter, async () => {
      try {
        await state.auth.completeNewPassword(challenge, password);
        challenge = null;
        event.target.reset();
        showApp();
      } catch (error) {
        showSignInError(error.message);
      }
    });
  });

  $("#sign-out").addEventListener("click", () => {
    state.auth.signOut();
    showSignIn("You are signed out.");
  });
}

function showApp() {
  $("#signin-view").hidden = true;
  $("#app-view").hidden = false;
  $("#account").hidden = false;
  $("#who").textContent = state.auth.displayName;
  showSignInError("");
  loadGallery();
}

async function busy(button, work) {
  if (button) button.disabled = true;
  try {
    await work();
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------- uploads ----------
function selectedFeatures() {
  return [...document.querySelectorAll('input[name="feature"]:checked')].map((input) => input.value);
}

function wireUploads() {
  const saved = JSON.parse(localStorage.getItem(FEATURES_KEY) || "null");
  if (Array.isArray(saved)) {
    for (const input of document.querySelectorAll('input[name="feature"]')) input.checked = saved.includes(input.value);
  }
  $("#features").addEventListener("change", () => localStorage.setItem(FEATURES_KEY, JSON.stringify(selectedFeatures())));

  const input = $("#file-input");
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });
  const zone = $("#dropzone");
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const type of ["dragleave", "dragend", "drop"]) zone.addEventListener(type, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    addFiles(event.dataTransfer.files);
  });
  // A file dropped next to the zone must not make the browser leave the page to open it.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  $("#clear-uploads").addEventListener("click", () => {
    for (const item of document.querySelectorAll("#upload-list > li")) {
      if (["done", "failed"].includes(item.dataset.state)) item.remove();
    }
    $("#clear-uploads").hidden = true;
  });
}

function contentTypeOf(file) {
  if (Object.values(TYPES).includes(file.type)) return file.type;
  return TYPES[file.name.split(".").pop().toLowerCase()] || "";
}

function addFiles(fileList) {
  const features = selectedFeatures();
  if (!features.length) {
    notify("Choose at least one thing to look for.", { error: true });
    return;
  }
  for (const file of fileList) {
    const item = uploadItem(file);
    $("#upload-list").prepend(item.node);
    const type = contentTypeOf(file);
    if (!type) item.fail("Only JPEG and PNG images can be analysed.");
    else if (file.size === 0) item.fail("The file is empty.");
    else if (file.size > MAX_BYTES) item.fail(`The file is ${formatBytes(file.size)}; the limit is 15 MB.`);
    else state.uploadQueue.push({ file: new File([file], file.name, { type }), features, item });
  }
  pumpUploads();
}

function uploadItem(file) {
  const progress = el("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
  const status = el("span", { class: "upload-state", "data-testid": "upload-state", text: "Waiting…" });
  const node = el(
    "li",
    { class: "upload", "data-testid": "upload-item", "data-state": "waiting" },
    el("span", { class: "upload-name", text: file.name }),
    el("span", { class: "muted small", text: formatBytes(file.size) }),
    progress,
    status,
  );
  const set = (stateName, text) => {
    node.dataset.state = stateName;
    status.textContent = text;
    if (["done", "failed"].includes(stateName)) $("#clear-uploads").hidden = false;
  };
  return {
    node,
    progress: (fraction) => {
      progress.value = Math.round(fraction * 100);
      set("uploading", `Uploading ${progress.value}%`);
    },
    analysing: (imageId) => {
      node.dataset.imageId = imageId;
      progress.value = 100;
      set("analysing", "Analysing…");
    },
    finish: (result) => {
      if (result.status === "FAILED") {
        set("failed", `Failed: ${errorText(result.error)}`);
      } else {
        const labels = topLabels(result, 3).map((l) => l.name);
        set("done", labels.length ? `Done: ${labels.join(", ")}` : "Done");
      }
      if (!node.querySelector(".upload-open")) {
        node.append(el("button", { type: "button", class: "secondary upload-open", text: "Open", onclick: () => openDetail(result.imageId) }));
      }
    },
    fail: (message) => {
      node.classList.add("failed");
      progress.remove();
      set("failed", message);
    },
  };
}

function pumpUploads() {
  while (state.activeUploads < PARALLEL_UPLOADS && state.uploadQueue.length) {
    const job = state.uploadQueue.shift();
    state.activeUploads += 1;
    runUpload(job).finally(() => {
      state.activeUploads -= 1;
      pumpUploads();
    });
  }
}

async function runUpload({ file, features, item }) {
  try {
    item.progress(0);
    const ticket = await state.api.createUpload(file, features);
    await uploadToS3(ticket.upload, file, item.progress);
    item.analysing(ticket.imageId);
    const pending = {
      imageId: ticket.imageId,
      status: "PENDING",
      filename: file.name,
      features,
      createdAt: new Date().toISOString(),
    };
    if (!state.query.label && state.query.status !== "COMPLETED" && state.query.status !== "FAILED") {
      upsertImage(pending, { prepend: true });
    }
    watch(ticket.imageId, item);
  } catch (error) {
    item.fail(uploadRefusal(error));
  }
}

// ---------- live status ----------
const watchers = new Map(); // imageId -> upload item to tell when done

function watch(imageId, item) {
  if (item) watchers.set(imageId, item);
  if (state.polls.has(imageId)) return;
  const started = Date.now();
  let delay = POLL_FIRST_MS;
  const tick = async () => {
    try {
      const result = await state.api.getImage(imageId);
      if (result.status !== "PENDING") {
        state.polls.delete(imageId);
        watchers.get(imageId)?.finish(result);
        watchers.delete(imageId);
        upsertImage(result);
        return;
      }
    } catch (error) {
      if (error.status === 404 || error.status === 401 || !state.auth.signedIn) {
        state.polls.delete(imageId);
        return;
      }
    }
    if (Date.now() - started > POLL_GIVE_UP_MS) {
      state.polls.delete(imageId);
      watchers.get(imageId)?.fail("Still analysing after 10 minutes; check My images later.");
      return;
    }
    delay = Math.min(delay * 1.5, POLL_MAX_MS);
    state.polls.set(imageId, setTimeout(tick, delay));
  };
  state.polls.set(imageId, setTimeout(tick, delay));
}

// ---------- gallery ----------
function wireGallery() {
  const slider = $("#search-confidence");
  slider.addEventListener("input", () => {
    $("#confidence-value").textContent = slider.value;
  });
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadGallery();
  });
  $("#search-clear").addEventListener("click", () => {
    $("#search-label").value = "";
    $("#search-status").value = "";
    loadGallery();
  });
  $("#load-more").addEventListener("click", (event) => busy(event.currentTarget, () => loadGallery({ more: true })));
}

function currentQuery() {
  const label = $("#search-label").value.trim();
  return {
    label: label || undefined,
    minConfidence: label ? $("#search-confidence").value : undefined,
    status: $("#search-status").value || undefined,
  };
}

async function loadGallery({ more = false } = {}) {
  const listing = more ? state.listing : ++state.listing;
  if (!more) {
    state.query = currentQuery();
    state.nextToken = null;
    state.order = [];
    state.images.clear();
    $("#gallery").replaceChildren();
    $("#gallery").setAttribute("aria-busy", "true");
  }
  try {
    const page = await state.api.listImages({ ...state.query, limit: PAGE_SIZE, nextToken: state.nextToken || undefined });
    if (listing !== state.listing) return; // a newer search (or a sign-out) replaced this one
    for (const result of page.items) upsertImage(result);
    state.nextToken = page.nextToken || null;
    $("#load-more").hidden = !state.nextToken;
    summarise();
  } catch (error) {
    if (state.auth.signedIn && listing === state.listing) notify(error.message, { error: true });
  } finally {
    if (listing === state.listing) $("#gallery").removeAttribute("aria-busy");
  }
}

function summarise() {
  const count = state.order.length;
  const { label, minConfidence, status } = state.query;
  let text = count === 0 ? "No images" : `${count}${state.nextToken ? "+" : ""} image${count === 1 ? "" : "s"}`;
  if (label) text += ` labelled “${label}” with at least ${minConfidence}% confidence`;
  if (status) text += ` (${status.toLowerCase()})`;
  $("#gallery-summary").textContent = !count && !label && !status ? "No images yet: upload one above." : `${text}.`;
}

function upsertImage(result, { prepend = false } = {}) {
  const known = state.images.get(result.imageId);
  state.images.set(result.imageId, { ...known, ...result });
  if (!state.order.includes(result.imageId)) {
    if (prepend) state.order.unshift(result.imageId);
    else state.order.push(result.imageId);
  }
  renderCard(result.imageId, { prepend });
  if (result.status === "PENDING") watch(result.imageId);
  if (state.detailId === result.imageId) renderDetail();
  summarise();
}

async function displayUrl(imageId) {
  const cached = state.urls.get(imageId);
  if (cached && Date.parse(cached.expiresAt) - Date.now() > 30_000) return cached.url;
  try {
    const link = await state.api.imageUrl(imageId);
    state.urls.set(imageId, link);
    return link.url;
  } catch {
    return "";
  }
}

async function renderCard(imageId, { prepend = false } = {}) {
  const result = state.images.get(imageId);
  const url = await displayUrl(imageId);
  const current = state.images.get(imageId);
  if (current !== result) return; // a newer version of this image is being rendered
  const node = card(result, { url, revealed: state.revealed.has(imageId), onOpen: openDetail, onReveal: reveal });
  const old = document.querySelector(`#gallery > li[data-image-id="${CSS.escape(imageId)}"]`);
  if (old) old.replaceWith(node);
  else if (prepend) $("#gallery").prepend(node);
  else insertInOrder(node, imageId);
}

function insertInOrder(node, imageId) {
  // Cards render as their links arrive; keep them in the order the API gave.
  const index = state.order.indexOf(imageId);
  const later = [...$("#gallery").children].find((child) => state.order.indexOf(child.dataset.imageId) > index);
  $("#gallery").insertBefore(node, later || null);
}

function reveal(imageId) {
  state.revealed.add(imageId);
  renderCard(imageId);
  if (state.detailId === imageId) renderDetail();
}

// ---------- detail ----------
function wireDetail() {
  const dialog = $("#detail");
  $("#detail-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    state.detailId = null;
    confirmDelete(false);
    showReanalyze(false);
  });
  // A click on the backdrop (outside the dialog's box) closes it.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  $("#box-toggles").addEventListener("change", (event) => {
    $("#detail-figure").classList.toggle(`hide-${event.target.value}`, !event.target.checked);
  });
  $("#reanalyze-button").addEventListener("click", () => showReanalyze(true));
  $("#reanalyze-cancel").addEventListener("click", () => showReanalyze(false));
  $("#reanalyze-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("#reanalyze-run"), reanalyzeCurrent);
  });
  $("#delete-button").addEventListener("click", () => confirmDelete(true));
  $("#delete-no").addEventListener("click", () => confirmDelete(false));
  $("#delete-yes").addEventListener("click", (event) => busy(event.currentTarget, deleteCurrent));
}

async function openDetail(imageId) {
  state.detailId = imageId;
  // Listings bring summaries; the detail shows the full result, fetched once the image is finished.
  const known = state.images.get(imageId);
  if (!known || (known.status !== "PENDING" && !known.results && !known.error)) {
    try {
      state.images.set(imageId, { ...known, ...(await state.api.getImage(imageId)) });
    } catch (error) {
      notify(error.message, { error: true });
      return;
    }
  }
  await renderDetail();
  const dialog = $("#detail");
  if (!dialog.open) dialog.showModal();
}

async function renderDetail() {
  const imageId = state.detailId;
  const result = state.images.get(imageId);
  if (!result) return;
  const url = await displayUrl(imageId);
  if (state.detailId !== imageId) return;
  $("#detail").dataset.imageId = imageId;
  $("#detail").dataset.status = result.status;
  $("#detail-title").textContent = displayName(result);
  $("#detail-figure").replaceChildren(figure(result, { url, captions: true, revealed: state.revealed.has(imageId), onReveal: reveal }));
  $("#detail-info").replaceChildren(...detailInfo(result));
  $("#reanalyze-button").disabled = result.status === "PENDING";
}

// ---------- re-analysis ----------
function showReanalyze(open) {
  const result = state.images.get(state.detailId);
  if (open && result) {
    for (const input of document.querySelectorAll('input[name="reanalyze-feature"]')) {
      input.checked = result.features.includes(input.value);
    }
    $("#reanalyze-force").checked = false;
  }
  $("#reanalyze-button").hidden = open;
  $("#reanalyze-form").hidden = !open;
}

async function reanalyzeCurrent() {
  const imageId = state.detailId;
  const features = [...document.querySelectorAll('input[name="reanalyze-feature"]:checked')].map((input) => input.value);
  if (!features.length) {
    notify("Choose at least one feature to look for.", { error: true });
    return;
  }
  let result;
  try {
    result = await state.api.reanalyzeImage(imageId, features, $("#reanalyze-force").checked);
  } catch (error) {
    notify(error.message, { error: true });
    return;
  }
  showReanalyze(false);
  upsertImage(result); // PENDING: watched until the worker has merged the new results
  notify(`Analysing ${displayName(result)} again.`);
}

function confirmDelete(asking) {
  $("#delete-button").hidden = asking;
  $("#delete-confirm").hidden = !asking;
  if (asking) $("#delete-no").focus();
}

async function deleteCurrent() {
  const imageId = state.detailId;
  const name = displayName(state.images.get(imageId) || { imageId });
  try {
    await state.api.deleteImage(imageId);
  } catch (error) {
    notify(error.message, { error: true });
    return;
  }
  clearTimeout(state.polls.get(imageId));
  state.polls.delete(imageId);
  state.images.delete(imageId);
  state.urls.delete(imageId);
  state.order = state.order.filter((id) => id !== imageId);
  document.querySelector(`#gallery > li[data-image-id="${CSS.escape(imageId)}"]`)?.remove();
  const upload = document.querySelector(`#upload-list > li[data-image-id="${CSS.escape(imageId)}"]`);
  if (upload) {
    upload.querySelector(".upload-open")?.remove();
    upload.dataset.state = "failed";
    upload.querySelector(".upload-state").textContent = "Deleted";
  }
  $("#detail").close();
  summarise();
  notify(`Deleted ${name}.`);
}

start();
