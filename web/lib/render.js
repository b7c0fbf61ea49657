// Building the DOM for results: the image with its boxes, cards, and the detail lists.
// Everything goes through textContent/attributes: no result text is ever parsed as HTML.

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

export const pct = (value) => `${Math.round(Number(value) * 10) / 10}%`;

const pc = (ratio) => `${(Math.min(Math.max(Number(ratio) || 0, 0), 1) * 100).toFixed(3)}%`;

export function displayName(result) {
  return result.filename || result.object?.key?.split("/").pop() || result.imageId;
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const STATUS_TEXT = { PENDING: "Analysing…", COMPLETED: "Completed", FAILED: "Failed" };

export function statusBadge(status) {
  return el("span", { class: `badge status-${status}`, "data-testid": "status", text: STATUS_TEXT[status] || status });
}

// Every box of a result, by kind: label instances, faces (and celebrities' faces), text lines.
export function boxesOf(result) {
  const r = result.results || {};
  const boxes = [];
  for (const label of r.labels || []) {
    for (const instance of label.instances || []) {
      if (instance.boundingBox) boxes.push({ kind: "label", box: instance.boundingBox, caption: label.name, confidence: instance.confidence });
    }
  }
  (r.faces || []).forEach((face, i) => {
    if (!face.boundingBox) return;
    const emotion = (face.emotions || [])[0];
    boxes.push({ kind: "face", box: face.boundingBox, caption: `Face ${i + 1}${emotion ? ` · ${titleCase(emotion.type)}` : ""}`, confidence: face.confidence });
  });
  for (const celebrity of r.celebrities?.celebrities || []) {
    if (celebrity.boundingBox) boxes.push({ kind: "face", box: celebrity.boundingBox, caption: celebrity.name, confidence: celebrity.confidence });
  }
  for (const line of r.text?.lines || []) {
    if (line.boundingBox) boxes.push({ kind: "text", box: line.boundingBox, caption: line.text, confidence: line.confidence });
  }
  return boxes;
}

// The image with an SVG overlay whose boxes are placed in percent of the image, so they follow any size.
// An image flagged unsafe is blurred behind a button until the viewer chooses to see it.
export function figure(result, { url, captions = false, revealed = false, onReveal } = {}) {
  const facts = result.image || {};
  const img = el("img", {
    alt: `${displayName(result)}`,
    src: url || undefined,
    width: facts.width,
    height: facts.height,
    decoding: "async",
    loading: "lazy",
  });
  const overlay = svg("svg", { class: "overlay", "aria-hidden": "true", "data-testid": "overlay" });
  for (const { kind, box, caption, confidence } of boxesOf(result)) {
    const group = svg("g", { class: `box box-${kind}`, "data-kind": kind });
    const rect = svg("rect", { x: pc(box.left), y: pc(box.top), width: pc(box.width), height: pc(box.height), rx: 2 });
    const title = svg("title");
    title.textContent = `${caption}${confidence ? ` (${pct(confidence)})` : ""}`;
    rect.append(title);
    group.append(rect);
    if (captions && kind !== "text") {
      // Faces are captioned at their top edge, labels at their bottom edge: a label box that is also a
      // face (Person) keeps both captions readable.
      const edge = kind === "face" ? { y: pc(box.top), dy: "1.1em" } : { y: pc(Number(box.top) + Number(box.height)), dy: "-0.4em" };
      const text = svg("text", { x: pc(box.left), dx: 4, ...edge });
      text.textContent = caption;
      group.append(text);
    }
    overlay.append(group);
  }
  // A listing's summary carries the flag; a full result (GET /images/{id}) carries moderation's answer.
  const unsafe = Boolean(result.moderationFlagged || result.results?.moderation?.unsafe) && !revealed;
  const node = el("figure", { class: `viewer${unsafe ? " unsafe" : ""}`, "data-image-id": result.imageId }, img, overlay);
  img.addEventListener("error", () => node.classList.add("missing"));
  if (unsafe) {
    node.append(
      el(
        "button",
        {
          type: "button",
          class: "reveal",
          "data-testid": "reveal",
          onclick: (event) => {
            event.stopPropagation();
            node.classList.remove("unsafe");
            event.currentTarget.remove();
            onReveal?.(result.imageId);
          },
        },
        el("strong", { text: "Sensitive content" }),
        el("span", { text: "Select to show" }),
      ),
    );
  }
  return node;
}

// The most confident labels: a listing's summary names them (topLabels), a full result has them all.
export function topLabels(result, count) {
  return (result.topLabels || result.results?.labels || []).slice(0, count);
}

export function card(result, { url, revealed, onOpen, onReveal }) {
  const labels = topLabels(result, 4);
  const summary =
    result.status === "FAILED"
      ? el("p", { class: "error small", "data-testid": "card-error", text: errorText(result.error) })
      : result.status === "COMPLETED"
        ? el("p", { class: "small muted", text: labels.length ? labels.map((l) => `${l.name} ${pct(l.confidence)}`).join(", ") : "No labels" })
        : el("p", { class: "small muted", text: "Waiting for the analysis…" });
  const open = () => onOpen(result.imageId);
  // The picture opens the detail on a click; keyboard and screen-reader users have the name's button.
  // (No button around the picture: the blurred picture of an unsafe image holds its own button.)
  return el(
    "li",
    { class: "card", "data-testid": "image-card", "data-image-id": result.imageId, "data-status": result.status },
    el("div", { class: "card-media", onclick: open }, figure(result, { url, revealed, onReveal })),
    el(
      "div",
      { class: "card-body" },
      el("button", { type: "button", class: "card-open name", "data-testid": "card-open", onclick: open, title: "Show the results", text: displayName(result) }),
      statusBadge(result.status),
      summary,
    ),
  );
}

export function errorText(error) {
  if (!error) return "Failed";
  return `${error.message || "Failed"}${error.code ? ` (${error.code})` : ""}`;
}

function titleCase(word) {
  const lower = String(word).toLowerCase();
  return lower.charAt(0).toUpperCase() + lower.slice(1);
}

function section(title, testid, ...content) {
  return el("section", { class: "result-section", "data-testid": testid }, el("h3", { text: title }), ...content);
}

function empty(text) {
  return el("p", { class: "muted", text });
}

function confidenceRow(name, confidence, extra) {
  return el(
    "li",
    {},
    el("span", { class: "row-name", text: name }),
    el("meter", { min: 0, max: 100, value: confidence, "aria-hidden": "true" }),
    el("span", { class: "row-value", text: pct(confidence) }),
    extra ? el("span", { class: "row-extra", text: extra }) : null,
  );
}

// The lists under the image: facts, then one section per requested feature.
export function detailInfo(result) {
  const facts = result.image;
  const parts = [
    el(
      "dl",
      { class: "facts" },
      el("dt", { text: "Status" }),
      el("dd", {}, statusBadge(result.status)),
      facts ? [el("dt", { text: "Image" }), el("dd", { text: `${facts.format} · ${facts.width} × ${facts.height} px · ${formatBytes(facts.sizeBytes)}` })] : null,
      el("dt", { text: "Uploaded" }),
      el("dd", { text: new Date(result.createdAt).toLocaleString() }),
      el("dt", { text: "Looked for" }),
      el("dd", { text: (result.features || []).join(", ") }),
    ),
  ];
  if (result.status === "FAILED") {
    parts.push(section("Error", "detail-error", el("p", { class: "error", text: errorText(result.error) })));
    return parts;
  }
  if (result.status !== "COMPLETED") {
    parts.push(empty("The analysis is running; this view updates by itself."));
    return parts;
  }
  const r = result.results || {};
  const asked = new Set(result.features || Object.keys(r));
  if (asked.has("labels")) parts.push(labelsSection(r.labels || []));
  if (asked.has("text")) parts.push(textSection(r.text || {}));
  if (asked.has("faces")) parts.push(facesSection(r.faces || []));
  if (asked.has("moderation")) parts.push(moderationSection(r.moderation || {}));
  if (asked.has("celebrities")) parts.push(celebritiesSection(r.celebrities || {}));
  return parts;
}

function labelsSection(labels) {
  if (!labels.length) return section("Labels", "detail-labels", empty("No labels found."));
  return section(
    "Labels",
    "detail-labels",
    el(
      "ol",
      { class: "rows" },
      labels.map((label) => {
        const boxes = (label.instances || []).length;
        const extra = [(label.parents || []).join(" · "), boxes ? `${boxes} box${boxes > 1 ? "es" : ""}` : ""].filter(Boolean).join(" — ");
        return confidenceRow(label.name, label.confidence, extra);
      }),
    ),
  );
}

function textSection(text) {
  const lines = text.lines || [];
  if (!lines.length) return section("Text", "detail-text", empty("No text found."));
  return section("Text", "detail-text", el("ol", { class: "rows text-lines" }, lines.map((line) => confidenceRow(line.text, line.confidence))));
}

function facesSection(faces) {
  if (!faces.length) return section("Faces", "detail-faces", empty("No faces found."));
  return section(
    "Faces",
    "detail-faces",
    el(
      "ol",
      { class: "faces" },
      faces.map((face, i) => {
        const facts = [];
        if (face.ageRange) facts.push(`age ${face.ageRange.low}–${face.ageRange.high}`);
        if (face.gender?.value) facts.push(String(face.gender.value).toLowerCase());
        if (face.smile?.value) facts.push("smiling");
        if (face.eyeglasses?.value) facts.push("glasses");
        if (face.sunglasses?.value) facts.push("sunglasses");
        if (face.eyesOpen) facts.push(face.eyesOpen.value ? "eyes open" : "eyes closed");
        if (face.mouthOpen?.value) facts.push("mouth open");
        if (face.pose) facts.push(`yaw ${Math.round(face.pose.yaw)}°, pitch ${Math.round(face.pose.pitch)}°`);
        const emotions = (face.emotions || []).slice(0, 3).map((e) => `${titleCase(e.type)} ${pct(e.confidence)}`);
        return el(
          "li",
          {},
          el("strong", { text: `Face ${i + 1}` }),
          ` ${pct(face.confidence)}${facts.length ? ` · ${facts.join(", ")}` : ""}`,
          el("br"),
          el("span", { class: "muted", text: emotions.length ? `Emotions: ${emotions.join(", ")}` : "Emotions: not available" }),
        );
      }),
    ),
  );
}

function moderationSection(moderation) {
  const labels = moderation.labels || [];
  const verdict = moderation.unsafe
    ? el("p", { class: "badge status-FAILED", text: "Flagged as unsafe" })
    : el("p", { class: "muted", text: labels.length ? "Not flagged as unsafe." : "Nothing flagged." });
  return section(
    "Moderation",
    "detail-moderation",
    verdict,
    labels.length ? el("ol", { class: "rows" }, labels.map((l) => confidenceRow(l.name, l.confidence, l.parentName || ""))) : null,
  );
}

function celebritiesSection(celebrities) {
  const known = celebrities.celebrities || [];
  const unknown = (celebrities.unrecognizedFaces || []).length;
  return section(
    "Celebrities",
    "detail-celebrities",
    known.length
      ? el(
          "ol",
          { class: "rows" },
          known.map((c) => {
            const link = (c.urls || [])[0];
            const row = confidenceRow(c.name, c.confidence);
            if (link) row.append(el("a", { href: /^https?:\/\//.test(link) ? link : `https://${link}`, rel: "noopener noreferrer", target: "_blank", text: "more" }));
            return row;
          }),
        )
      : empty("No celebrity recognised."),
    unknown ? empty(`${unknown} other face${unknown > 1 ? "s" : ""} not recognised.`) : null,
  );
}
