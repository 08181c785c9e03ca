// What the Chromium (run.mjs) and Firefox (firefox.mjs) runs share: functions run in the page,
// passed to the driver's evaluate (they must not use anything outside themselves).

// Run before the page's own script (an init script of the test driver, never part of the
// page): the worker's script gets a few lines appended that, for a bundle named
// "docseal-test-crash.zip", first grow the verifier's WebAssembly memory to its maximum, so
// that the verifier's allocation fails and it traps, as on a bundle that needs more memory
// than the browser gives it. Nothing in the page opened normally can do this.
export function crashInit() {
  const add = `
;(function () {
  let memory = null;
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async function (m, imports) {
    const r = await instantiate.call(WebAssembly, m, imports);
    memory = (r.instance || r).exports.memory;
    return r;
  };
  const real = self.onmessage;
  self.onmessage = function (ev) {
    if (ev.data && ev.data.label === "docseal-test-crash.zip" && memory) {
      for (let n = 16384; n >= 1; n >>= 1) {
        try {
          for (;;) memory.grow(n);
        } catch (e) {}
      }
    }
    return real.call(this, ev);
  };
})();`;
  const RealBlob = window.Blob;
  const Patched = function (parts, options) {
    if (options && options.type === "text/javascript" && parts && parts.length === 1 && String(parts[0]).includes("docsealRead")) {
      parts = [String(parts[0]) + add];
    }
    return new RealBlob(parts, options);
  };
  Patched.prototype = RealBlob.prototype;
  window.Blob = Patched;
}

// In the page: a call that crashes the verifier, a call queued behind it, and one after.
// Every promise must settle (each is given 60 s), and the call after must give a record.
export async function crashProbe({ b64 }) {
  const s = atob(b64);
  const sample = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) sample[i] = s.charCodeAt(i);
  const settle = (p) =>
    Promise.race([
      p.then(
        (r) => ({ record: typeof r.ok === "boolean", ok: r.ok }),
        (e) => ({ error: String((e && e.message) || e) })
      ),
      new Promise((r) => setTimeout(() => r({ hung: true }), 60000)),
    ]);
  // First a call that works: the worker's module is then instantiated (its memory known to
  // the appended lines) before the crash is asked for.
  const before = await settle(window.docsealVerify(sample, [], { name: "before.zip" }));
  const a = settle(window.docsealVerify(new Uint8Array(64 << 20), [], { name: "docseal-test-crash.zip" }));
  const b = settle(window.docsealVerify(sample, [], { name: "queued.zip" }));
  const [crashed, queued] = await Promise.all([a, b]);
  const after = await settle(window.docsealVerify(sample, [], { name: "after.zip" }));
  return { before, crashed, queued, after };
}

// What the crash probe must give; returns a list of [name, ok, detail] checks.
export function crashChecks(r) {
  return [
    ["crashed worker: a call before the crash gives a record", r.before.record === true, JSON.stringify(r.before)],
    ["crashed worker: the call that crashed it is rejected, saying so", !!r.crashed.error && /stopped on this bundle/.test(r.crashed.error), JSON.stringify(r.crashed)],
    ["crashed worker: the call queued behind it is rejected too (never left pending)", !!r.queued.error && /before this one was verified/.test(r.queued.error), JSON.stringify(r.queued)],
    ["crashed worker: the next call gets a fresh worker and a record", r.after.record === true, JSON.stringify(r.after)],
  ];
}

// A local server for the framing check: /host.html frames /verify.html (the page).
export async function framingServer(pageHtml) {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    if (req.url === "/verify.html") {
      res.setHeader("content-type", "text/html; charset=utf-8");
      res.end(pageHtml);
    } else {
      res.setHeader("content-type", "text/html; charset=utf-8");
      res.end('<!doctype html><title>host</title><iframe id="f" src="/verify.html" width="800" height="600"></iframe>');
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

// In the framed page: whether it refused to run.
export function framedState() {
  return {
    notice: !!document.getElementById("framed"),
    api: typeof window.docsealVerify,
    input: !!document.getElementById("bundle"),
  };
}

export function framedChecks(inFrame, alone) {
  return [
    ["framed: the page shows a notice and does nothing (no docsealVerify, no file input)", inFrame.notice && inFrame.api === "undefined" && !inFrame.input, JSON.stringify(inFrame)],
    ["the same page opened on its own runs", !alone.notice && alone.api === "function" && alone.input, JSON.stringify(alone)],
  ];
}

// Every way out of the page the policy must block (fetch, XHR, image, script, frame,
// stylesheet), tried against the test's own server at `base`; the number of policy
// violations the page saw.
export async function tryEveryWayOut(base) {
  let n = 0;
  document.addEventListener("securitypolicyviolation", () => n++);
  const tries = [
    fetch(base + "/fetch").catch(() => {}),
    new Promise((r) => {
      const x = new XMLHttpRequest();
      x.onloadend = r;
      try {
        x.open("GET", base + "/xhr");
        x.send();
      } catch (e) {
        r();
      }
    }),
  ];
  const img = new Image();
  img.src = base + "/img";
  const s = document.createElement("script");
  s.src = base + "/script";
  document.body.append(s);
  const f = document.createElement("iframe");
  f.src = base + "/frame";
  document.body.append(f);
  const l = document.createElement("link");
  l.rel = "stylesheet";
  l.href = base + "/css";
  document.head.append(l);
  await Promise.all(tries);
  await new Promise((r) => setTimeout(r, 1000));
  return n;
}

// `window.docsealVerify` on bytes passed as base64 (the drivers pass JSON); a rejection is
// returned as `{ error }`.
export async function verifyBase64({ b64, keys, name }) {
  const s = atob(b64);
  const u8 = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  try {
    return await window.docsealVerify(u8, keys, { name });
  } catch (e) {
    return { error: String(e.message || e) };
  }
}
