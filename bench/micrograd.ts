// Bench: micrograd's moons demo (100 SGD steps of a 337-parameter MLP on 100 points, ~66k
// Values per step) in TypeScript, and, when Python has the `micrograd` package, the original on
// the very same data and weights in the same run, for a ratio.
//   npx tsx bench/micrograd.ts [--steps 100] [--repeats 3] [--python-steps 3] [--no-python]
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { makeMoons } from '../src/micrograd/moons.js';
import { trainMoons } from '../src/micrograd/demo.js';
import { NumpyRandomState } from '../src/random/numpy.js';

export interface MicrogradBenchOptions {
  /** Steps of the TypeScript run; default 100 (the demo). */
  steps?: number;
  /** Timed TypeScript runs; the first is reported as "first run", the best as "warm". Default 3. */
  repeats?: number;
  /** Steps of the Python original (0 skips it). The demo's 100 take minutes; default 3, extrapolated. */
  pythonSteps?: number;
  /** Where to print; default console.log. */
  log?: (line: string) => void;
}

export interface PythonResult {
  available: boolean;
  /** Why Python was not run, when it was not. */
  reason?: string;
  steps?: number;
  /** Measured seconds for `steps` steps (inside Python, training loop only). */
  seconds?: number;
  /** seconds / steps * demoSteps: an extrapolation unless steps === demoSteps. */
  projectedSeconds?: number;
  /** Python's loss at step 0, which must equal ours (same data, same weights). */
  firstLoss?: number;
}

export interface MicrogradBenchResult {
  steps: number;
  /** Seconds of the first run in this process (includes JIT warm-up). */
  firstRunSeconds: number;
  /** Best of `repeats` runs. */
  warmSeconds: number;
  finalLoss: number;
  finalAccuracy: number;
  python: PythonResult;
  /** Python seconds (projected to `steps`) / our first-run seconds. */
  ratioFirstRun?: number;
  /** Python seconds (projected to `steps`) / our warm seconds. */
  ratioWarm?: number;
}

// The demo's loop with the repo's micrograd, on data passed in (so numpy/sklearn are not needed).
const PYTHON_DEMO = String.raw`
import json, random, sys, time
from micrograd.engine import Value
from micrograd.nn import MLP
cfg = json.load(sys.stdin)
X, y, steps = cfg["X"], cfg["y"], cfg["steps"]
random.seed(1337)
model = MLP(2, [16, 16, 1])
def loss():
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p*p for p in model.parameters()))
    return data_loss + reg_loss
first = None
t0 = time.perf_counter()
for k in range(steps):
    total_loss = loss()
    if k == 0: first = total_loss.data
    model.zero_grad()
    total_loss.backward()
    lr = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= lr * p.grad
print(json.dumps({"seconds": time.perf_counter() - t0, "first": first}))
`;

function runPython(steps: number, demoSteps: number): PythonResult {
  const probe = spawnSync('python3', ['-c', 'import micrograd'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? `python3 not found (${probe.error.message})` : 'python3 has no micrograd package (pip install micrograd)';
    return { available: false, reason: why };
  }
  const { X, y } = makeMoons(100, 0.1, new NumpyRandomState(1337));
  const input = JSON.stringify({ X, y: y.map((c) => c * 2 - 1), steps });
  const run = spawnSync('python3', ['-c', PYTHON_DEMO], { input, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) {
    return { available: false, reason: `the Python run failed: ${(run.stderr || run.error?.message || '').trim().split('\n').pop()}` };
  }
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as { seconds: number; first: number };
  return {
    available: true,
    steps,
    seconds: out.seconds,
    projectedSeconds: (out.seconds / steps) * demoSteps,
    firstLoss: out.first,
  };
}

export async function benchMicrograd(opts: MicrogradBenchOptions = {}): Promise<MicrogradBenchResult> {
  const steps = opts.steps ?? 100;
  const repeats = Math.max(1, opts.repeats ?? 3);
  const pythonSteps = opts.pythonSteps ?? 3;
  const log = opts.log ?? ((s: string) => console.log(s));

  log(`micrograd: moons demo, MLP(2, [16, 16, 1]), 100 points, ${steps} SGD steps`);
  // Timings on a shared machine mean little without its load.
  log(`  machine: ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)} (1 min) before the run`);
  const times: number[] = [];
  let last = trainMoons({ steps: 0 });
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    last = trainMoons({ steps });
    times.push((performance.now() - t0) / 1000);
  }
  const final = last.history.at(-1);
  const firstRunSeconds = times[0]!;
  const warmSeconds = Math.min(...times);
  log(
    `  TypeScript: first run ${firstRunSeconds.toFixed(3)} s, best of ${repeats} ${warmSeconds.toFixed(3)} s ` +
      `(${((warmSeconds / Math.max(steps, 1)) * 1000).toFixed(2)} ms/step); final loss ${final?.loss ?? NaN}, accuracy ${(final?.accuracy ?? NaN) * 100}%`,
  );

  let python: PythonResult;
  if (pythonSteps <= 0) python = { available: false, reason: 'skipped (--python-steps 0 / --no-python)' };
  else python = runPython(pythonSteps, steps);

  const result: MicrogradBenchResult = {
    steps,
    firstRunSeconds,
    warmSeconds,
    finalLoss: final?.loss ?? NaN,
    finalAccuracy: final?.accuracy ?? NaN,
    python,
  };
  if (python.available) {
    const projected = python.projectedSeconds!;
    result.ratioFirstRun = projected / firstRunSeconds;
    result.ratioWarm = projected / warmSeconds;
    const same = python.firstLoss === last.history[0]?.loss ? 'identical' : `DIFFERENT (${python.firstLoss})`;
    const label = python.steps === steps ? 'measured' : `measured over ${python.steps} steps, extrapolated to ${steps}`;
    log(
      `  Python micrograd: ${python.seconds!.toFixed(2)} s for ${python.steps} steps -> ${projected.toFixed(1)} s for ${steps} (${label}); step-0 loss ${same}`,
    );
    log(`  ratio Python / TypeScript: ${result.ratioFirstRun.toFixed(0)}x (first run), ${result.ratioWarm.toFixed(0)}x (warm)`);
  } else {
    log(`  Python micrograd: not available: ${python.reason}`);
  }
  return result;
}

function argValue(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`bench/micrograd: ${name} needs a non-negative integer, got ${args[i + 1]}`);
  return v;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  benchMicrograd({
    steps: argValue(args, '--steps'),
    repeats: argValue(args, '--repeats'),
    pythonSteps: args.includes('--no-python') ? 0 : argValue(args, '--python-steps'),
  }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
