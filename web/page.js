// The page `docseal web` writes: the user interface and `window.docsealVerify`. Verification
// runs in a worker, in docseal's own verifier compiled to WebAssembly. Nothing from a bundle is
// ever parsed as HTML: every text from it is set with textContent.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  // Inside another page (a frame) the page does nothing: the page around it could cover it, or
  // show its own verdict over this one's. A <meta> policy cannot say frame-ancestors.
  if (window.top !== window.self) {
    const notice = document.createElement("p");
    notice.id = "framed";
    notice.textContent =
      "This verifier does not run inside another page, where what it shows could be covered or changed. Open this file on its own (its address in the address bar).";
    document.querySelector("main").replaceChildren(notice);
    return;
  }
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
  // The verifier trapped (a bug, or its memory could not grow) or its worker died: that
  // instance is gone, and with it every call queued in it. Each one is rejected now (the one
  // that was running says so), and the next call starts a fresh worker.
  // `id`: the call that was running when it stopped, 0 when not known.
  function crashed(why, id) {
    stopWorker();
    for (const [k, p] of pending) {
      p.reject(
        new Error(
          k === id
            ? "the verifier stopped on this bundle: " + why
            : id
              ? "the verifier stopped (on another bundle) before this one was verified: " + why + "; verify it again"
              : "the verifier stopped: " + why + "; verify it again"
        )
      );
    }
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
      if (m.error !== undefined && m.fatal) {
        crashed(m.error, m.id);
        return;
      }
      pending.delete(m.id);
      if (m.error !== undefined) {
        p.reject(new Error(m.error));
      } else {
        p.resolve(m.result);
      }
    };
    worker.onerror = function (ev) {
      ev.preventDefault();
      crashed(ev.message || "unknown error", 0);
    };
    worker.onmessageerror = function () {
      crashed("a message from it could not be read", 0);
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
  // Bundles being verified now: a bundle chosen while another is still read stops it (its
  // worker), or it would wait until the other (a large one) was read to its end.
  let fileJobs = 0;
  const progress = $("progress");
  const progressText = $("progress-text");
  async function verifyFile(file) {
    if (fileJobs > 0) {
      stopWorker();
      failAll("another bundle was chosen");
    }
    current = file;
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = "Verifying " + file.name + "…";
    let out;
    fileJobs++;
    try {
      out = JSON.parse(await call({ op: "file", file: file, label: file.name, config: config(added) }, (done, total) => {
        progress.value = total > 0 ? done / total : 1;
        progressText.textContent = "Verifying " + file.name + ": " + Math.floor((100 * done) / Math.max(total, 1)) + " %";
      }));
    } catch (e) {
      out = { error: e.message };
    } finally {
      fileJobs--;
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
        b.addEventListener("click", () => download(file, at, f.sha256, li));
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
        const want = r.files.find((f) => f.path === m.articleFile);
        const got = await readVerified(file, at, want && want.sha256, max);
        if (current !== file) return;
        if (!got) {
          a.append(el("p", CHANGED, "changed"));
        } else {
          const text = new TextDecoder().decode(await new Blob(got).arrayBuffer());
          if (at.size > max) a.append(el("p", "The first 4 MiB are shown; download the file for the rest."));
          const pre = el("pre", text);
          pre.id = "article";
          pre.tabIndex = 0;
          a.append(pre);
        }
      }
    }
    verdict.focus();
  }

  const CHANGED =
    "The bundle file changed on disk since it was verified: nothing from it is shown or saved. Choose it again.";

  // SHA-256 (FIPS 180-4), fed in pieces: what the page shows or saves is hashed as it is read
  // and compared with the verified record, so a bundle file changed on disk after it was
  // verified (the browser re-reads it, and notices no change of the same size and time) is
  // never shown or saved as verified.
  function sha256() {
    const K = new Int32Array([
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]);
    const H = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const W = new Int32Array(64);
    const block = new Uint8Array(64);
    let fill = 0;
    let total = 0;
    const rotr = (x, n) => (x >>> n) | (x << (32 - n));
    function compress(b, o) {
      for (let i = 0; i < 16; i++) W[i] = (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3];
      for (let i = 16; i < 64; i++) {
        const x = W[i - 15];
        const y = W[i - 2];
        W[i] = (W[i - 16] + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + W[i - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10))) | 0;
      }
      let a = H[0], b2 = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (let i = 0; i < 64; i++) {
        const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b2) ^ (a & c) ^ (b2 & c))) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b2;
        b2 = a;
        a = (t1 + t2) | 0;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + b2) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
      H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
    }
    function update(u8) {
      let i = 0;
      total += u8.length;
      if (fill > 0) {
        const n = Math.min(64 - fill, u8.length);
        block.set(u8.subarray(0, n), fill);
        fill += n;
        i = n;
        if (fill < 64) return;
        compress(block, 0);
        fill = 0;
      }
      for (; i + 64 <= u8.length; i += 64) compress(u8, i);
      block.set(u8.subarray(i), 0);
      fill = u8.length - i;
    }
    function hex() {
      const bits = total * 8;
      const pad = new Uint8Array((fill < 56 ? 56 : 120) - fill + 8);
      pad[0] = 0x80;
      const v = new DataView(pad.buffer);
      v.setUint32(pad.length - 8, Math.floor(bits / 0x100000000));
      v.setUint32(pad.length - 4, bits >>> 0);
      update(pad);
      return Array.from(H, (x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
    }
    return { update: update, hex: hex };
  }

  // The bytes of a verified file, read again from the bundle file in slices and hashed: the
  // first `keep` bytes as Uint8Array pieces when the whole file still has the verified SHA-256
  // `want`, else null.
  async function readVerified(file, at, want, keep) {
    const h = sha256();
    const parts = [];
    let kept = 0;
    for (let o = 0; o < at.size; ) {
      const n = Math.min(1 << 20, at.size - o);
      let piece;
      try {
        piece = new Uint8Array(await file.slice(at.offset + o, at.offset + o + n).arrayBuffer());
      } catch (e) {
        return null;
      }
      if (piece.length !== n) return null;
      h.update(piece);
      if (kept < keep) {
        const k = piece.subarray(0, Math.min(n, keep - kept));
        parts.push(k);
        kept += k.length;
      }
      o += n;
    }
    return want && h.hex() === want ? parts : null;
  }

  // Files up to this size are saved from the very bytes hashed; a larger one (not to be held
  // in memory) is hashed, then saved from the bundle file.
  const SAVE_FROM_MEMORY = 256 << 20;
  async function download(file, at, want, li) {
    const small = at.size <= SAVE_FROM_MEMORY;
    const got = await readVerified(file, at, want, small ? Infinity : 0);
    if (!got) {
      li.append(el("p", CHANGED, "changed"));
      return;
    }
    const name = at.path.split("/").pop() || "file";
    const blob = small
      ? new Blob(got, { type: "application/octet-stream" })
      : file.slice(at.offset, at.offset + at.size, "application/octet-stream");
    const url = URL.createObjectURL(blob);
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
