// The page's worker (docseal web): runs docseal's verifier (the WebAssembly module, through the
// wasm-bindgen glue above, which defines `wasm_bindgen`). A bundle File is read in slices with
// FileReaderSync, so that a large bundle is never held whole in memory.
"use strict";
let docsealReady = null;
let docsealFile = null;
let docsealJob = 0;
let docsealLastProgress = 0;
const docsealReader = new FileReaderSync();
// Read in pieces of 64 KiB: each read makes a new ArrayBuffer, and small ones are collected
// sooner, which keeps the worker's memory lower on a large bundle.
const DOCSEAL_PIECE = 64 << 10;
self.docsealRead = function (offset, buf) {
  let n = 0;
  while (n < buf.length) {
    const end = Math.min(buf.length, n + DOCSEAL_PIECE);
    const got = new Uint8Array(docsealReader.readAsArrayBuffer(docsealFile.slice(offset + n, offset + end)));
    buf.set(got, n);
    n += got.length;
    if (n < end) break; // the file ended
  }
  return n;
};
self.docsealProgress = function (done, total) {
  const now = Date.now();
  if (now - docsealLastProgress >= 100 || done >= total) {
    docsealLastProgress = now;
    self.postMessage({ id: docsealJob, progress: [done, total] });
  }
};
self.onmessage = async function (ev) {
  const m = ev.data;
  if (m.module) {
    docsealReady = wasm_bindgen({ module_or_path: m.module });
    return;
  }
  try {
    await docsealReady;
    docsealJob = m.id;
    let out;
    if (m.op === "keys") {
      out = wasm_bindgen.describeKeys(m.config);
    } else if (m.op === "file") {
      docsealFile = m.file;
      out = wasm_bindgen.verifyFile(m.file.size, m.label, m.config);
    } else {
      out = wasm_bindgen.verifyBytes(m.bytes, m.label, m.config);
    }
    self.postMessage({ id: m.id, result: out });
  } catch (e) {
    self.postMessage({ id: m.id, error: String((e && e.message) || e), fatal: !(e instanceof Error && e.name === "Error") });
  } finally {
    docsealFile = null;
  }
};
