// The page's script: draws the reference blobs with the library's own
// generator, fits them on the browser's WebGPU (or on the CPU twin where
// there is no adapter) through the WebAssembly bindings in web/pkg/ (built
// by web/serve.sh), and animates blurring mean shift's iterations.
//
// For tests, window.gpuCluster holds what the page did: `done` (a fit, or
// its error, has finished), `ready` (a promise of the same), `last` (the
// last fit: labels, cluster count, backend, adapter, time, the points),
// `error`, `run(settings)` (set the controls, fit, resolve with `last`) and
// `settled()` (resolves once no fit is running and no animation playing).

const BLOBS = 6; // the reference workload's number of blobs
const DIM = 2; // the canvas draws the plane
const STEP_MS = 450; // animation time per blurring iteration
const HOLD_MS = 250; // pause on the data before the points start moving
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79"];
const NOISE = "#b0b0b0";

const $ = (id) => document.getElementById(id);
const controls = {
  algorithm: $("algorithm"), kernel: $("kernel"), bandwidth: $("bandwidth"),
  perBlob: $("per-blob"), iterations: $("iterations"), k: $("k"),
  minSamples: $("min-samples"), seed: $("seed"), backend: $("backend"),
};

let resolveReady;
const api = {
  done: false,
  ready: new Promise((resolve) => { resolveReady = resolve; }),
  last: null,
  error: null,
  run,
  settled,
};
window.gpuCluster = api;

window.addEventListener("error", (e) => showError(e.error ?? e.message));
window.addEventListener("unhandledrejection", (e) => showError(e.reason));

let wasm; // the bindings module
const engines = new Map(); // backend choice -> { engine, notice, fits }
let running = null; // the fit loop's promise while it runs
let again = false; // settings changed during a fit: fit once more after it
let animation = null; // the playing animation's promise
let picture = 0; // counts what was put on the canvas: an older animation stops
let replayable = null; // the last blurring fit's drawing, for Replay

start();

async function start() {
  try {
    wasm = await import("./pkg/gpu_cluster_web.js");
    await wasm.default();
  } catch (e) {
    $("what").textContent = "The WebAssembly build is missing or failed to load.";
    showError(`${message(e)}\nBuild it with web/serve.sh, which also serves this page.`);
    finish();
    return;
  }
  for (const name of wasm.kernels()) {
    controls.kernel.add(new Option(name, name, name === "gaussian", name === "gaussian"));
  }
  controls.seed.value = wasm.Blobs.defaultSeed();
  for (const input of [controls.bandwidth, controls.perBlob, controls.iterations]) {
    input.addEventListener("input", showValues);
  }
  for (const control of Object.values(controls)) {
    control.addEventListener("change", () => { request(); });
  }
  $("replay").addEventListener("click", () => {
    if (replayable) play(replayable);
  });
  showValues();
  await request();
}

/** Sets the controls named in `settings` (keys of `controls`), fits, and
 *  resolves with `api.last`; rejects with the error the page shows. */
async function run(settings = {}) {
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in controls)) throw new Error(`unknown setting ${key}`);
    controls[key].value = String(value);
  }
  showValues();
  await request();
  if (api.error) throw new Error(api.error);
  return api.last;
}

/** Resolves once no fit is running and no animation is playing. */
async function settled() {
  for (let busy = running ?? animation; busy; busy = running ?? animation) {
    await busy.catch(() => {});
  }
}

/** Fits with the current settings, once the fit under way (if any) ends. */
function request() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      await fitOnce(readSettings());
    } while (again);
  })().finally(() => { running = null; });
  return running;
}

/** A whole-number setting within its input's min and max: a typed value
 * can pass them, and a negative one would wrap in wasm's `usize`. */
function wholeIn(input) {
  const lo = Number(input.min);
  const hi = Number(input.max);
  const v = Math.round(Number(input.value));
  return Number.isFinite(v) ? Math.min(Math.max(v, lo), hi) : lo;
}

function readSettings() {
  const algorithm = controls.algorithm.value;
  return {
    algorithm,
    group: algorithm === "blurring" || algorithm === "standard" ? "meanshift" : algorithm,
    kernel: controls.kernel.value,
    bandwidth: Number(controls.bandwidth.value),
    perBlob: wholeIn(controls.perBlob),
    iterations: wholeIn(controls.iterations),
    k: wholeIn(controls.k),
    minSamples: wholeIn(controls.minSamples),
    seed: Number(controls.seed.value),
    backend: controls.backend.value,
  };
}

async function fitOnce(s) {
  showControls(s);
  clearError();
  let data = null;
  try {
    const { engine, notice, fits } = await engineFor(s.backend);
    $("notice").textContent = notice;
    $("notice").classList.toggle("hidden", !notice);
    const where = engine.backend === "cpu" ? "the CPU twin" : "WebGPU";
    $("adapter").textContent = engine.backend === "cpu" ? "none: CPU twin" : engine.adapter;
    $("backend-used").textContent = engine.backend === "cpu" ? `CPU twin, ${engine.adapter}` : engine.backend;
    $("what").textContent = describe(s, BLOBS * s.perBlob, where);
    data = new wasm.Blobs(BLOBS, s.perBlob, DIM, s.seed);

    const t0 = performance.now();
    const fit = await fitWith(engine, data, s, false);
    const ms = performance.now() - t0;
    fits.count += 1;
    // The animation needs every iteration's positions, which a timed fit
    // does not read back: a second, untimed fit keeps them.
    const frames = s.algorithm === "blurring" ? await trajectory(engine, data, s) : [];

    const labels = fit.labels;
    const noise = labels.filter((l) => l < 0).length;
    const points = data.points;
    api.last = {
      algorithm: s.algorithm,
      settings: s,
      labels: Array.from(labels),
      nClusters: fit.nClusters,
      nIter: fit.nIter,
      noise,
      backend: engine.backend,
      adapter: engine.adapter,
      ms,
      points: Array.from(points),
    };
    const first = fits.count === 1 && engine.backend !== "cpu" ? " (first fit: includes compiling the shaders)" : "";
    $("time").textContent = `${ms.toFixed(1)} ms${first}`;
    $("clusters").textContent = countWords(fit.nClusters, noise);
    const view = {
      points,
      labels,
      centers: fit.centers,
      centroids: data.centroids,
      frames,
      caption: countWords(fit.nClusters, noise),
    };
    fit.free();
    replayable = frames.length ? view : null;
    $("replay").disabled = !replayable;
    play(view);
  } catch (e) {
    api.last = null;
    $("time").textContent = "—";
    $("clusters").textContent = "no fit";
    replayable = null;
    $("replay").disabled = true;
    picture += 1; // stops an animation still playing
    clear("no fit: see the error");
    showError(e);
  } finally {
    data?.free();
    finish();
  }
}

/** The engine for a backend choice, opened once. Without a WebGPU adapter
 *  it is the CPU twin, with a notice saying so. */
async function engineFor(choice) {
  if (!engines.has(choice)) {
    engines.set(choice, openEngine(choice).then((e) => ({ ...e, fits: { count: 0 } })));
  }
  return engines.get(choice);
}

async function openEngine(choice) {
  if (choice === "cpu") return { engine: wasm.Engine.cpu(), notice: "" };
  if (!navigator.gpu) {
    return {
      engine: wasm.Engine.cpu(),
      notice: "This browser has no WebGPU (navigator.gpu is missing): running on the CPU twin instead.",
    };
  }
  try {
    const engine = await (choice === "gpu" ? wasm.Engine.gpu() : wasm.Engine.auto());
    const notice = engine.backend === "cpu"
      ? "No hardware GPU adapter: running on the CPU twin, which is faster than a software adapter."
      : "";
    return { engine, notice };
  } catch (e) {
    return {
      engine: wasm.Engine.cpu(),
      notice: `No WebGPU adapter (${message(e)}): running on the CPU twin instead.`,
    };
  }
}

function fitWith(engine, data, s, keepTrajectory) {
  switch (s.algorithm) {
    case "blurring":
    case "standard":
      return engine.meanShift(data, s.bandwidth, s.kernel, s.algorithm === "blurring",
        s.iterations, keepTrajectory);
    case "kmeans":
      return engine.kmeans(data, s.k, s.iterations, s.seed);
    case "dbscan":
      return engine.dbscan(data, s.bandwidth, s.minSamples);
    default:
      throw new Error(`unknown algorithm ${s.algorithm}`);
  }
}

/** The positions before and after each blurring iteration. */
async function trajectory(engine, data, s) {
  const traced = await fitWith(engine, data, s, true);
  const flat = traced.frames;
  traced.free();
  const size = data.nPoints * DIM;
  const frames = [data.points];
  for (let at = 0; at < flat.length; at += size) frames.push(flat.subarray(at, at + size));
  return frames;
}

/** One line: what the picture shows. */
function describe(s, n, where) {
  const blobs = `${n} points in ${BLOBS} Gaussian blobs (seed ${s.seed})`;
  switch (s.algorithm) {
    case "blurring":
      return `Blurring mean shift on ${where}: ${blobs} move to their modes over ${s.iterations} ` +
        `iterations (${s.kernel} kernel, bandwidth ${s.bandwidth}).`;
    case "standard":
      return `Mean shift as scikit-learn runs it, on ${where}: ${blobs}, ${s.kernel} kernel, ` +
        `bandwidth ${s.bandwidth}, at most ${s.iterations} steps per seed; rings are the modes.`;
    case "kmeans":
      return `k-means on ${where}: ${blobs}, k = ${s.k}, k-means++ starts, at most ${s.iterations} ` +
        "iterations; rings are the centres.";
    default:
      return `DBSCAN on ${where}: ${blobs}, radius ${s.bandwidth}, ${s.minSamples} points to be core; ` +
        "grey points are noise.";
  }
}

function countWords(n, noise) {
  const clusters = `${n} cluster${n === 1 ? "" : "s"}`;
  return noise ? `${clusters}, ${noise} noise point${noise === 1 ? "" : "s"}` : clusters;
}

function showValues() {
  for (const input of [controls.bandwidth, controls.perBlob, controls.iterations]) {
    document.querySelector(`output[for="${input.id}"]`).textContent = input.value;
  }
}

/** Shows the controls the algorithm uses, named as it uses them. */
function showControls(s) {
  for (const el of document.querySelectorAll("[data-for]")) {
    el.classList.toggle("hidden", !el.dataset.for.split(" ").includes(s.group));
  }
  $("bandwidth-label").textContent = s.algorithm === "dbscan" ? "Radius (eps)" : "Bandwidth";
  $("iterations-label").textContent = s.algorithm === "blurring" ? "Iterations" : "Max iterations";
  $("replay").classList.toggle("hidden", s.algorithm !== "blurring");
}

/** Plays a blurring fit's iterations (or draws a fit at once), resolving
 *  when the last frame is drawn or a later picture takes the canvas. */
function play(view) {
  const steps = Math.max(view.frames.length - 1, 0);
  const t0 = performance.now();
  const mine = ++picture;
  const playing = new Promise((resolve) => {
    const frame = (now) => {
      if (mine !== picture) {
        resolve();
        return;
      }
      const t = Math.max(now - t0 - HOLD_MS, 0) / STEP_MS;
      if (steps === 0 || t >= steps) {
        // The clustering itself: the data in their clusters' colours.
        draw(view, null, steps ? `${view.caption} after ${steps} iterations` : view.caption);
        resolve();
        return;
      }
      const i = Math.floor(t);
      const f = ease(t - i);
      const from = view.frames[i];
      const to = view.frames[i + 1];
      const at = new Float32Array(from.length);
      for (let j = 0; j < at.length; j++) at[j] = from[j] + (to[j] - from[j]) * f;
      draw(view, at, `iteration ${i + 1} of ${steps}`);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  const tracked = playing.finally(() => {
    if (animation === tracked) animation = null;
  });
  animation = tracked;
  return tracked;
}

function ease(x) {
  return x < 0.5 ? 2 * x * x : 1 - 2 * (1 - x) * (1 - x);
}

/** Draws the data in their clusters' colours (faintly under moving
 *  positions), the true centroids as X marks, then either the found centres
 *  as rings or, during an animation, the moving positions on top. */
function draw(view, positions, caption) {
  const g = $("plot").getContext("2d");
  const size = $("plot").width;
  const { x0, y0, span } = bounds(view.points, view.centroids);
  const px = (x) => ((x - x0) / span) * size;
  const py = (y) => size - ((y - y0) / span) * size;
  const colour = (l) => (l < 0 ? NOISE : PALETTE[l % PALETTE.length]);
  const dots = (xs, alpha, r) => {
    g.globalAlpha = alpha;
    for (let i = 0; i < view.labels.length; i++) {
      g.fillStyle = colour(view.labels[i]);
      g.beginPath();
      g.arc(px(xs[2 * i]), py(xs[2 * i + 1]), r, 0, 2 * Math.PI);
      g.fill();
    }
    g.globalAlpha = 1;
  };

  clear(caption);
  dots(view.points, positions ? 0.18 : 0.8, positions ? 2 : 2.4);
  g.strokeStyle = "#111";
  g.lineWidth = positions ? 1.5 : 3;
  for (let c = 0; c + 1 < view.centroids.length; c += 2) {
    const x = px(view.centroids[c]);
    const y = py(view.centroids[c + 1]);
    g.beginPath();
    g.moveTo(x - 7, y - 7); g.lineTo(x + 7, y + 7);
    g.moveTo(x - 7, y + 7); g.lineTo(x + 7, y - 7);
    g.stroke();
  }
  if (positions) {
    dots(positions, 0.9, 2.4);
  } else {
    g.lineWidth = 2;
    for (let c = 0; c + 1 < view.centers.length; c += 2) {
      g.beginPath();
      g.arc(px(view.centers[c]), py(view.centers[c + 1]), 9, 0, 2 * Math.PI);
      g.stroke();
    }
  }
}

/** A blank canvas with a caption and the legend. */
function clear(caption) {
  const g = $("plot").getContext("2d");
  const size = $("plot").width;
  g.fillStyle = "#fff";
  g.fillRect(0, 0, size, size);
  g.fillStyle = "#111";
  g.font = "16px system-ui, sans-serif";
  g.fillText(caption, 12, 24);
  g.fillStyle = "#555";
  g.font = "13px system-ui, sans-serif";
  g.fillText("X true centroid   ○ centre found", 12, size - 12);
}

/** A square view of the data and centroids with a margin, so both axes
 *  keep the same scale. */
function bounds(points, centroids) {
  let [xmin, ymin, xmax, ymax] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const xs of [points, centroids]) {
    for (let i = 0; i + 1 < xs.length; i += 2) {
      xmin = Math.min(xmin, xs[i]); xmax = Math.max(xmax, xs[i]);
      ymin = Math.min(ymin, xs[i + 1]); ymax = Math.max(ymax, xs[i + 1]);
    }
  }
  const span = Math.max(xmax - xmin, ymax - ymin, 1e-6) * 1.1;
  return { x0: (xmin + xmax - span) / 2, y0: (ymin + ymax - span) / 2, span };
}

function message(e) {
  return e instanceof Error ? e.message : String(e);
}

function showError(e) {
  api.error = message(e);
  $("error").textContent = `Error: ${api.error}`;
  $("error").classList.remove("hidden");
  console.error(e);
}

function clearError() {
  api.error = null;
  $("error").textContent = "";
  $("error").classList.add("hidden");
}

function finish() {
  api.done = true;
  resolveReady();
}
