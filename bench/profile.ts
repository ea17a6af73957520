// Where the time of a makemore training step goes: kernel time (inside Backend methods, i.e. the
// Rust addon on the native backend) versus the TypeScript around it (op checks, allocation, views,
// the autograd graph) versus garbage collection, per phase of the step.
//
//   npx tsx bench/profile.ts --batch 32                        breakdown (phases, kernels, GC, faults)
//   npx tsx bench/profile.ts --batch 1024 --model mlp2
//   node --cpu-prof --cpu-prof-dir=out/bench/prof --import tsx bench/profile.ts --batch 32 --loop 10
//                                                              a plain loop of 10 s for --cpu-prof / perf
//   npx tsx bench/cpuprofile.ts out/bench/prof/<file>.cpuprofile   summarise that profile
//   npx tsx bench/profile.ts --batch 32 --stub-kernels          the TypeScript alone: every kernel a
//                                                              no-op (garbage numbers, the same
//                                                              work around them), with heap bytes
//                                                              and fresh external buffers per step
//
// The breakdown wraps every Backend method of the current backend object with a timer (≈0.1 µs
// per call of its own, reported), so it is run after an uninstrumented measurement of the same
// step, and both are printed.
import { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { getBackend, setBackend, type Backend } from '../index.js';
import v8 from 'node:v8';
import { loadDataset, makeMlp2, makeMlp3, makeMlp3Nn, type Phase, type TrainStep } from './mlp.js';
import { timeIt, withSystemCost } from './timing.js';

interface Opts {
  batch: string;
  model: string;
  threads: string;
  backend: string;
  loop?: string;
  seconds: string;
  stubKernels: boolean;
}

type Acc = { calls: number; ms: number };

/** Replaces each method of `be` with a timed forward; returns the accumulators and an undo. */
function instrument(be: Backend): { acc: Map<string, Acc>; undo: () => void } {
  const acc = new Map<string, Acc>();
  const target = be as unknown as Record<string, unknown>;
  const saved: [string, unknown][] = [];
  const names = new Set<string>();
  for (let o: object | null = be; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor' && typeof target[k] === 'function') names.add(k);
  }
  for (const name of names) {
    if (name === 'getNumThreads' || name === 'setNumThreads') continue;
    const orig = target[name] as (...a: unknown[]) => unknown;
    const a: Acc = { calls: 0, ms: 0 };
    acc.set(name, a);
    saved.push([name, Object.prototype.hasOwnProperty.call(target, name) ? orig : undefined]);
    target[name] = function timed(this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return orig.apply(this, args);
      } finally {
        a.ms += performance.now() - t0;
        a.calls++;
      }
    };
  }
  return {
    acc,
    undo: () => {
      for (const [name, orig] of saved) {
        if (orig === undefined) delete target[name];
        else target[name] = orig;
      }
    },
  };
}

/** Cost of one timed wrapper around an empty call, to subtract from the attribution. */
function wrapperOverheadUs(): number {
  const obj = { f: (x: number) => x + 1 };
  const dummy = instrument(obj as unknown as Backend);
  let s = 0;
  const t = timeIt(() => (s = (obj as unknown as { f: (x: number) => number }).f(s)), { minMs: 100, reps: 5, warm: 10000 });
  dummy.undo();
  const bare = timeIt(() => (s = obj.f(s)), { minMs: 100, reps: 5, warm: 10000 });
  return Math.max(0, (t.med - bare.med) * 1e6);
}

/** Every kernel of `be` becomes a no-op (crossEntropyForward returns 1): the ops still check,
 *  allocate, record and run the engine, so what is left of a step is its TypeScript and GC. */
function stubKernels(be: Backend): void {
  const target = be as unknown as Record<string, unknown>;
  for (let o: object | null = be; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k === 'constructor' || k === 'getNumThreads' || k === 'setNumThreads' || typeof target[k] !== 'function') continue;
      target[k] = k === 'crossEntropyForward' ? () => 1 : () => {};
    }
  }
}

async function stubbedReport(model: string, batch: number, ts: TrainStep, seconds: number): Promise<void> {
  for (let i = 0; i < 2000; i++) ts.step();
  // V8 heap bytes per step: growth of the young generation over a few steps (no scavenge between).
  const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
  let heapBytes = Infinity;
  for (let r = 0; r < 20; r++) {
    const a = young();
    for (let i = 0; i < 5; i++) ts.step();
    const b = young();
    if (b > a) heapBytes = Math.min(heapBytes, (b - a) / 5);
  }
  // Fresh external buffers (each slab of small tensors, each tensor above 32 KB) per step.
  const orig = Buffer.allocUnsafeSlow;
  let buffers = 0;
  let bufferBytes = 0;
  Buffer.allocUnsafeSlow = (n: number) => {
    buffers++;
    bufferBytes += n;
    return orig(n);
  };
  for (let i = 0; i < 200; i++) ts.step();
  Buffer.allocUnsafeSlow = orig;
  const c0 = process.cpuUsage();
  const plain = await withSystemCost(() => {
    let calls = 0;
    const t = timeIt(() => {
      ts.step();
      calls++;
    }, { warm: 20, minMs: (seconds * 1e3) / 7, reps: 7 });
    return { calls, t };
  });
  const c = process.cpuUsage(c0);
  console.log(`${model} batch ${batch}, kernels stubbed out (TypeScript and GC only)`);
  console.log(`  ${(plain.t.med * 1e6).toFixed(1)} µs/step (best repeat ${(plain.t.min * 1e6).toFixed(1)}), ${((c.user + c.system) / plain.calls).toFixed(1)} µs CPU/step`);
  console.log(`  GC ${(plain.cost.gcMsPerCall * 1e3).toFixed(1)} µs/step (${plain.cost.gcCountPerCall.toFixed(4)} collections/step)`);
  console.log(`  V8 heap ${heapBytes.toFixed(0)} B/step; ${(buffers / 200).toFixed(2)} fresh external buffers/step (${(bufferBytes / 200 / 1024).toFixed(0)} KB)`);
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--batch <n>', 'minibatch size', '32')
    .option('--model <name>', 'mlp3 (BatchNorm), mlp3nn (the same with nn modules + optim.SGD) or mlp2', 'mlp3')
    .option('--threads <n>', 'native worker threads', '1')
    .option('--backend <name>', 'native or reference', 'native')
    .option('--seconds <s>', 'approximate seconds per measurement', '3')
    .option('--loop <s>', 'just run steps for this many seconds (for --cpu-prof / perf) and exit')
    .option('--stub-kernels', 'replace every kernel by a no-op: time the TypeScript (and GC) around them', false)
    .parse(process.argv)
    .opts<Opts>();
  const batch = Number(o.batch);
  if (!Number.isInteger(batch) || batch < 2) throw new Error(`profile: --batch must be an integer >= 2, got ${o.batch}`);
  if (o.model !== 'mlp3' && o.model !== 'mlp3nn' && o.model !== 'mlp2') throw new Error(`profile: --model must be mlp3, mlp3nn or mlp2, got ${o.model}`);
  setBackend(o.backend as 'native' | 'reference');
  const be = getBackend();
  be.setNumThreads(Number(o.threads));
  const ds = loadDataset(3);
  const make = (): TrainStep => (o.model === 'mlp3' ? makeMlp3(ds, batch) : o.model === 'mlp3nn' ? makeMlp3Nn(ds, batch) : makeMlp2(ds, batch));
  const ts = make();
  for (let i = 0; i < 50; i++) ts.step();
  if (o.stubKernels) {
    stubKernels(be);
    await stubbedReport(o.model, batch, ts, Number(o.seconds));
    return;
  }

  if (o.loop !== undefined) {
    const until = performance.now() + Number(o.loop) * 1e3;
    let n = 0;
    const t0 = performance.now();
    while (performance.now() < until) {
      ts.step();
      n++;
    }
    console.log(`${o.model} batch ${batch}: ${n} steps in ${((performance.now() - t0) / 1e3).toFixed(2)} s = ${((n * 1e3) / (performance.now() - t0)).toFixed(1)} steps/s`);
    return;
  }

  const minMs = (Number(o.seconds) * 1e3) / 7;
  // 1. The step as the bench times it, plus GC and page faults.
  const plain = await withSystemCost(() => {
    let calls = 0;
    const t = timeIt(() => {
      ts.step();
      calls++;
    }, { warm: 20, minMs, reps: 7 });
    return { calls, t };
  });
  const stepUs = plain.t.med * 1e6;
  console.log(`${o.model} batch ${batch}, ${be.name} backend, ${be.getNumThreads()} thread(s)`);
  console.log(`uninstrumented: ${(1e6 / stepUs).toFixed(1)} steps/s, ${stepUs.toFixed(1)} µs/step`);
  console.log(
    `  GC ${(plain.cost.gcMsPerCall * 1e3).toFixed(1)} µs/step (${plain.cost.gcCountPerCall.toFixed(3)} collections/step, ` +
      `scavenges ${(plain.cost.gcScavengeMsPerCall * 1e3).toFixed(1)} µs/step); ${plain.cost.minorFaultsPerCall.toFixed(1)} minor page faults/step; ` +
      `${(100 * plain.cost.sysShare).toFixed(1)}% system time`,
  );

  // 2. The same step with phase marks and every kernel timed.
  const overheadUs = wrapperOverheadUs();
  const { acc, undo } = instrument(be);
  const phases = new Map<Phase, number>();
  let tPrev = 0;
  const mark = (p: Phase) => {
    const now = performance.now();
    phases.set(p, (phases.get(p) ?? 0) + now - tPrev);
    tPrev = now;
  };
  let steps = 0;
  const wall0 = performance.now();
  const deadline = wall0 + Number(o.seconds) * 1e3;
  while (performance.now() < deadline || steps < 20) {
    tPrev = performance.now();
    ts.step(mark);
    steps++;
  }
  const wallUs = ((performance.now() - wall0) * 1e3) / steps;
  undo();

  let kernelUs = 0;
  let kernelCalls = 0;
  const rows = [...acc.entries()].filter(([, a]) => a.calls > 0).sort((x, y) => y[1].ms - x[1].ms);
  for (const [, a] of rows) {
    kernelUs += (a.ms * 1e3) / steps;
    kernelCalls += a.calls / steps;
  }
  const instrumentationUs = kernelCalls * overheadUs;
  console.log(
    `instrumented: ${wallUs.toFixed(1)} µs/step over ${steps} steps (timers add ≈${overheadUs.toFixed(3)} µs × ${kernelCalls.toFixed(0)} calls = ${instrumentationUs.toFixed(1)} µs)`,
  );
  console.log('phases (µs/step):');
  for (const [p, ms] of phases) console.log(`  ${p.padEnd(9)} ${((ms * 1e3) / steps).toFixed(1).padStart(9)}`);
  console.log('backend methods (inside the kernel call, as seen from TS):');
  console.log(`  ${'method'.padEnd(22)} ${'calls/step'.padStart(10)} ${'µs/step'.padStart(9)} ${'µs/call'.padStart(9)} ${'share'.padStart(6)}`);
  for (const [name, a] of rows) {
    const us = (a.ms * 1e3) / steps;
    console.log(
      `  ${name.padEnd(22)} ${(a.calls / steps).toFixed(1).padStart(10)} ${us.toFixed(1).padStart(9)} ${((a.ms * 1e3) / a.calls).toFixed(2).padStart(9)} ${((100 * us) / wallUs).toFixed(1).padStart(5)}%`,
    );
  }
  const gcUs = plain.cost.gcMsPerCall * 1e3;
  const tsUs = stepUs - kernelUs - gcUs;
  console.log('summary (µs/step, against the uninstrumented step):');
  console.log(`  step            ${stepUs.toFixed(1).padStart(9)}`);
  console.log(`  kernels         ${kernelUs.toFixed(1).padStart(9)}  (${kernelCalls.toFixed(0)} calls, ${((100 * kernelUs) / stepUs).toFixed(1)}%)`);
  console.log(`  GC              ${gcUs.toFixed(1).padStart(9)}  (${((100 * gcUs) / stepUs).toFixed(1)}%)`);
  console.log(`  TS around them  ${tsUs.toFixed(1).padStart(9)}  (${((100 * tsUs) / stepUs).toFixed(1)}%: op checks, allocation, views, graph, engine)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
