// makemore part 5: the WaveNet training step (block 8, n_embd 24, n_hidden 128, FlattenConsecutive(2)
// x 3, BatchNorm over (0, 1), SGD 0.1, loss.item() every step) at batch 32, and the same model as
// dilated convolutions trained on every position of 32 words per step (examples/s), beside PyTorch
// eager (shared/peers/torch_mlp.py), JAX jit (jit_peers.py) and TensorFlow.js wasm (tfjs_bench.js),
// all run in this session.
//
// Three ferrograd variants of the hierarchical step: the library's makemore.WaveNet (the notebook's
// layers as nn.Modules, optim.SGD), and the same computation written with raw tensor ops (the
// floor of the library's per-module cost).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { F, Generator, cat, getBackend, makemore, manualSeed, noGrad, ones, randint, randn, zeros, type Tensor } from '../index.js';
import { COMPILED_IMPL, compiledStep, loadDataset, type Dataset, type Phase, type TrainStep } from './mlp.js';
import { benchTraining } from './train.js';
import { FERROGRAD, type Results } from './results.js';
import { PROJECT_ROOT, peersDir } from './peers.js';
import type { TimingOptions } from './timing.js';

export const WAVENET_CASE = 'part 5 WaveNet (76,579 params), batch 32';
export const CONV_CASE = 'part 5 WaveNet as dilated convolutions, 32 words per step (~228 examples)';

const N_EMBD = 24;
const N_HIDDEN = 128;

/** Matmul FLOPs of one step: forward plus the two backward products of each layer. */
function wavenetFlop(batch: number, V: number): number {
  return 3 * 2 * batch * (4 * 48 * N_HIDDEN + 2 * 256 * N_HIDDEN + 256 * N_HIDDEN + N_HIDDEN * V);
}

/** The library's model and loop body: makemore.WaveNet, cross-entropy, optim.SGD (the lecture's update). */
export function makeWaveNetModule(ds: Dataset, batch: number): TrainStep {
  const model = makemore.createWaveNet();
  const params = model.parameters();
  const opt = makemore.lectureSgd(params);
  const n = ds.Xtr.shape[0]!;
  const step = (mark?: (phase: Phase) => void): number => {
    const ix = randint(0, n, [batch]);
    const Xb = ds.Xtr.index(ix);
    const Yb = ds.Ytr.index(ix);
    mark?.('sample');
    const loss = F.crossEntropy(model.layers.forward(Xb), Yb);
    mark?.('forward');
    opt.zeroGrad();
    loss.backward();
    mark?.('backward');
    opt.step();
    const value = loss.item();
    mark?.('update');
    return value;
  };
  return { step, params, flop: wavenetFlop(batch, ds.vocab) };
}

/** The same step in raw tensor ops, as a learner would write it without the layer classes. */
export function makeWaveNetRaw(ds: Dataset, batch: number): TrainStep {
  const V = ds.vocab;
  const g = new Generator().manualSeed(42);
  const C = randn([V, N_EMBD], { generator: g });
  const Ws = [randn([2 * N_EMBD, N_HIDDEN], { generator: g }).div(Math.sqrt(2 * N_EMBD))];
  for (let k = 0; k < 2; k++) Ws.push(randn([2 * N_HIDDEN, N_HIDDEN], { generator: g }).div(Math.sqrt(2 * N_HIDDEN)));
  const Wo = randn([N_HIDDEN, V], { generator: g }).div(Math.sqrt(N_HIDDEN)).mul(0.1);
  const bo = zeros([V]);
  const gammas = [0, 1, 2].map(() => ones([N_HIDDEN]));
  const betas = [0, 1, 2].map(() => zeros([N_HIDDEN]));
  const rMean = [0, 1, 2].map(() => zeros([N_HIDDEN]));
  const rVar = [0, 1, 2].map(() => ones([N_HIDDEN]));
  const params = [C, ...Ws, ...gammas, ...betas, Wo, bo];
  for (const p of params) p.requiresGrad = true;
  const n = ds.Xtr.shape[0]!;
  const step = (mark?: (phase: Phase) => void): number => {
    const ix = randint(0, n, [batch], { generator: g });
    const Xb = ds.Xtr.index(ix);
    const Yb = ds.Ytr.index(ix);
    mark?.('sample');
    let x: Tensor = C.index(Xb); // [B, 8, 24]
    for (let k = 0; k < 3; k++) {
      const [B, T, Ch] = x.shape as [number, number, number];
      x = x.reshape([B, T / 2, Ch * 2]);
      if (T / 2 === 1) x = x.squeeze(1);
      x = F.batchNorm(x.matmul(Ws[k]!), { weight: gammas[k], bias: betas[k], runningMean: rMean[k], runningVar: rVar[k], correction: 1 }).tanh();
    }
    const loss = F.crossEntropy(x.matmul(Wo).add(bo), Yb);
    mark?.('forward');
    for (const p of params) p.grad = null;
    loss.backward();
    mark?.('backward');
    noGrad(() => {
      for (const p of params) p.sub_(p.grad!, 0.1);
    });
    const value = loss.item();
    mark?.('update');
    return value;
  };
  return { step, params, flop: wavenetFlop(batch, V) };
}

/** One step of the convolutional model on 32 random training words; `examples` counts the positions trained. */
function makeConvStep(impl: makemore.ConvImpl): TrainStep & { examplesPerStep: () => number } {
  const words = makemore.readWords();
  const vocab = makemore.Vocabulary.fromWords(words);
  const seqs = new makemore.WordSequences(makemore.splitWords(words).train, vocab);
  const net = makemore.createWaveNetConv();
  net.impl = impl;
  const opt = makemore.lectureSgd(net.parameters());
  for (const g of opt.paramGroups) g.weightDecay = makemore.CONV_TRAINING.weightDecay; // the training run's settings
  let examples = 0;
  let steps = 0;
  const step = (mark?: (phase: Phase) => void): number => {
    const rows = randint(0, seqs.count, [32]).flat() as Int32Array;
    const batch = seqs.batch(rows);
    mark?.('sample');
    const loss = net.loss(batch);
    mark?.('forward');
    const value = makemore.sgdStep(opt, loss, 0.1);
    mark?.('update');
    examples += batch.examples;
    steps++;
    return value;
  };
  return { step, params: net.parameters(), flop: 0, examplesPerStep: () => examples / Math.max(1, steps) };
}

// ---- peers ---------------------------------------------------------------------------------

interface PeerFigure {
  impl: string;
  value: number;
  min: number;
  max: number;
  loss?: string;
}

function runPeer(id: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): string | null {
  const dir = peersDir();
  process.stdout.write(`  running peer ${id}: ${cmd} ${args.join(' ')} ... `);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 });
  const raw = join(PROJECT_ROOT, 'out', 'bench', 'peers');
  mkdirSync(raw, { recursive: true });
  writeFileSync(join(raw, `${id}.txt`), `$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}\n--- stderr ---\n${r.stderr ?? ''}`);
  const secs = ((Date.now() - t0) / 1e3).toFixed(1);
  if (r.error || r.status !== 0) {
    console.log(`failed after ${secs} s: ${r.error?.message ?? (r.stderr || '').trim().split('\n').slice(-1)[0]}`);
    return null;
  }
  console.log(`${secs} s`);
  return r.stdout;
}

/** `... WaveNet(part5) B=32 ...: 975.3 steps/s (min..max 950.1..990.2) ... loss 3.317 -> 2.9` (torch, tfjs) and `jax-jit wavenet B=32: ...` (JAX). */
export function parseWaveNetLine(text: string, tag: RegExp): PeerFigure | null {
  for (const line of text.split('\n')) {
    if (!tag.test(line)) continue;
    const m = /B=32[^:]*: ([\d.]+) steps\/s \(min\.\.max ([\d.]+)\.\.([\d.]+)\)/.exec(line);
    if (!m) continue;
    const loss = /loss ([\d.]+ -> [\d.]+)/.exec(line);
    return { impl: '', value: +m[1]!, min: +m[2]!, max: +m[3]!, loss: loss?.[1] };
  }
  return null;
}

function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', NAMES_TXT: join(PROJECT_ROOT, 'data', 'names.txt') };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const target = join(PROJECT_ROOT, 'scratch', 'peers', 'pytorch');
  if (existsSync(target)) env.PYTHONPATH = [target, env.PYTHONPATH].filter(Boolean).join(delimiter);
  return env;
}

function probe(module: string): string | null {
  const r = spawnSync(process.env.FERROGRAD_PYTHON ?? 'python3', ['-c', `import ${module}; print(${module}.__version__)`], { env: pythonEnv(), encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function runWaveNetPeers(results: Results, quick: boolean): void {
  const python = process.env.FERROGRAD_PYTHON ?? 'python3';
  const dir = peersDir();
  if (!existsSync(join(dir, 'torch_mlp.py'))) {
    results.missing({ impl: 'WaveNet peers', reason: `peer scripts not found in ${dir}`, install: 'set FERROGRAD_PEERS_DIR' });
    return;
  }
  const add = (impl: string, f: PeerFigure | null, what: string) => {
    if (!f) {
      results.error(`peer ${impl}`, new Error(`no ${what} line in its output`));
      return;
    }
    results.add({ section: 'wavenet', case: WAVENET_CASE, impl, metric: 'steps/s', value: f.value, min: f.min, max: f.max, detail: { loss: f.loss } });
    console.log(`  ${WAVENET_CASE} [${impl}]: ${f.value.toFixed(1)} steps/s (min..max ${f.min.toFixed(1)}..${f.max.toFixed(1)})`);
  };
  const torch = probe('torch');
  if (!torch) results.missing({ impl: 'torch', reason: `${python} cannot import torch`, install: 'pip install torch' });
  else {
    const out = runPeer('torch-wavenet-1t', python, ['torch_mlp.py', '--threads', '1'], pythonEnv(), 900_000);
    if (out) add(`torch ${torch} eager`, parseWaveNetLine(out, /WaveNet\(part5\)/), 'WaveNet(part5)');
  }
  const jax = probe('jax');
  if (!jax) results.missing({ impl: 'jax', reason: `${python} cannot import jax`, install: 'pip install jax' });
  else if (!quick) {
    const out = runPeer('jax-wavenet-1t', python, ['jit_peers.py', '--threads', '1', '--only', 'jax', '--batches', '32'], pythonEnv(), 900_000);
    if (out) add(`jax ${jax} jit`, parseWaveNetLine(out, /jax-jit wavenet/), 'jax-jit wavenet');
  }
  const tfjsModules = process.env.FERROGRAD_TFJS_NODE_MODULES ?? join(PROJECT_ROOT, 'scratch', 'peers', 'tfjs', 'node_modules');
  const tfjsPkg = join(tfjsModules, '@tensorflow', 'tfjs', 'package.json');
  if (!existsSync(tfjsPkg) || !existsSync(join(tfjsModules, '@tensorflow', 'tfjs-backend-wasm', 'package.json'))) {
    results.missing({ impl: 'tfjs-wasm', reason: `@tensorflow/tfjs(-backend-wasm) not found under ${tfjsModules}`, install: 'npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 in scratch/peers/tfjs' });
  } else {
    const version = JSON.parse(readFileSync(tfjsPkg, 'utf8')).version as string;
    const env = { ...process.env, NODE_PATH: tfjsModules, NAMES_TXT: join(PROJECT_ROOT, 'data', 'names.txt') };
    const out = runPeer('tfjs-wasm-wavenet', process.execPath, ['tfjs_bench.js', '--backend', 'wasm', '--only', 'wavenet'], env, 900_000);
    if (out) add(`tfjs ${version} wasm`, parseWaveNetLine(out, /WaveNet\(part5\)/), 'WaveNet(part5)');
  }
}

// ---- the section ---------------------------------------------------------------------------

export async function benchWaveNet(results: Results, opts: { quick: boolean; peers: boolean; timing: TimingOptions; native: boolean }): Promise<void> {
  const ds = loadDataset(8);
  const backend = opts.native ? ('native' as const) : ('reference' as const);
  const cases: { impl: string; threads: number; make: () => TrainStep }[] = [
    { impl: FERROGRAD, threads: 1, make: () => makeWaveNetModule(ds, 32) },
    { impl: COMPILED_IMPL, threads: 1, make: () => compiledStep(makeWaveNetModule(ds, 32)) },
    ...(opts.quick ? [] : [
      { impl: 'ferrograd, 2 threads', threads: 2, make: () => makeWaveNetModule(ds, 32) },
      { impl: 'ferrograd, raw tensor ops (no layer classes)', threads: 1, make: () => makeWaveNetRaw(ds, 32) },
    ]),
  ];
  for (const c of cases) {
    try {
      await benchTraining(results, { section: 'wavenet', case: WAVENET_CASE, backend, timing: opts.timing, ...c });
    } catch (e) {
      results.error(`${WAVENET_CASE} [${c.impl}]`, e);
    }
  }
  // The convolution: steps/s of 32 words, reported as training examples (positions) per second.
  for (const impl of ['unfold', 'conv1d'] as const) {
    try {
      let made: ReturnType<typeof makeConvStep> | null = null;
      const row = await benchTraining(results, {
        section: 'wavenet', case: CONV_CASE, impl: `ferrograd WaveNetConv (${impl === 'unfold' ? "'unfold': kernel-2 convolution as one matmul" : "'conv1d': nn.Conv1d / F.conv1d kernel"})`,
        backend, threads: 1, timing: opts.timing,
        make: () => (made = makeConvStep(impl)),
      });
      if (row && made) {
        const perStep = (made as ReturnType<typeof makeConvStep>).examplesPerStep();
        row.detail = { ...row.detail, examplesPerStep: perStep, examplesPerSecond: row.value * perStep };
        console.log(`    = ${(row.value * perStep).toFixed(0)} training examples/s (${perStep.toFixed(1)} positions per step); the hierarchical step trains 32`);
      }
    } catch (e) {
      results.error(`${CONV_CASE} [${impl}]`, e);
    }
  }
  manualSeed(42);
  if (opts.peers) runWaveNetPeers(results, opts.quick);
  const ours = results.rows.find((r) => r.section === 'wavenet' && r.case === WAVENET_CASE && r.impl === FERROGRAD);
  const torch = results.rows.find((r) => r.section === 'wavenet' && r.case === WAVENET_CASE && r.impl.startsWith('torch'));
  if (ours && torch) {
    console.log(`  WaveNet batch 32: ferrograd ${ours.value.toFixed(0)} steps/s = ${(ours.value / torch.value).toFixed(2)}x PyTorch eager (${torch.value.toFixed(0)}); target 2x`);
  }
}

// ---- where the time goes: `npx tsx bench/wavenet.ts --profile [--steps 2000] [--conv [--conv1d]]` ----

/** Times every Backend method (the addon's kernels) during `steps` steps; prints kernel vs TypeScript time per step. */
export function profileWaveNet(steps = 2000, which: 'hierarchical' | 'conv' = 'hierarchical', convImpl: makemore.ConvImpl = 'unfold'): void {
  const ts = which === 'conv' ? makeConvStep(convImpl) : makeWaveNetModule(loadDataset(8), 32);
  for (let i = 0; i < 100; i++) ts.step();
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) ts.step();
  const plainUs = ((performance.now() - t0) * 1e3) / steps;
  const be = getBackend() as unknown as Record<string, unknown>;
  const acc = new Map<string, { calls: number; ms: number }>();
  const saved: [string, unknown, boolean][] = [];
  const names = new Set<string>();
  for (let o: object | null = be; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor' && typeof be[k] === 'function' && !/NumThreads/.test(k)) names.add(k);
  }
  for (const name of names) {
    const orig = be[name] as (...a: unknown[]) => unknown;
    const a = { calls: 0, ms: 0 };
    acc.set(name, a);
    saved.push([name, orig, Object.prototype.hasOwnProperty.call(be, name)]);
    be[name] = function timed(this: unknown, ...args: unknown[]) {
      const s = performance.now();
      try {
        return orig.apply(this, args);
      } finally {
        a.ms += performance.now() - s;
        a.calls++;
      }
    };
  }
  const phases = new Map<Phase, number>();
  let prev = 0;
  const mark = (p: Phase) => {
    const now = performance.now();
    phases.set(p, (phases.get(p) ?? 0) + now - prev);
    prev = now;
  };
  t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    prev = performance.now();
    ts.step(mark);
  }
  const tracedUs = ((performance.now() - t0) * 1e3) / steps;
  for (const [name, orig, own] of saved) {
    if (own) be[name] = orig;
    else delete be[name];
  }
  const rows = [...acc].filter(([, a]) => a.calls > 0).sort((x, y) => y[1].ms - x[1].ms);
  const kernelUs = rows.reduce((s, [, a]) => s + a.ms, 0) * 1e3 / steps;
  console.log(`${which} step: ${plainUs.toFixed(1)} µs uninstrumented (${(1e6 / plainUs).toFixed(0)} steps/s); instrumented ${tracedUs.toFixed(1)} µs, of which kernels ${kernelUs.toFixed(1)} µs, TypeScript (checks, views, autograd graph, allocation, GC) ${(tracedUs - kernelUs).toFixed(1)} µs`);
  console.log(`phases (µs/step): ${[...phases].map(([p, ms]) => `${p} ${((ms * 1e3) / steps).toFixed(1)}`).join(', ')}`);
  for (const [name, a] of rows.slice(0, 16)) {
    console.log(`  ${name.padEnd(28)} ${((a.ms * 1e3) / steps).toFixed(1).padStart(8)} µs/step  ${(a.calls / steps).toFixed(1).padStart(6)} calls/step  ${((a.ms * 1e6) / a.calls).toFixed(0).padStart(7)} ns/call`);
  }
}

// ---- one conv layer: `npx tsx bench/wavenet.ts --conv-layer` ----------------------------------------

/**
 * Forward + backward (input and weight gradients) of one kernel-2 dilated convolution, ms per call:
 * F.conv1d on [B, C, T], the same through the transposes WaveNetConv uses around it, and the
 * unfolded matmul ('unfold'), at the WaveNet's layer shapes and one long sequence.
 */
export function benchConvLayer(): void {
  for (const [B, C, T, d, n] of [[32, 24, 29, 1, 300], [32, 128, 28, 2, 300], [32, 128, 26, 4, 300], [1, 64, 20000, 4, 20]] as const) {
    const xT = randn([B, T, C]).requiresGrad_(true); // channels last, as WaveNetConv keeps them
    const x = xT.detach().transpose(1, 2).contiguous().requiresGrad_(true);
    const w = randn([C, C, 2]).requiresGrad_(true);
    const time = (f: () => void) => {
      for (let i = 0; i < 20; i++) f();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) f();
      return ((performance.now() - t0) / n).toFixed(3);
    };
    const conv = time(() => { x.grad = w.grad = null; F.conv1d(x, w, null, { dilation: d }).sum().backward(); });
    const viaT = time(() => { xT.grad = w.grad = null; F.conv1d(xT.transpose(1, 2), w, null, { dilation: d }).transpose(1, 2).contiguous().sum().backward(); });
    const unfold = time(() => {
      xT.grad = w.grad = null;
      cat([xT.slice(1, 0, T - d), xT.slice(1, d, T)], 2).matmul(w.permute(2, 1, 0).reshape([2 * C, C])).sum().backward();
    });
    console.log(`[${B}, ${C}, ${T}] dilation ${d}: F.conv1d ${conv} ms, with WaveNetConv's transposes ${viaT} ms, unfolded matmul ${unfold} ms`);
  }
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes('--conv-layer')) {
  getBackend().setNumThreads(1);
  benchConvLayer();
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes('--profile')) {
  const at = process.argv.indexOf('--steps');
  getBackend().setNumThreads(1);
  profileWaveNet(at > 0 ? Number(process.argv[at + 1]) : 2000, process.argv.includes('--conv') ? 'conv' : 'hierarchical', process.argv.includes('--conv1d') ? 'conv1d' : 'unfold');
}
