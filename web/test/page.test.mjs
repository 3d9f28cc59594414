// The web page in a real browser: Debian's Chromium, headless, whose WebGPU
// is SwiftShader (software), driven by playwright-core. The page runs the
// reference workload (six blobs of 250 points from the default seed,
// blurring mean shift, gaussian kernel, bandwidth 2.5, 5 iterations) on
// WebGPU; its data must equal the native command line's bit for bit and
// its labels the native command line's, on the CPU twin and on the GPU
// (Mesa's lavapipe through WGPU_BACKEND=vulkan): both number clusters by
// the library's merge rule (intensity, then coordinates), and the blobs
// are far apart, so no adapter's rounding moves a label. A second page,
// without WebGPU, must say so and fit on the CPU twin instead.
//
// Expects the page served (web/test/run.sh does all of it):
//   PAGE_URL      the page (default http://127.0.0.1:8000/)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   GPU_CLUSTER   the native CLI (default target/release/gpu-cluster)
//   REQUIRE_GPU=1 fail, rather than skip, the native GPU comparison when
//                 the CLI finds no adapter
//   UPDATE_SCREENSHOT=1  also write the README's picture, web/screenshot.png
// Writes a screenshot to target/web-screenshot.png.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.dirname(web);
const pageUrl = process.env.PAGE_URL ?? "http://127.0.0.1:8000/";
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const cli = process.env.GPU_CLUSTER ?? path.join(root, "target/release/gpu-cluster");
const requireGpu = process.env.REQUIRE_GPU === "1";

// The reference workload, set explicitly rather than trusted to the
// page's defaults; the seed is left at the page's default, which must be
// the CLI's.
const CASE = {
  algorithm: "blurring",
  kernel: "gaussian",
  bandwidth: 2.5,
  iterations: 5,
  perBlob: 250,
  backend: "gpu",
};
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--disable-gpu-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

const work = mkdtempSync(path.join(tmpdir(), "gpu-cluster-web-"));
let context; // the browser, with its own fresh profile in `work`
const problems = []; // page errors and console errors, every page
let native; // { points, cpu, gpu | gpuSkipped }
let gpuPage; // what the page did on WebGPU
let cpuPage; // what the page did without WebGPU

before(async () => {
  native = nativeRun();
  context = await chromium.launchPersistentContext(path.join(work, "profile"), {
    executablePath: browserPath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1040, height: 760 },
  });
  gpuPage = await visit(await context.newPage(), true);
  cpuPage = await visit(await context.newPage(), false);
}, { timeout: 240_000 });

after(async () => {
  await context?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Loads the page (with or without WebGPU), runs the case, waits for the
 *  animation, and keeps what it shows. */
async function visit(page, webgpu) {
  const name = webgpu ? "WebGPU page" : "page without WebGPU";
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${name}: console error: ${m.text()}`);
  });
  if (!webgpu) {
    // What a browser without WebGPU looks like to the page.
    await page.addInitScript(() => { delete Navigator.prototype.gpu; });
  }
  await page.goto(pageUrl);
  await page.evaluate(() => window.gpuCluster.ready);
  const last = await page.evaluate((settings) => window.gpuCluster.run(settings), CASE);
  await page.evaluate(() => window.gpuCluster.settled());
  const text = async (selector) => (await page.textContent(selector)).trim();
  const shown = {
    last,
    error: await page.evaluate(() => window.gpuCluster.error),
    what: await text("#what"),
    adapter: await text("#adapter"),
    backend: await text("#backend-used"),
    time: await text("#time"),
    clusters: await text("#clusters"),
    notice: await text("#notice"),
  };
  if (webgpu) {
    // target/ always; the README's picture only when asked, so a test
    // run leaves the checkout as it was.
    const shot = path.join(root, "target", "web-screenshot.png");
    mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === "1") {
      copyFileSync(shot, path.join(web, "screenshot.png"));
    }
  }
  return shown;
}

/** The native CLI on the same data: the blobs as float32 .npy, then labels
 *  on the CPU twin and on the GPU. */
function nativeRun() {
  const npy = path.join(work, "blobs.npy");
  cliRun(["blobs", "--out", npy]);
  const labels = (backend, env) => {
    const out = path.join(work, `labels-${backend}.txt`);
    const result = cliRun(["meanshift", npy, "--mode", "blurring", "--kernel", "gaussian",
      "--bandwidth", "2.5", "--max-iter", "5", "--backend", backend, "--labels", out], env, backend === "gpu");
    if (result.status !== 0) return { failed: result.stderr.trim() };
    return { labels: readFileSync(out, "utf8").trim().split("\n").map(Number), summary: result.stderr.trim() };
  };
  const cpu = labels("cpu", {});
  assert.ok(cpu.labels, `native CPU run failed: ${cpu.failed}`);
  const gpu = labels("gpu", { WGPU_BACKEND: process.env.WGPU_BACKEND || "vulkan" });
  return { points: readNpyF32(npy), cpu, gpu };
}

function cliRun(args, env = {}, mayFail = false) {
  const result = spawnSync(cli, args, { env: { ...process.env, ...env }, encoding: "utf8" });
  if (result.error) {
    throw new Error(`cannot run ${cli} (build it: cargo build --release -p gpu-cluster-cli): ${result.error.message}`);
  }
  if (result.status !== 0 && !mayFail) {
    throw new Error(`${cli} ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  }
  return result;
}

/** A 2-D little-endian float32 .npy file, C order, as `gpu-cluster blobs`
 *  writes it: its values, unrounded. */
function readNpyF32(file) {
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 6).toString("latin1"), "\x93NUMPY", `${file} is not .npy`);
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = bytes.subarray(major === 1 ? 10 : 12, start).toString("latin1");
  assert.match(header, /'descr': '<f4'/, header);
  assert.match(header, /'fortran_order': False/, header);
  const data = bytes.subarray(start);
  return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

test("the browser offered a WebGPU adapter and the page fitted on it", () => {
  assert.equal(gpuPage.last.backend, "webgpu",
    `the page ran on "${gpuPage.last.backend}", not WebGPU: Chromium offered no adapter ` +
    `(the page said: "${gpuPage.notice}"; flags: ${CHROMIUM_ARGS.join(" ")})`);
  assert.equal(gpuPage.notice, "");
  assert.match(gpuPage.what,
    /^Blurring mean shift on WebGPU: 1500 points .* over 5 iterations \(gaussian kernel, bandwidth 2\.5\)\.$/);
  assert.notEqual(gpuPage.adapter, "", "no adapter shown");
  assert.doesNotMatch(gpuPage.adapter, /^(…|unnamed adapter)/, `adapter shown as "${gpuPage.adapter}"`);
  assert.match(gpuPage.time, /^\d+(\.\d+)? ms/);
});

test("the page finds 6 clusters and says so", () => {
  assert.equal(gpuPage.error, null);
  assert.equal(gpuPage.last.nClusters, 6);
  assert.equal(gpuPage.last.nIter, 5);
  assert.equal(gpuPage.clusters, "6 clusters");
});

test("the page's blobs are the CLI's, bit for bit", () => {
  const page = new Float32Array(gpuPage.last.points);
  assert.equal(page.length, 1500 * 2);
  assert.deepEqual(new Uint32Array(page.buffer), new Uint32Array(native.points.buffer));
});

test("the page's WebGPU labels equal the native CLI's on the CPU twin", () => {
  assert.equal(gpuPage.last.labels.length, 1500);
  assert.deepEqual(gpuPage.last.labels, native.cpu.labels);
});

test("the page's WebGPU labels equal the native CLI's on the GPU", (t) => {
  if (!native.gpu.labels) {
    const why = `the native GPU run failed: ${native.gpu.failed}`;
    assert.ok(!requireGpu, `${why} (REQUIRE_GPU=1)`);
    t.skip(why);
    return;
  }
  t.diagnostic(native.gpu.summary);
  assert.deepEqual(gpuPage.last.labels, native.gpu.labels);
});

test("without WebGPU the page says so and fits on the CPU twin", () => {
  assert.equal(cpuPage.last.backend, "cpu");
  assert.match(cpuPage.notice, /no WebGPU.*CPU twin/);
  assert.match(cpuPage.what, /^Blurring mean shift on the CPU twin: /);
  assert.equal(cpuPage.clusters, "6 clusters");
  assert.deepEqual(cpuPage.last.labels, native.cpu.labels);
});

test("no page errors and no console errors", () => {
  assert.deepEqual(problems, []);
  assert.equal(cpuPage.error, null);
});
