// The page `docseal web` writes: the user interface and `window.docsealVerify`. Verification
// runs in a worker, in docseal's own verifier compiled to WebAssembly. Nothing from a bundle is
// ever parsed as HTML: every text from it is set with textContent.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const pinned = JSON.parse($("docseal-pinned").textContent);
  const workerURL = URL.createObjectURL(
    new Blob([$("docseal-worker").textContent], { type: "text/javascript" })
  );
  const wasm = (function () {
    const s = atob($("docseal-wasm").textContent.trim());
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    return b;
  })();
  const modulePromise = WebAssembly.compile(wasm);

  // ---- the worker ----
  let worker = null;
  let nextId = 1;
  const pending = new Map();
  function failAll(why) {
    for (const p of pending.values()) p.reject(new Error(why));
    pending.clear();
  }
  function stopWorker() {
    if (worker) worker.terminate();
    worker = null;
  }
  function startWorker(module) {
    worker = new Worker(workerURL);
    worker.onmessage = function (ev) {
      const m = ev.data;
      const p = pending.get(m.id);
      if (!p) return;
      if (m.progress) {
        if (p.onProgress) p.onProgress(m.progress[0], m.progress[1]);
        return;
      }
      pending.delete(m.id);
      if (m.error !== undefined) {
        // A trap leaves the instance unusable: the next call gets a fresh worker.
        if (m.fatal) stopWorker();
        p.reject(new Error(m.error));
      } else {
        p.resolve(m.result);
      }
    };
    worker.onerror = function (ev) {
      ev.preventDefault();
      stopWorker();
      failAll("the verifier stopped: " + (ev.message || "unknown error"));
    };
    worker.postMessage({ module: module });
  }
  async function call(msg, onProgress) {
    const module = await modulePromise;
    if (!worker) startWorker(module);
    return new Promise(function (resolve, reject) {
      const id = nextId++;
      pending.set(id, { resolve: resolve, reject: reject, onProgress: onProgress });
      msg.id = id;
      worker.postMessage(msg);
    });
  }
  function config(added) {
    return JSON.stringify({ pinned: pinned, added: added });
  }

  // ---- for tests and other pages ----
  // docsealVerify(bytes, keys): bytes a Uint8Array, keys public key lines or .pub texts (added
  // to the keys pinned in this page). Resolves to the same object as one `docseal verify
  // --json` bundle record. options.name: the record's `path` (default "bundle.zip").
  window.docsealVerify = async function (bytes, keys, options) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("docsealVerify: bytes must be a Uint8Array");
    const added = Array.from(keys || [], String);
    const label = (options && options.name) || "bundle.zip";
    const out = JSON.parse(await call({ op: "bytes", bytes: bytes, label: label, config: config(added) }));
    return JSON.parse(out.record);
  };

  // ---- keys ----
  const added = [];
  let keyView = [];
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  async function refreshKeys(candidate) {
    const list = candidate ? added.concat([candidate]) : added;
    const view = JSON.parse(await call({ op: "keys", config: config(list) }));
    if (candidate) added.push(candidate);
    keyView = view;
    const ul = $("key-list");
    ul.replaceChildren();
    for (const k of view) {
      const li = el("li");
      li.append(el("span", k.source === "pinned" ? "[pinned] " : "[ADDED BY HAND] ", "tag"));
      li.append(" key ");
      li.append(el("span", k.key_id, "mono"));
      if (k.name) li.append(" (" + k.name + ")");
      if (!k.signer) li.append(" (archive key only)");
      li.append(el("br"));
      li.append("fingerprint ");
      li.append(el("span", k.fingerprint, "mono"));
      ul.append(li);
    }
    $("keys-none").hidden = view.some((k) => k.source === "pinned");
  }
  async function addKey(text) {
    $("key-error").textContent = "";
    try {
      await refreshKeys(text);
      $("key-text").value = "";
      if (current) await verifyFile(current);
    } catch (e) {
      $("key-error").textContent = "Key not added: " + e.message;
    }
  }
  $("key-add").addEventListener("click", () => addKey($("key-text").value));
  $("key-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    ev.target.value = "";
    if (!f) return;
    if (f.size > 4096) {
      $("key-error").textContent = "Key not added: " + f.name + " is larger than a public key file";
      return;
    }
    await addKey(await f.text());
  });

  // ---- verifying a file ----
  let current = null;
  const progress = $("progress");
  const progressText = $("progress-text");
  async function verifyFile(file) {
    current = file;
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = "Verifying " + file.name + "…";
    let out;
    try {
      out = JSON.parse(await call({ op: "file", file: file, label: file.name, config: config(added) }, (done, total) => {
        progress.value = total > 0 ? done / total : 1;
        progressText.textContent = "Verifying " + file.name + ": " + Math.floor((100 * done) / Math.max(total, 1)) + " %";
      }));
    } catch (e) {
      out = { error: e.message };
    }
    if (current !== file) return;
    progress.value = 1;
    progress.hidden = true;
    progressText.textContent = "";
    await render(file, out);
  }

  const VERDICT = {
    passed: "✓ PASSED: the bundle is intact and signed by a trusted key.",
    failed: "✗ FAILED: the bundle did not pass verification. Do not rely on its content.",
    untrusted: "⚠ SIGNATURE VALID, KEY NOT TRUSTED: the bundle is intact and its signature checks out, but with a key that is not trusted here.",
  };

  function section(title) {
    const s = el("section");
    s.append(el("h3", title));
    $("details").append(s);
    return s;
  }
  function row(dl, name, value) {
    if (value === undefined || value === null || value === "") return;
    dl.append(el("dt", name));
    dl.append(el("dd", value));
  }
  function size(n) {
    return n.toLocaleString("en") + " bytes";
  }

  async function render(file, out) {
    $("result").hidden = false;
    const verdict = $("verdict");
    const details = $("details");
    details.replaceChildren();
    if (out.error) {
      verdict.className = "failed";
      verdict.textContent = "✗ FAILED: could not verify " + file.name + ": " + out.error;
      verdict.focus();
      return;
    }
    const r = JSON.parse(out.record);
    const keys = new Map(out.keys.map((k) => [k.fingerprint, k]));
    const byHand = r.signers.some((s) => s.status === "trusted" && keys.has(s.fingerprint) && keys.get(s.fingerprint).source === "added");
    verdict.className = out.verdict;
    verdict.textContent = VERDICT[out.verdict] + (out.verdict === "passed" && byHand ? " Note: the trusted key was ADDED BY HAND in this page, not pinned in it." : "");
    verdict.dataset.verdict = out.verdict;

    const about = section("Bundle");
    const dl0 = el("dl");
    row(dl0, "File", file.name + " (" + size(file.size) + ")");
    row(dl0, "Content SHA-256", r.content_sha256);
    row(dl0, "Format", "docseal bundle v" + r.format);
    about.append(dl0);

    const m = r.metadata;
    if (m) {
      const s = section("Metadata (as the signer states it)");
      const dl = el("dl");
      row(dl, "Headline", m.headline);
      row(dl, "Authors", (m.author || []).join("; "));
      row(dl, "Publisher", m.publisher);
      row(dl, "Published", m.datePublished);
      row(dl, "Source URL", m.url);
      row(dl, "Retrieved", m.dateRetrieved);
      row(dl, "Sealed", m.dateSealed + " (as asserted by the signer)");
      row(dl, "Sealed with", m.sealedWith);
      row(dl, "Bundle id", m.id);
      if (m.supersedes) row(dl, "Supersedes", m.supersedes.id + " (content SHA-256 " + m.supersedes.sha256 + ")");
      s.append(dl);
    }

    const sg = section("Signatures");
    const ul = el("ul");
    if (r.signers.length === 0) ul.append(el("li", "none"));
    for (const x of r.signers) {
      const k = x.fingerprint ? keys.get(x.fingerprint) : undefined;
      const li = el("li");
      li.append(el("span", x.status.replace("_", " ").toUpperCase(), "tag"));
      li.append(" " + x.file + ": key ");
      li.append(el("span", x.key_id, "mono"));
      if (x.name) li.append(" (" + x.name + ")");
      if (k) li.append(k.source === "pinned" ? ", pinned in this page" : ", a key ADDED BY HAND");
      ul.append(li);
    }
    sg.append(ul);

    if (r.timestamps && r.timestamps.length) {
      const ts = section("Timestamps (RFC 3161)");
      const tl = el("ul");
      for (const t of r.timestamps) {
        tl.append(el("li", t.file + ": " + (t.gen_time || "?") + (t.tsa ? " by " + t.tsa : "") + (t.trusted ? " (trusted TSA)" : " (TSA not trusted here)")));
      }
      ts.append(tl);
    }

    const fs = section("Findings");
    if (r.findings.length === 0) fs.append(el("p", "None: every check passed."));
    const fl = el("ul");
    for (const f of r.findings) {
      const li = el("li");
      li.append(el("span", f.severity === "warning" ? "WARNING" : "ERROR", "tag"));
      li.append(" ");
      li.append(el("code", f.code));
      li.append(" " + (f.path ? f.path + ": " : "") + f.message + ".");
      const why = out.codes[f.code];
      if (why) li.append(el("br"), el("small", why));
      fl.append(li);
    }
    fs.append(fl);

    const files = section("Files");
    const located = new Map(out.files.map((f) => [f.path, f]));
    const list = el("ul");
    for (const f of r.files) {
      const li = el("li");
      li.append(el("span", f.path, "mono"));
      li.append(" (" + size(f.size) + ")");
      const at = located.get(f.path);
      if (out.verdict === "passed" && at) {
        const b = el("button", "Download");
        b.type = "button";
        b.setAttribute("aria-label", "Download " + f.path);
        b.addEventListener("click", () => download(file, at));
        li.append(" ", b);
      }
      list.append(li);
    }
    files.append(list);
    if (out.verdict !== "passed") files.append(el("p", "Files are offered for download only from a bundle that passed."));

    if (out.verdict === "passed" && m) {
      const at = located.get(m.articleFile);
      if (at) {
        const a = section("The article (" + m.articleFile + ", shown as plain text)");
        const max = 4 << 20;
        const text = await file.slice(at.offset, at.offset + Math.min(at.size, max)).text();
        if (at.size > max) a.append(el("p", "The first 4 MiB are shown; download the file for the rest."));
        const pre = el("pre", text);
        pre.id = "article";
        pre.tabIndex = 0;
        a.append(pre);
      }
    }
    verdict.focus();
  }

  function download(file, at) {
    const name = at.path.split("/").pop() || "file";
    const url = URL.createObjectURL(file.slice(at.offset, at.offset + at.size, "application/octet-stream"));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // ---- choosing a bundle ----
  $("bundle").addEventListener("change", (ev) => {
    const f = ev.target.files[0];
    if (f) verifyFile(f);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (f) {
      $("bundle").value = "";
      verifyFile(f);
    }
  });
  // Dropping a file anywhere else must not open it in place of this page.
  window.addEventListener("dragover", (ev) => ev.preventDefault());
  window.addEventListener("drop", (ev) => ev.preventDefault());

  refreshKeys().catch((e) => {
    $("key-error").textContent = "The keys pinned in this page cannot be read: " + e.message;
  });
})();
