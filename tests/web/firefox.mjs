// The page `docseal web` writes, in Firefox (issue 15), driven by tests/web.rs:
//   node tests/web/firefox.mjs JOB.json
// Debian's firefox-esr (/usr/bin/firefox-esr, never a downloaded browser) through
// puppeteer-core over WebDriver BiDi. The same job as run.mjs (Chromium); what BiDi cannot do
// here is said where it is skipped. Prints one line per check and "N passed, M failed".
import puppeteer from "puppeteer-core";
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

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: job.firefox || "/usr/bin/firefox-esr",
  headless: true,
  extraPrefsFirefox: {
    // No update, telemetry or other background traffic of the browser's own.
    "app.update.enabled": false,
    "network.captive-portal-service.enabled": false,
    "network.connectivity-service.enabled": false,
  },
});
console.log(`browser: ${await browser.version()}`);
// Every request BiDi reports (network.beforeRequestSent) from the pages of this run.
const requests = [];

async function open(path, init) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("request", (r) => requests.push(r.url()));
  if (init) await page.evaluateOnNewDocument(init);
  await page.goto(path.startsWith("http") ? path : pathToFileURL(path).href);
  await page.waitForFunction(() => typeof window.docsealVerify === "function");
  page.errors = errors;
  return page;
}

async function verifyInPage(page, bytes, keys, name) {
  return page.evaluate(verifyBase64, { b64: bytes.toString("base64"), keys, name });
}
const attr = (page, sel, name) => page.$eval(sel, (e, n) => e.getAttribute(n), name).catch(() => null);
const text = (page, sel) => page.$eval(sel, (e) => e.textContent).catch(() => null);
async function choose(page, file) {
  await page.evaluate(() => delete document.getElementById("verdict").dataset.verdict);
  const input = await page.$("#bundle");
  await input.uploadFile(file);
  await page.waitForSelector("#verdict[data-verdict]", { timeout: job.big_timeout_ms || 60000 });
  return attr(page, "#verdict", "data-verdict");
}
function withoutPath(r) {
  const c = { ...r };
  delete c.path;
  return c;
}
function codes(r) {
  return (r.findings || []).map((f) => `${f.severity}:${f.code}`).join(",");
}

if (job.cases) {
  // ---- docsealVerify over every case: the same record as `docseal verify --json` ----
  const page = await open(job.page);
  let same = 0;
  for (const c of job.cases) {
    const got = await verifyInPage(page, readFileSync(c.file), [], c.name);
    const want = c.expected;
    const ok = got && !got.error && isDeepStrictEqual(withoutPath(got), withoutPath(want)) && got.path === c.name;
    if (ok) same++;
    else check(`docsealVerify ${c.name}`, false, got && got.error ? got.error : `page ok=${got.ok} [${codes(got)}], cli ok=${want.ok} [${codes(want)}]`);
  }
  check(`firefox: docsealVerify equals docseal verify --json on all ${job.cases.length} files`, same === job.cases.length, `${same} equal`);

  // ---- the file input: the sample passes, its article shown as text; a tampered bundle fails ----
  check("firefox: file input: sample passes", (await choose(page, job.sample)) === "passed");
  check("firefox: the article is shown as text, byte for byte", (await text(page, "#article")) === readFileSync(job.sample_article, "utf8"));
  const details = await text(page, "#details");
  check("firefox: metadata shown, source URL as text, not a link", details.includes(job.sample_headline) && details.includes(job.sample_url) && (await page.$$("#details a")).length === 0);
  check("firefox: downloads offered after a pass", (await page.$$("#details button")).length >= 1);
  check("firefox: file input: a tampered bundle fails", (await choose(page, job.tampered)) === "failed");
  const failText = await text(page, "#details");
  check("firefox: the failure shows its finding codes, and nothing to download or read", /manifest\.digest|sig\.invalid|zip\.crc/.test(failText) && (await page.$$("#details button")).length === 0 && (await page.$("#article")) === null, failText.slice(0, 200));
  {
    const p2 = await open(job.page_unpinned);
    check("firefox: unpinned page: signature valid, key not trusted", (await choose(p2, job.sample)) === "untrusted");
    const line = readFileSync(job.sample_pub, "utf8").split("\n")[1];
    await p2.evaluate(() => (document.querySelector("details#add").open = true));
    await p2.$eval("#key-text", (e, v) => (e.value = v), line);
    await p2.click("#key-add");
    await p2.waitForSelector("#verdict[data-verdict=passed]");
    check("firefox: a key added by hand: passes, and says so", /ADDED BY HAND/.test(await text(p2, "#verdict")));
    check("firefox: no script error on the unpinned page", p2.errors.length === 0, p2.errors.join(" | "));
    await p2.close();
  }

  // ---- no network: the policy blocks every way out, and none was taken ----
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(req.url);
    res.end("x");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const violations = await page.evaluate(tryEveryWayOut, base);
  const probeHits = hits.slice();
  // The monitor works: a tab of the test's own opened on the server is seen.
  const control = await browser.newPage();
  control.on("request", (r) => requests.push(r.url()));
  await control.goto(base + "/control");
  await control.close();
  check("firefox: BiDi reports requests (a control request of the test's own is seen)", requests.includes(base + "/control"), requests.slice(0, 5).join(" "));
  server.close();
  check("firefox: the Content-Security-Policy blocks fetch, XHR, image, script, frame, style (the server saw none)", probeHits.length === 0 && violations >= 5, `server hits ${probeHits.join(",")}, violations ${violations}`);
  const pageUrls = new Set([pathToFileURL(job.page).href, pathToFileURL(job.page_unpinned).href]);
  const outside = requests.filter((u) => !pageUrls.has(u) && !u.startsWith("blob:") && !u.startsWith(base) && !u.startsWith("data:"));
  console.log(`requests BiDi reported: ${requests.length}: ${[...new Set(requests)].slice(0, 8).map((u) => u.slice(0, 60)).join(" ")}`);
  check("firefox: no request left the page (BiDi network.beforeRequestSent)", outside.length === 0, outside.slice(0, 5).join(" "));
  check("firefox: no script error on the pinned page", page.errors.filter((e) => !/Content-Security-Policy|Content Security Policy|127\.0\.0\.1/.test(e)).length === 0, page.errors.join(" | "));
  await page.close();

}

{
  // ---- a crashed worker: every pending call settles, the next one works ----
  if (job.crash) {
    const p = await open(job.page, crashInit);
    const r = await p.evaluate(crashProbe, { b64: readFileSync(job.sample).toString("base64") });
    for (const [name, ok, detail] of crashChecks(r)) check("firefox: " + name, ok, detail);
    await p.close();
  }

  // ---- framed: the page refuses to run inside another page ----
  if (job.framed) {
    const { server, base } = await framingServer(readFileSync(job.page, "utf8"));
    const host = await browser.newPage();
    await host.goto(base + "/host.html");
    await host.waitForSelector("#f");
    let frame = null;
    for (let i = 0; i < 100 && !frame; i++) {
      frame = host.frames().find((f) => f.url().endsWith("/verify.html")) || null;
      if (!frame) await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    const inFrame = frame ? await frame.evaluate(framedState) : { missing: true };
    const alone = await browser.newPage();
    await alone.goto(base + "/verify.html");
    await alone.waitForFunction(() => typeof window.docsealVerify === "function").catch(() => null);
    const self = await alone.evaluate(framedState);
    for (const [name, ok, detail] of framedChecks(inFrame, self)) check("firefox: " + name, ok, detail);
    await host.close();
    await alone.close();
    server.close();
  }
}

// ---- a large bundle: read in slices, memory bounded ----
// BiDi has no performance metrics (CDP's Performance.getMetrics): the JS heap is not measured
// here; the resident memory of the browser's processes is, from /proc, as in Chromium.
if (job.big) {
  const big = await open(job.page);
  const base0 = browserRssKiB();
  let peakAnon = base0.anon;
  let peak = base0.rss;
  const seen = new Set();
  const t0 = Date.now();
  const input = await big.$("#bundle");
  await input.uploadFile(job.big);
  let verdict = null;
  for (;;) {
    verdict = await attr(big, "#verdict", "data-verdict");
    const now = browserRssKiB();
    peakAnon = Math.max(peakAnon, now.anon);
    peak = Math.max(peak, now.rss);
    const p = await attr(big, "#progress", "value");
    if (p) seen.add(p);
    if (verdict) break;
    if (Date.now() - t0 > job.big_timeout_ms) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const mib = (k) => Math.round(k / 1024);
  const growth = mib(peakAnon - base0.anon);
  console.log(
    `firefox big bundle: ${job.big_size} bytes, verdict ${verdict} in ${((Date.now() - t0) / 1000).toFixed(1)} s; browser processes' resident memory: total ${mib(base0.rss)} MiB before, peak ${mib(peak)} MiB; anonymous ${mib(base0.anon)} MiB before, peak ${mib(peakAnon)} MiB (+${growth} MiB); progress values seen ${seen.size}`
  );
  check("firefox: a large bundle verifies (passed)", verdict === "passed", verdict);
  check("firefox: its progress bar moved", seen.size >= 3, `${seen.size} values`);
  check(`firefox: the browser's anonymous memory grew by less than ${job.big_limit_mib} MiB`, growth < job.big_limit_mib, `${growth} MiB`);
  await big.close();
}

// Resident memory (KiB) of every process this script started (the browser and its children).
function browserRssKiB() {
  const parent = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const total = { rss: 0, anon: 0 };
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
    } catch {}
  }
  return total;
}

await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
