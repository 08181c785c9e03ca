// Browser tests of the page `docseal web` writes (issue 15), driven by tests/web.rs:
//   node tests/web/run.mjs JOB.json
// Debian's chromium (/usr/bin/chromium, never a downloaded browser) through playwright-core.
// Prints one line per check and "N passed, M failed"; exits 1 if any check failed.
import { chromium } from "playwright-core";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { pathToFileURL } from "node:url";
import { crashInit, crashProbe, crashChecks, framingServer, framedState, framedChecks, tryEveryWayOut, verifyBase64 } from "./probes.mjs";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok      ${name}`);
  } else {
    failed++;
    console.log(`FAILED  ${name}${detail ? ": " + detail : ""}`);
  }
}

const browser = await chromium.launch({
  executablePath: job.chromium || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext();
// Every request any page of this context makes: only the page file itself (and the worker's
// blob: made in the page) may appear.
const requests = [];
context.on("request", (r) => requests.push(r.url()));

async function open(path) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(pathToFileURL(path).href);
  await page.waitForFunction(() => typeof window.docsealVerify === "function");
  page.errors = errors;
  return page;
}

async function verifyInPage(page, bytes, keys, name) {
  return page.evaluate(verifyBase64, { b64: bytes.toString("base64"), keys, name });
}

function withoutPath(r) {
  const c = { ...r };
  delete c.path;
  return c;
}
function codes(r) {
  return (r.findings || []).map((f) => `${f.severity}:${f.code}`).join(",");
}

if (job.cases) await pageChecks();

async function pageChecks() {
// ---- docsealVerify over every case: the same record as `docseal verify --json` ----
const page = await open(job.page);
let same = 0;
for (const c of job.cases) {
  const got = await verifyInPage(page, readFileSync(c.file), [], c.name);
  const want = c.expected;
  const ok = got && !got.error && isDeepStrictEqual(withoutPath(got), withoutPath(want)) && got.path === c.name;
  if (ok) same++;
  else
    check(`docsealVerify ${c.name}`, false, got && got.error ? got.error : `page ok=${got.ok} [${codes(got)}], cli ok=${want.ok} [${codes(want)}]`);
}
check(`docsealVerify equals docseal verify --json on all ${job.cases.length} files`, same === job.cases.length, `${same} equal`);
check(
  "cases include passes and failures",
  job.cases.some((c) => c.expected.ok) && job.cases.filter((c) => !c.expected.ok).length >= 40
);

// Keys given to docsealVerify are trusted (added by hand), and a bad key is refused.
{
  const p2 = await open(job.page_unpinned);
  const sample = readFileSync(job.sample);
  const before = await verifyInPage(p2, sample, [], "sample.zip");
  check("unpinned page: sample not trusted", before.ok === false && codes(before).includes("sig.untrusted_key"), codes(before));
  const after = await verifyInPage(p2, sample, [readFileSync(job.sample_pub, "utf8")], "sample.zip");
  check("unpinned page: sample passes with its .pub given", after.ok === true, codes(after));
  const line = readFileSync(job.sample_pub, "utf8").split("\n")[1];
  const after2 = await verifyInPage(p2, sample, [line], "sample.zip");
  check("unpinned page: sample passes with its key line given", after2.ok === true, codes(after2));
  const bad = await verifyInPage(p2, sample, ["RWQnot a key"], "sample.zip");
  check("a bad key is refused with a message", typeof bad.error === "string" && /key/.test(bad.error), JSON.stringify(bad));

  // The user interface: file input, the untrusted verdict, a key added by hand.
  await p2.setInputFiles("#bundle", job.sample);
  await p2.waitForSelector("#verdict[data-verdict]");
  check("file input: sample without keys: signature valid, key not trusted", (await p2.getAttribute("#verdict", "data-verdict")) === "untrusted");
  await p2.click("summary");
  await p2.fill("#key-text", line);
  await p2.click("#key-add");
  await p2.waitForSelector("#verdict[data-verdict=passed]");
  const v = await p2.textContent("#verdict");
  check("a key added by hand: passes, and says the key was added by hand", /ADDED BY HAND/.test(v), v);
  const keyList = await p2.textContent("#key-list");
  check("the key list marks the key as added by hand", /ADDED BY HAND/.test(keyList), keyList);
  check("no script error on the unpinned page", p2.errors.length === 0, p2.errors.join(" | "));
  await p2.close();
}

// ---- the user interface on the pinned page ----
await page.setInputFiles("#bundle", job.sample);
await page.waitForSelector("#verdict[data-verdict]");
check("file input: sample passes", (await page.getAttribute("#verdict", "data-verdict")) === "passed");
const article = await page.textContent("#article").catch(() => null);
check("the article is shown as text, byte for byte", article === readFileSync(job.sample_article, "utf8"));
const details = await page.textContent("#details");
check("metadata shown (headline, source URL as text)", details.includes(job.sample_headline) && details.includes(job.sample_url));
check("the source URL is not a link", (await page.$$("#details a")).length === 0);
check("downloads offered after a pass", (await page.$$("#details button")).length >= 1);
const [download] = await Promise.all([page.waitForEvent("download"), page.click("#details button")]);
check("a download is the verified file", download.suggestedFilename().length > 0);
if (job.screenshots) await page.screenshot({ path: `${job.screenshots}/web-pass.png`, fullPage: true });

// The drop path, with a tampered bundle.
const tampered = readFileSync(job.tampered);
await page.evaluate(
  ({ b64 }) => {
    const s = atob(b64);
    const u8 = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([u8], "tampered.zip", { type: "application/zip" }));
    document.getElementById("verdict").removeAttribute("data-verdict");
    document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  },
  { b64: tampered.toString("base64") }
);
await page.waitForSelector("#verdict[data-verdict]");
check("drop: a tampered bundle fails", (await page.getAttribute("#verdict", "data-verdict")) === "failed");
const failText = await page.textContent("#details");
check("the failure shows its finding codes", /manifest\.digest|sig\.invalid|zip\.crc/.test(failText), failText.slice(0, 300));
check("no download offered after a failure", (await page.$$("#details button")).length === 0);
check("no article shown after a failure", (await page.$("#article")) === null);
if (job.screenshots) await page.screenshot({ path: `${job.screenshots}/web-fail.png`, fullPage: true });

// ---- no network: the policy blocks every way out, and none was taken ----
const hits = [];
const server = createServer((req, res) => {
  hits.push(req.url);
  res.end("x");
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;
const violations = await page.evaluate(tryEveryWayOut, base);
server.close();
check("the Content-Security-Policy blocks fetch, XHR, image, script, frame, style", hits.length === 0 && violations >= 5, `server hits ${hits.join(",")}, violations ${violations}`);
const pageUrls = new Set([pathToFileURL(job.page).href, pathToFileURL(job.page_unpinned).href]);
const outside = requests.filter((u) => !pageUrls.has(u) && !u.startsWith("blob:") && !u.startsWith(base));
check("no request left the page (request interceptor)", outside.length === 0, outside.slice(0, 5).join(" "));
check("no script error on the pinned page", page.errors.filter((e) => !/Content Security Policy|127\.0\.0\.1/.test(e)).length === 0, page.errors.join(" | "));

}

// ---- a crashed worker: every pending call settles, the next one works ----
if (job.crash) {
  const p = await context.newPage();
  await p.addInitScript(crashInit);
  await p.goto(pathToFileURL(job.page).href);
  await p.waitForFunction(() => typeof window.docsealVerify === "function");
  const r = await p.evaluate(crashProbe, { b64: readFileSync(job.sample).toString("base64") });
  for (const [name, ok, detail] of crashChecks(r)) check(name, ok, detail);
  await p.close();
}

// ---- framed: the page refuses to run inside another page ----
if (job.framed) {
  const { server, base } = await framingServer(readFileSync(job.page, "utf8"));
  const host = await context.newPage();
  await host.goto(base + "/host.html");
  const frame = await (await host.waitForSelector("#f")).contentFrame();
  await frame.waitForLoadState("load");
  const inFrame = await frame.evaluate(framedState);
  const alone = await context.newPage();
  await alone.goto(base + "/verify.html");
  await alone.waitForFunction(() => typeof window.docsealVerify === "function").catch(() => null);
  const self = await alone.evaluate(framedState);
  for (const [name, ok, detail] of framedChecks(inFrame, self)) check(name, ok, detail);
  await host.close();
  await alone.close();
  server.close();
}

// ---- a large bundle: read in slices, memory bounded ----
if (job.big) {
  const big = await open(job.page);
  const cdp = await context.newCDPSession(big);
  await cdp.send("Performance.enable");
  const rss = () => browserRssKiB();
  const base0 = rss();
  let peak = base0.rss;
  let peakAnon = base0.anon;
  let peakBy = base0.by;
  let peakFile = base0.file;
  let heapPeak = 0;
  const seen = new Set();
  const t0 = Date.now();
  await big.setInputFiles("#bundle", job.big);
  for (;;) {
    const v = await big.getAttribute("#verdict", "data-verdict").catch(() => null);
    const now = rss();
    peak = Math.max(peak, now.rss);
    if (now.anon > peakAnon) peakBy = now.by;
    peakAnon = Math.max(peakAnon, now.anon);
    peakFile = Math.max(peakFile, now.file);
    const m = await cdp.send("Performance.getMetrics");
    const heap = m.metrics.find((x) => x.name === "JSHeapUsedSize").value;
    heapPeak = Math.max(heapPeak, heap);
    const p = await big.getAttribute("#progress", "value").catch(() => null);
    if (p) seen.add(p);
    if (v) break;
    if (Date.now() - t0 > job.big_timeout_ms) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const verdict = await big.getAttribute("#verdict", "data-verdict");
  const mib = (k) => Math.round(k / 1024);
  const growth = mib(peakAnon - base0.anon);
  console.log(
    `big bundle: ${job.big_size} bytes, verdict ${verdict} in ${secs} s; browser processes' resident memory: ` +
      `total ${mib(base0.rss)} MiB before, peak ${mib(peak)} MiB; anonymous (heaps, buffers) ${mib(base0.anon)} MiB before, ` +
      `peak ${mib(peakAnon)} MiB (+${growth} MiB); file-backed and shared ${mib(base0.file)} MiB before, peak ${mib(peakFile)} MiB; ` +
      `page JS heap peak ${Math.round(heapPeak / 1048576)} MiB; progress values seen ${seen.size}`
  );
  const grew = Object.keys(peakBy)
    .map((k) => [k, mib((peakBy[k] || 0) - (base0.by[k] || 0))])
    .sort((x, y) => y[1] - x[1])
    .slice(0, 3);
  console.log(`anonymous memory growth at the peak, by process: ${grew.map(([k, v]) => `${k} +${v} MiB`).join(", ")}`);
  check("a large bundle verifies (passed)", verdict === "passed", verdict);
  check("its progress bar moved", seen.size >= 3, `${seen.size} values`);
  check(`the browser's anonymous memory grew by less than ${job.big_limit_mib} MiB`, growth < job.big_limit_mib, `${growth} MiB`);
  check(`page JS heap stayed under ${job.big_limit_mib} MiB`, heapPeak < job.big_limit_mib * 1048576, `${heapPeak}`);
  await big.close();
}

// ---- a bundle file changed on disk after it passed (same size, same time): the page shows
// and saves nothing from it (the browser re-reads the file, and notices no change) ----
if (job.swap) {
  const { copyFileSync, utimesSync, statSync } = await import("node:fs");
  const page = await open(job.page);
  const when = statSync(job.swap.good).mtime;
  copyFileSync(job.swap.good, job.swap.file);
  utimesSync(job.swap.file, when, when);
  await page.setInputFiles("#bundle", job.swap.file);
  await page.waitForSelector("#verdict[data-verdict]");
  check("swap: the bundle passes", (await page.getAttribute("#verdict", "data-verdict")) === "passed");
  copyFileSync(job.swap.evil, job.swap.file);
  utimesSync(job.swap.file, when, when);
  let saved = null;
  page.on("download", async (d) => {
    saved = readFileSync(await d.path());
  });
  await page.click("#details button");
  await page.waitForSelector("#details .changed", { timeout: 30000 }).catch(() => null);
  await new Promise((r) => setTimeout(r, 500));
  check("swap: nothing saved from a bundle changed after it passed", saved === null, saved && saved.slice(0, 40).toString());
  check("swap: the page says the file changed", (await page.$$("#details .changed")).length === 1);
  await page.close();
}

// ---- a bundle chosen while a large one is still verified is not held behind it ----
if (job.cancel) {
  const page = await open(job.page);
  const verdict = () => page.waitForFunction(() => document.getElementById("verdict").dataset.verdict && document.getElementById("progress").hidden, null, { timeout: 600000 });
  await page.setInputFiles("#bundle", job.cancel.big);
  await new Promise((r) => setTimeout(r, 1000));
  let t0 = Date.now();
  await page.setInputFiles("#bundle", job.cancel.small);
  await verdict();
  const small = Date.now() - t0;
  const first = await page.getAttribute("#verdict", "data-verdict");
  await page.evaluate(() => delete document.getElementById("verdict").dataset.verdict);
  t0 = Date.now();
  await page.setInputFiles("#bundle", job.cancel.big);
  await verdict();
  const big = Date.now() - t0;
  check("cancel: the bundle chosen second is verified", first === "passed", first);
  check(`cancel: without waiting for the large one (${small} ms; the large one alone ${big} ms)`, small < big / 2);
  await page.close();
}

// Resident memory (KiB) of every process this script started (the browser and its children).
function browserRssKiB() {
  const parent = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(d), ppid);
    } catch {}
  }
  const total = { rss: 0, anon: 0, file: 0, by: {} };
  for (const pid of parent.keys()) {
    let p = pid;
    let mine = false;
    for (let i = 0; i < 64 && p > 1; i++) {
      p = parent.get(p);
      if (p === process.pid) {
        mine = true;
        break;
      }
    }
    if (!mine) continue;
    try {
      const st = readFileSync(`/proc/${pid}/status`, "utf8");
      const field = (k) => Number((new RegExp(k + ":\\s+(\\d+)").exec(st) || [0, 0])[1]);
      total.rss += field("VmRSS");
      total.anon += field("RssAnon");
      let kind = "browser";
      try {
        const t = /--type=([a-z-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
        if (t) kind = t[1];
      } catch {}
      total.by[`${pid} ${kind}`] = field("RssAnon");
      total.file += field("RssFile") + field("RssShmem");
    } catch {}
  }
  return total;
}

await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
