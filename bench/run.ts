// `npm run bench`: ferrograd's kernels and whole training steps, with the peers (numpy/OpenBLAS,
// PyTorch CPU, TensorFlow.js cpu and wasm) measured in the same session on the same machine.
//
//   npm run bench                      everything (a few minutes)
//   npm run bench -- --quick           short runs, one variant per peer: a smoke check
//   npm run bench -- --no-peers        ferrograd only
//   npm run bench -- --only mlp3       one section (matmul, ops, mlp3, mlp2, micrograd; comma-separated)
//
// Prints each measurement as it is taken, then a compact table, and writes the table as JSON to
// out/bench/latest.json (peers' raw output in out/bench/peers/).
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { getBackend, nativeAvailable } from '../index.js';
import { benchMatmul } from './matmul.js';
import { benchOps } from './ops.js';
import { COMPILED_IMPL, NN_IMPL, compiledStep, loadDataset, makeMlp2, makeMlp3, makeMlp3Nn, type Dataset } from './mlp.js';
import { benchTraining } from './train.js';
import { MALLOC_TUNED, V8_SWEEP_DEFAULT, runChildMlp3 } from './tuned-child.js';
import { PROJECT_ROOT, runPeers } from './peers.js';
import { mlp2Case, mlp3Case } from './cases.js';
import { benchWaveNet } from './wavenet.js';
import { FERROGRAD, Results } from './results.js';
import { checkTargets, formatTargets } from './targets.js';
import type { TimingOptions } from './timing.js';
import type { MicrogradBenchResult } from './micrograd.js';

const SECTIONS = ['matmul', 'ops', 'mlp3', 'mlp2', 'micrograd', 'wavenet'] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  quick: boolean;
  peers: boolean;
  only?: string;
  json: string;
}

function parseSections(only: string | undefined): Set<Section> {
  if (only === undefined) return new Set(SECTIONS);
  const picked = only.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of picked) {
    if (!(SECTIONS as readonly string[]).includes(s)) {
      throw new Error(`bench: unknown section '${s}' in --only; expected one or more of ${SECTIONS.join(', ')} (comma-separated)`);
    }
  }
  return new Set(picked as Section[]);
}

function machine(): Record<string, unknown> {
  let model = cpus()[0]?.model ?? 'unknown';
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' });
  if (lscpu.status === 0) {
    const m = /^Model name:\s*(.+)$/m.exec(lscpu.stdout);
    if (m) model = m[1].trim();
  }
  return { cpu: model, logicalCpus: cpus().length, memGiB: +(totalmem() / 2 ** 30).toFixed(1), os: `${platform()} ${release()}`, node: process.version,
    loadAverage1m: +loadavg()[0].toFixed(2), scheduling: schedPolicy() };
}

/** The scheduling policy of this process (the bench may be run under `chrt -f` on a shared machine). */
function schedPolicy(): string {
  try {
    const m = /^policy\s*:\s*(\d+)/m.exec(readFileSync('/proc/self/sched', 'utf8'));
    const names: Record<string, string> = { '0': 'SCHED_OTHER', '1': 'SCHED_FIFO', '2': 'SCHED_RR', '3': 'SCHED_BATCH', '5': 'SCHED_IDLE' };
    return m ? names[m[1]] ?? `policy ${m[1]}` : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The commit measured, and whether the working tree had uncommitted changes. */
function gitState(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? ' (with uncommitted changes)' : ''}`;
}

function section(title: string): void {
  console.log(`\n== ${title}`);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench')
    .description("ferrograd benchmarks beside numpy, PyTorch and TensorFlow.js, measured in this run")
    .option('--quick', 'short runs and one variant per peer (a smoke check)', false)
    .option('--no-peers', 'skip the peers')
    .option('--only <sections>', `run only these sections: ${SECTIONS.join(', ')} (comma-separated)`)
    .option('--json <path>', 'where to write the results', join(PROJECT_ROOT, 'out', 'bench', 'latest.json'))
    .parse(process.argv);
  const opts = program.opts<Options>();
  const sections = parseSections(opts.only);
  const results = new Results();
  const started = new Date();
  const native = nativeAvailable();
  const machineAtStart = machine();
  console.log(`ferrograd bench, ${started.toISOString()}, ${JSON.stringify(machineAtStart)}`);
  if (loadavg()[0] > cpus().length / 2) {
    console.log(`WARNING: load average ${loadavg()[0].toFixed(2)} before starting: other processes compete for the CPU and every figure below is slowed by them`);
  }
  console.log(`git ${gitState()}; native addon: ${native ? 'loaded' : 'NOT available (npm run build:native)'}; default threads ${getBackend().getNumThreads()}`);
  if (!native) {
    results.missing({ impl: 'ferrograd (native backend)', reason: 'native/ferrograd.node did not load', install: 'npm run build:native' });
  }
  const threadsBoth = opts.quick ? [1] : [1, 2];
  const mlpTiming: TimingOptions = opts.quick ? { warm: 5, minMs: 150, reps: 3 } : { warm: 20, minMs: 700, reps: 7 };

  if (sections.has('matmul') && native) {
    section('matmul (tensor API a.matmul(b), output allocated per call; kernel alone in parentheses)');
    try {
      benchMatmul(results, { quick: opts.quick, threads: threadsBoth });
    } catch (e) {
      results.error('matmul', e);
    }
  }

  if (sections.has('ops')) {
    section('per-op overhead (tensor API, no grad)');
    try {
      benchOps(results, { quick: opts.quick });
    } catch (e) {
      results.error('ops', e);
    }
  }

  let ds: Dataset | null = null;
  const dataset = (): Dataset => (ds ??= loadDataset(3));

  if (sections.has('mlp3')) {
    section('makemore part 3 MLP training step (emb 10, block 3, hidden 200, BatchNorm, tanh; SGD 0.1; loss.item() every step)');
    for (const batch of [32, 1024]) {
      const kase = mlp3Case(batch);
      const cases = [
        ...(native
          ? [
              { impl: FERROGRAD, backend: 'native' as const, threads: 1, make: () => makeMlp3(dataset(), batch) },
              { impl: NN_IMPL, backend: 'native' as const, threads: 1, make: () => makeMlp3Nn(dataset(), batch) },
              { impl: COMPILED_IMPL, backend: 'native' as const, threads: 1, make: () => compiledStep(makeMlp3(dataset(), batch)) },
              { impl: `${NN_IMPL}, compile(step)`, backend: 'native' as const, threads: 1, make: () => compiledStep(makeMlp3Nn(dataset(), batch)) },
              ...(opts.quick ? [] : [
                { impl: 'ferrograd, 2 threads', backend: 'native' as const, threads: 2, make: () => makeMlp3(dataset(), batch) },
                { impl: "ferrograd, lecture's composed BatchNorm", backend: 'native' as const, threads: 1, make: () => makeMlp3(dataset(), batch, 'composed') },
              ]),
            ]
          : []),
        {
          impl: 'ferrograd, reference backend (TS loops)', backend: 'reference' as const, threads: 1,
          make: () => makeMlp3(dataset(), batch),
          timing: opts.quick ? { warm: 1, minMs: 100, reps: 3 } : { warm: 2, minMs: 400, reps: 5 },
        },
      ];
      for (const c of cases) {
        try {
          await benchTraining(results, { section: 'mlp3', case: kase, timing: mlpTiming, ...c });
        } catch (e) {
          results.error(`${kase} [${c.impl}]`, e);
        }
      }
      if (native && !opts.quick) {
        for (const variant of [MALLOC_TUNED, V8_SWEEP_DEFAULT]) {
          try {
            runChildMlp3(results, batch, mlpTiming, variant);
          } catch (e) {
            results.error(`${kase} [${variant.impl}]`, e);
          }
        }
      }
    }
  }

  if (sections.has('mlp2') && native) {
    section('makemore part 2 MLP training step (emb 10, block 3, hidden 200 with bias, tanh, no BatchNorm)');
    for (const batch of [32, 1024]) {
      try {
        await benchTraining(results, {
          section: 'mlp2', case: mlp2Case(batch), impl: FERROGRAD, backend: 'native', threads: 1,
          make: () => makeMlp2(dataset(), batch), timing: mlpTiming,
        });
      } catch (e) {
        results.error(mlp2Case(batch), e);
      }
    }
  }

  if (sections.has('micrograd')) {
    section('micrograd moons demo');
    const file = join(PROJECT_ROOT, 'bench', 'micrograd.ts');
    if (!existsSync(file)) {
      results.missing({ impl: 'micrograd demo', reason: 'bench/micrograd.ts does not exist yet', install: 'written by the micrograd engineer' });
      console.log('  bench/micrograd.ts not present; skipped');
    } else {
      try {
        // Imported at run time so that the rest of the bench runs whatever state that file is in.
        const mod = (await import(pathToFileURL(file).href)) as Partial<typeof import('./micrograd.js')>;
        if (typeof mod.benchMicrograd !== 'function') throw new Error('bench/micrograd.ts does not export benchMicrograd');
        addMicrograd(results, await mod.benchMicrograd(opts.quick ? { repeats: 1, pythonSteps: 1 } : {}));
      } catch (e) {
        results.error('micrograd', e);
      }
    }
  }

  if (sections.has('wavenet')) {
    section('makemore part 5 WaveNet training step (batch 32) and its convolutional twin, with PyTorch eager, JAX jit and TensorFlow.js wasm');
    await benchWaveNet(results, { quick: opts.quick, peers: opts.peers, timing: mlpTiming, native }).catch((e) => results.error('wavenet', e));
  }

  if (opts.peers) {
    section('peers (run now, on this machine)');
    runPeers({ matmul: sections.has('matmul'), ops: sections.has('ops'), mlp3: sections.has('mlp3'), quick: opts.quick }, results);
  }

  section('summary');
  console.log(results.table());
  console.log(`\nissue 10's targets, from this run:\n${formatTargets(checkTargets(results))}`);
  results.writeJson(opts.json, {
    date: started.toISOString(),
    durationSeconds: (Date.now() - started.getTime()) / 1e3,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machineAtStart: machineAtStart,
    machineAtEnd: machine(),
    ferrograd: { version: JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version, nativeAddon: native, git: gitState() },
    options: { quick: opts.quick, peers: opts.peers, sections: [...sections] },
  });
  // Said relative to the repository, so a recorded run names no machine's folders.
  console.log(`\nwrote ${relative(PROJECT_ROOT, resolve(opts.json)) || opts.json}`);
}

/** benchMicrograd's result as rows: our warm and first runs, and Python's micrograd when it ran. */
function addMicrograd(results: Results, r: MicrogradBenchResult): void {
  const kase = `moons demo, MLP(2, [16, 16, 1]), ${r.steps} SGD steps`;
  const base = { section: 'micrograd', case: kase, metric: 'steps/s' as const };
  results.add({ ...base, impl: FERROGRAD, value: r.steps / r.warmSeconds, detail: { seconds: r.warmSeconds, finalLoss: r.finalLoss, finalAccuracy: r.finalAccuracy, run: 'best of repeats' } });
  results.add({ ...base, impl: 'ferrograd, first run (JIT warm-up)', value: r.steps / r.firstRunSeconds, detail: { seconds: r.firstRunSeconds } });
  if (r.python.available && r.python.projectedSeconds) {
    const extrapolated = r.python.steps !== r.steps;
    results.add({
      ...base, impl: `Python micrograd${extrapolated ? ` (timed over ${r.python.steps} steps)` : ''}`, value: r.steps / r.python.projectedSeconds,
      detail: { ...r.python },
    });
  } else {
    results.missing({ impl: 'Python micrograd', reason: r.python.reason ?? 'not run', install: 'pip install micrograd' });
  }
}

main().catch((e) => {
  // Usage errors get their message alone; anything else its stack.
  const usage = e instanceof Error && e.message.startsWith('bench:');
  console.error(e instanceof Error ? (usage ? e.message : e.stack ?? e.message) : e);
  process.exit(1);
});
