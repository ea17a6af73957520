// Peers measured in the same `npm run bench` session: numpy (OpenBLAS), PyTorch CPU eager and
// TensorFlow.js (cpu, wasm), by running their measuring scripts from where they live
// (../shared/peers next to the checkout, or FERROGRAD_PEERS_DIR) and parsing what they print.
// Peers are discovered at run time; one that is not installed is reported as "not available"
// with how to install it, never given a number.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import type { Results } from './results.js';
import { matmulCase, mlp3Case } from './cases.js';
import { MALLOC_TUNING } from './tuned-child.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
/**
 * Where the peers' measuring scripts are: FERROGRAD_PEERS_DIR, else `shared/peers` beside the
 * checkout (the project keeps its shared material one level up, in ../shared).
 */
export function peersDir(env: NodeJS.ProcessEnv = process.env, root: string = PROJECT_ROOT): string {
  return env.FERROGRAD_PEERS_DIR ? resolve(env.FERROGRAD_PEERS_DIR) : resolve(root, '..', 'shared', 'peers');
}
const PEERS_DIR = peersDir();
const NAMES_TXT = join(PROJECT_ROOT, 'data', 'names.txt');
/** Our own numpy script for the backward layouts (the peers' scripts time contiguous products). */
const LAYOUTS_SCRIPT = join(PROJECT_ROOT, 'bench', 'np_matmul_layouts.py');
const RAW_DIR = join(PROJECT_ROOT, 'out', 'bench', 'peers');
const PYTHON = process.env.FERROGRAD_PYTHON ?? 'python3';
// A torch installed with `pip install --target scratch/peers/pytorch` is found through PYTHONPATH.
const TORCH_TARGET = join(PROJECT_ROOT, 'scratch', 'peers', 'pytorch');
const TFJS_MODULES = process.env.FERROGRAD_TFJS_NODE_MODULES ?? join(PROJECT_ROOT, 'scratch', 'peers', 'tfjs', 'node_modules');

const INSTALL = {
  numpy: 'pip install numpy',
  torch: 'pip install torch (PyPI ships a CUDA build that also runs CPU-only), or pip install --target scratch/peers/pytorch <wheel>',
  jax: 'pip install jax',
  tfjs:
    'mkdir -p scratch/peers/tfjs && cd scratch/peers/tfjs && npm init -y && npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0, or set FERROGRAD_TFJS_NODE_MODULES',
  scripts: 'set FERROGRAD_PEERS_DIR to the folder holding np_mlp.py, np_matmul.py, torch_mlp.py and tfjs_bench.js',
};

/** The environment the peers README prescribes for OpenBLAS: the core-type overrides unset. */
function pythonEnv(threads: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), NAMES_TXT, ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (existsSync(TORCH_TARGET)) env.PYTHONPATH = [TORCH_TARGET, env.PYTHONPATH].filter(Boolean).join(delimiter);
  return env;
}

interface Probe {
  ok: boolean;
  version?: string;
  reason?: string;
}

function probePython(module: string): Probe {
  const r = spawnSync(PYTHON, ['-c', `import ${module}; print(${module}.__version__)`], {
    env: pythonEnv(1),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) return { ok: false, reason: `${PYTHON} not runnable (${r.error.message})` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() ?? '';
    return { ok: false, reason: `${PYTHON} cannot import ${module}${last ? `: ${last}` : ''}` };
  }
  return { ok: true, version: r.stdout.trim() };
}

function probeTfjs(): Probe {
  const pkgs = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'];
  for (const p of pkgs) {
    if (!existsSync(join(TFJS_MODULES, p, 'package.json'))) return { ok: false, reason: `${p} not found under ${TFJS_MODULES}` };
  }
  const version = JSON.parse(readFileSync(join(TFJS_MODULES, '@tensorflow/tfjs/package.json'), 'utf8')).version as string;
  return { ok: true, version };
}

/** A parsed peer figure. */
export interface PeerMatmul {
  m: number;
  k: number;
  n: number;
  us: number;
  gflops: number;
  gmin: number;
  gmax: number;
}
export interface PeerOp {
  name: string;
  us: number;
  min: number;
  max: number;
}
export interface PeerMlp {
  batch: number;
  steps: number;
  min: number;
  max: number;
  faults?: number;
  sysPct?: number;
  loss?: string;
}

/** Lines like `  1024x1024 @ 1024x1024    6045.71    355.21   (348.92..356.77)`. */
export function parseMatmul(text: string): PeerMatmul[] {
  const out: PeerMatmul[] = [];
  const re = /^\s*(\d+)x(\d+) @ (\d+)x(\d+)\s+([\d.]+)\s+([\d.]+)\s+\(([\d.]+)\.\.([\d.]+)\)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({ m: +m[1], k: +m[2], n: +m[4], us: +m[5], gflops: +m[6], gmin: +m[7], gmax: +m[8] });
  }
  return out;
}

/** bench/np_matmul_layouts.py's lines, like `  32x27 @ 27x200 B^T      4.843     71.35   (70.1..72.0)`:
 *  backward products with their backward operand layout. */
export function parseMatmulLayouts(text: string): PeerMatmul[] {
  const out: PeerMatmul[] = [];
  const re = /^\s*(\d+)x(\d+) @ (\d+)x(\d+) (A\^T|B\^T)\s+([\d.]+)\s+([\d.]+)\s+\(([\d.]+)\.\.([\d.]+)\)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({ m: +m[1], k: +m[2], n: +m[4], us: +m[6], gflops: +m[7], gmin: +m[8], gmax: +m[9] });
  }
  return out;
}

/** The per-op overhead names of the three peer scripts, mapped to one case name each. */
const OP_NAMES: Record<string, string> = {
  'add 1-elem array': 'add, 1 element',
  'add 1-elem': 'add, 1 element',
  'add 1 elem': 'add, 1 element',
  'add 32x200': 'add 32x200',
  'tanh 32x200': 'tanh 32x200',
  'sum(axis0) 32x200': 'sum(dim 0) 32x200',
};

/** Lines like `op add 32x200             1.23 us/op (min..max 1.20..1.40)`. */
export function parseOps(text: string): PeerOp[] {
  const out: PeerOp[] = [];
  const re = /^op (.+?)\s+([\d.]+) us\/op \(min\.\.max ([\d.]+)\.\.([\d.]+)\)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const name = OP_NAMES[m[1].trim()];
    if (name) out.push({ name, us: +m[2], min: +m[3], max: +m[4] });
  }
  return out;
}

/** jit_peers.py's `jax-jit mlp3 B=32: 7719.2 steps/s (min..max 7600.1..7800.3), ...` lines of one tag. */
export function parseJitMlp(text: string, tag: string): PeerMlp[] {
  const out: PeerMlp[] = [];
  const re = /^(\S+ mlp3) B=(\d+): ([\d.]+) steps\/s \(min\.\.max ([\d.]+)\.\.([\d.]+)\)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m || m[1] !== tag) continue;
    const loss = /loss ([\d.]+ -> [\d.]+)/.exec(line);
    out.push({ batch: +m[2], steps: +m[3], min: +m[4], max: +m[5], loss: loss ? loss[1] : undefined });
  }
  return out;
}

/** numpy `numpy MLP B=32: ...`, torch `torch MLP(part3) B=32 params=...: ...`, tfjs `MLP(part3) B=32 params=...: ...`. */
export function parseMlp(text: string): PeerMlp[] {
  const out: PeerMlp[] = [];
  const re = /MLP(?:\(part3\))? B=(\d+)[^:]*: ([\d.]+) steps\/s \(min\.\.max ([\d.]+)\.\.([\d.]+)\)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const faults = /(\d+) minor page faults\/step/.exec(line);
    const sys = /(\d+)% of CPU time in kernel/.exec(line);
    const loss = /loss ([\d.]+ -> [\d.]+)/.exec(line);
    out.push({
      batch: +m[1], steps: +m[2], min: +m[3], max: +m[4],
      faults: faults ? +faults[1] : undefined, sysPct: sys ? +sys[1] : undefined, loss: loss ? loss[1] : undefined,
    });
  }
  return out;
}

interface RunSpec {
  id: string;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** Runs one peer script, keeps its raw output in out/bench/peers/<id>.txt, returns stdout or null. */
function runPeer(spec: RunSpec, results: Results): string | null {
  // Paths inside the project are shown relative to it: the record must not name this machine.
  const shown = `${spec.cmd} ${spec.args.map((a) => (a.startsWith(PROJECT_ROOT) ? relative(PROJECT_ROOT, a) : a)).join(' ')}`;
  process.stdout.write(`  running peer ${spec.id}: ${shown} ... `);
  const t0 = Date.now();
  const r = spawnSync(spec.cmd, spec.args, { cwd: PEERS_DIR, env: spec.env, encoding: 'utf8', timeout: spec.timeoutMs, maxBuffer: 16 << 20 });
  const secs = ((Date.now() - t0) / 1e3).toFixed(1);
  mkdirSync(RAW_DIR, { recursive: true });
  writeFileSync(join(RAW_DIR, `${spec.id}.txt`), `$ ${shown}\n${r.stdout ?? ''}\n--- stderr ---\n${r.stderr ?? ''}`);
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`;
    console.log(`failed after ${secs} s`);
    results.error(`peer ${spec.id}`, new Error(why));
    return null;
  }
  console.log(`${secs} s`);
  return r.stdout;
}

export interface PeerPlan {
  matmul: boolean;
  ops: boolean;
  mlp3: boolean;
  quick: boolean;
}

/** Discovers and runs the peers the selected sections need, adding their rows to `results`. */
export function runPeers(plan: PeerPlan, results: Results): void {
  if (!plan.matmul && !plan.ops && !plan.mlp3) return;
  if (!existsSync(join(PEERS_DIR, 'np_mlp.py'))) {
    for (const impl of ['numpy', 'torch', 'tfjs-cpu', 'tfjs-wasm']) {
      results.missing({ impl, reason: `peer scripts not found in ${PEERS_DIR}`, install: INSTALL.scripts });
    }
    return;
  }
  const numpy = probePython('numpy');
  const torch = probePython('torch');
  const tfjs = probeTfjs();
  results.peerInfo.numpy = numpy;
  results.peerInfo.torch = torch;
  results.peerInfo.tfjs = tfjs;
  results.peerInfo.dir = relative(PROJECT_ROOT, PEERS_DIR) || '.'; // relative: the record must not name this machine

  if (!numpy.ok) results.missing({ impl: 'numpy', reason: numpy.reason!, install: INSTALL.numpy });
  else {
    const label = `numpy ${numpy.version}`;
    if (plan.matmul || plan.ops) {
      for (const threads of plan.quick ? [1] : [1, 2]) {
        const out = runPeer({ id: `numpy-matmul-${threads}t`, cmd: PYTHON, args: ['np_matmul.py'], env: pythonEnv(threads), timeoutMs: 600_000 }, results);
        if (out === null) continue;
        if (plan.matmul) addMatmul(results, label, threads, parseMatmul(out), true);
        if (plan.ops && threads === 1) addOps(results, label, parseOps(out));
        if (!plan.matmul) continue;
        // The same backward shapes with the operand layouts a training step has (our script).
        const layouts = runPeer(
          { id: `numpy-matmul-layouts-${threads}t`, cmd: PYTHON, args: [LAYOUTS_SCRIPT], env: pythonEnv(threads), timeoutMs: 600_000 },
          results,
        );
        if (layouts !== null) addMatmul(results, label, threads, parseMatmulLayouts(layouts), false);
      }
    }
    if (plan.mlp3) {
      const variants: [string, Record<string, string>, string][] = [['numpy-mlp', {}, label]];
      if (!plan.quick) variants.push(['numpy-mlp-malloc', { GLIBC_TUNABLES: MALLOC_TUNING }, `${label}, malloc tuned`]);
      for (const [id, extra, impl] of variants) {
        const out = runPeer({ id, cmd: PYTHON, args: ['np_mlp.py'], env: pythonEnv(1, extra), timeoutMs: 600_000 }, results);
        if (out !== null) addMlp(results, impl, parseMlp(out));
      }
    }
  }

  if (!torch.ok) results.missing({ impl: 'torch', reason: torch.reason!, install: INSTALL.torch });
  else {
    const out = runPeer({ id: 'torch-1t', cmd: PYTHON, args: ['torch_mlp.py', '--threads', '1'], env: pythonEnv(1), timeoutMs: 900_000 }, results);
    if (out !== null) {
      const label = `torch ${torch.version}`;
      if (plan.matmul) addMatmul(results, label, 1, parseMatmul(out), true);
      if (plan.ops) addOps(results, label, parseOps(out));
      if (plan.mlp3) addMlp(results, label, parseMlp(out));
    }
  }

  // The compiled peers (jit_peers.py): JAX jit on XLA CPU and torch.compile (inductor), 1 thread,
  // the part 3 MLP at batch 32 and 1024. torch.compile spends about a minute compiling first.
  if (plan.mlp3 && !plan.quick) {
    const jax = probePython('jax');
    results.peerInfo.jax = jax;
    if (!jax.ok) results.missing({ impl: 'jax', reason: jax.reason!, install: INSTALL.jax });
    const only = [jax.ok ? 'jax' : null, torch.ok ? 'compile' : null].filter((x) => x !== null);
    if (only.length > 0 && existsSync(join(PEERS_DIR, 'jit_peers.py'))) {
      const out = runPeer(
        { id: 'jit-mlp3-1t', cmd: PYTHON, args: ['jit_peers.py', '--threads', '1', '--only', only.join(','), '--batches', '32,1024'], env: pythonEnv(1, { OMP_NUM_THREADS: '1' }), timeoutMs: 1_800_000 },
        results,
      );
      if (out !== null) {
        if (jax.ok) addMlp(results, `jax ${jax.version} jit`, parseJitMlp(out, 'jax-jit mlp3'));
        if (torch.ok) addMlp(results, `torch ${torch.version} torch.compile`, parseJitMlp(out, 'torch-compile mlp3'));
      }
    }
  }

  if (!tfjs.ok) {
    for (const b of ['cpu', 'wasm']) results.missing({ impl: `tfjs-${b}`, reason: tfjs.reason!, install: INSTALL.tfjs });
  } else {
    for (const backend of ['cpu', 'wasm']) {
      const label = `tfjs ${tfjs.version} ${backend}`;
      const env = { ...process.env, NODE_PATH: TFJS_MODULES, NAMES_TXT };
      for (const only of [plan.ops ? 'ops' : null, plan.mlp3 ? 'mlp' : null]) {
        if (only === null) continue;
        const out = runPeer(
          { id: `tfjs-${backend}-${only}`, cmd: process.execPath, args: ['tfjs_bench.js', '--backend', backend, '--only', only], env, timeoutMs: 900_000 },
          results,
        );
        if (out === null) continue;
        if (only === 'ops') addOps(results, label, parseOps(out));
        else addMlp(results, label, parseMlp(out));
      }
    }
  }
}

/** `contiguous`: the rows time contiguous operands (np_matmul.py, torch_mlp.py), which for a
 *  backward shape is its contiguous case; else they time the backward layouts. */
function addMatmul(results: Results, impl: string, threads: number, rows: PeerMatmul[], contiguous: boolean): void {
  for (const r of rows) {
    results.add({
      section: 'matmul', case: matmulCase(r.m, r.k, r.n, threads, contiguous), impl, metric: 'GFLOP/s',
      value: r.gflops, min: r.gmin, max: r.gmax, us: r.us,
    });
  }
}

function addOps(results: Results, impl: string, rows: PeerOp[]): void {
  for (const r of rows) results.add({ section: 'ops', case: r.name, impl, metric: 'us/op', value: r.us, min: r.min, max: r.max });
}

function addMlp(results: Results, impl: string, rows: PeerMlp[]): void {
  for (const r of rows) {
    results.add({
      section: 'mlp3', case: mlp3Case(r.batch), impl, metric: 'steps/s', value: r.steps, min: r.min, max: r.max,
      detail: { minorFaultsPerStep: r.faults, sysPercent: r.sysPct, loss: r.loss },
    });
  }
}
