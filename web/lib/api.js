// The REST API (docs in README "REST API"): every call carries the Cognito IdToken.

export class ApiError extends Error {
  constructor(message, status, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body; // the answer's JSON, e.g. resetsAt of a 429 (daily image quota)
  }
}

// Why an upload was refused; a 429 with resetsAt is the daily image quota: when uploads open again, local time.
export function uploadRefusal(error) {
  const resetsAt = error.status === 429 && error.body?.resetsAt ? new Date(error.body.resetsAt) : null;
  if (!resetsAt || Number.isNaN(resetsAt.getTime())) return error.message;
  return `Daily image limit reached: you can upload again from ${resetsAt.toLocaleString()}.`;
}

// {"message": ...} from the API, or Powertools' 422 {"detail": [{"loc": [...], "msg"?, "type"}]}.
function messageOf(body, status) {
  if (body && typeof body.message === "string") return body.message;
  if (body && Array.isArray(body.detail)) {
    const parts = body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg || d.type || "invalid"}`);
    return `Invalid request (${parts.join("; ")})`;
  }
  return `The API answered ${status}.`;
}

export class Api {
  constructor(apiUrl, auth, { onSignedOut }) {
    this.base = apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`;
    this.auth = auth;
    this.onSignedOut = onSignedOut;
  }

  createUpload(file, features) {
    return this.#request("POST", "images", { body: { filename: file.name, contentType: file.type, features } });
  }

  getImage(imageId) {
    return this.#request("GET", `images/${encodeURIComponent(imageId)}`);
  }

  // {label?, minConfidence?, status?, limit?, nextToken?} -> {items, nextToken}
  listImages(query) {
    return this.#request("GET", "images", { query });
  }

  imageUrl(imageId) {
    return this.#request("GET", `images/${encodeURIComponent(imageId)}/url`);
  }

  reanalyzeImage(imageId, features, force = false) {
    return this.#request("POST", `images/${encodeURIComponent(imageId)}/reanalyze`, { body: { features, force } });
  }

  deleteImage(imageId) {
    return this.#request("DELETE", `images/${encodeURIComponent(imageId)}`);
  }

  async #request(method, path, { query, body } = {}, retried = false) {
    const url = new URL(path, this.base);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    let token;
    try {
      token = await this.auth.idToken();
    } catch (error) {
      this.onSignedOut(error.message);
      throw error;
    }
    const headers = { Authorization: token };
    if (body) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined });
    } catch {
      throw new ApiError("Cannot reach the API. Check your connection.", 0);
    }
    if (response.status === 401 && !retried) {
      // The token may have been revoked or expired early: refresh once, then give up.
      try {
        await this.auth.refresh();
      } catch (error) {
        this.onSignedOut(error.message);
        throw error;
      }
      return this.#request(method, path, { query, body }, true);
    }
    if (response.status === 401) {
      this.auth.signOut();
      this.onSignedOut("Your session has ended. Sign in again.");
      throw new ApiError("Not signed in.", 401);
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(messageOf(data, response.status), response.status, data);
    return data;
  }
}

// multipart/form-data POST to the presigned URL: every policy field first, the file last.
export function uploadToS3(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new Error(s3Message(xhr.responseText) || `The upload was refused (${xhr.status}).`));
      }
    });
    xhr.addEventListener("error", () => reject(new Error("The upload failed: network error.")));
    xhr.addEventListener("abort", () => reject(new Error("The upload was cancelled.")));
    xhr.send(form);
  });
}

function s3Message(xml) {
  try {
    const doc = new DOMParser().parseFromString(xml, "application/xml");
    const code = doc.querySelector("Code")?.textContent;
    const message = doc.querySelector("Message")?.textContent;
    if (code === "EntityTooLarge") return "The file is larger than the upload allows (15 MB).";
    return message ? `The upload was refused: ${message}` : "";
  } catch {
    return "";
  }
}
