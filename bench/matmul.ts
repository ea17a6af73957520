// Matrix products on ferrograd: the tensor API (`a.matmul(b)`, which also allocates the output,
// as numpy's `a @ b` does) and the bare backend kernel, at 1024³ and at the makemore shapes,
// forward and the transposed backward products, with 1 and 2 threads.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getBackend, noGrad, randn, type Tensor } from '../index.js';
import { backwardKind, matmulCase } from './cases.js';
import { FERROGRAD, type Results, type Row } from './results.js';
import { timeIt } from './timing.js';

interface Shape {
  m: number;
  k: number;
  n: number;
  /** A backward shape timed with contiguous operands (as np_matmul.py times it), not its backward layout. */
  contiguous?: boolean;
}

/** The shapes the peers time (np_matmul.py), plus the one backward product numpy does not list;
 *  each backward shape twice: in its backward layout and with contiguous operands. */
export function matmulShapes(): Shape[] {
  const shapes: Shape[] = [{ m: 1024, k: 1024, n: 1024 }];
  for (const B of [32, 256, 1024]) shapes.push({ m: B, k: 30, n: 200 }, { m: B, k: 200, n: 27 });
  for (const B of [32, 1024]) {
    for (const contiguous of [false, true]) {
      shapes.push({ m: 30, k: B, n: 200, contiguous }, { m: 200, k: B, n: 27, contiguous }, { m: B, k: 27, n: 200, contiguous }, { m: B, k: 200, n: 30, contiguous });
    }
  }
  return shapes;
}

/** Operands laid out as the backward pass has them (A^T·G reads A transposed, G·B^T reads B
 *  transposed), or contiguous when the shape says so. */
function operands(s: Shape): { a: Tensor; b: Tensor; transA: boolean; transB: boolean } {
  const kind = s.contiguous ? null : backwardKind(s.m, s.k, s.n);
  const transA = kind?.startsWith('A^T') ?? false;
  const transB = kind?.startsWith('G·B^T') ?? false;
  const a = transA ? randn([s.k, s.m]).T : randn([s.m, s.k]);
  const b = transB ? randn([s.n, s.k]).T : randn([s.k, s.n]);
  return { a, b, transA, transB };
}

export interface MatmulOptions {
  quick: boolean;
  threads: number[];
}

/** One row: `a.matmul(b)` and the bare kernel at shape s on `threads` threads. */
function measureRow(s: Shape, threads: number, quick: boolean): Row {
  const be = getBackend();
  be.setNumThreads(threads);
  const big = s.m * s.k * s.n > 1e8;
  const timing = quick ? { reps: 3, minMs: big ? 200 : 40, warm: 1 } : { reps: 7, minMs: big ? 500 : 200, warm: big ? 1 : 20 };
  const { a, b, transA, transB } = operands(s);
  const flop = 2 * s.m * s.k * s.n;
  const api = noGrad(() => timeIt(() => a.matmul(b), timing));
  // The bare kernel into a preallocated output: what is left once the TS layer is removed.
  const A = (transA ? a.T : a).contiguous().data as Float32Array;
  const B = (transB ? b.T : b).contiguous().data as Float32Array;
  const out = new Float32Array(s.m * s.n);
  const kernel = timeIt(() => be.matmul(A, 0, 0, transA, B, 0, 0, transB, out, 1, s.m, s.k, s.n), timing);
  return {
    section: 'matmul', case: matmulCase(s.m, s.k, s.n, threads, s.contiguous), impl: FERROGRAD, metric: 'GFLOP/s',
    value: flop / api.med / 1e9, min: flop / api.max / 1e9, max: flop / api.min / 1e9, us: api.med * 1e6,
    detail: { backend: be.name, transA, transB, kernelUs: kernel.med * 1e6, kernelGflops: flop / kernel.med / 1e9 },
  };
}

const MARK = 'MATMUL-ROW ';

/** Each row runs in a fresh child process: rows that share a process measure what the rows before
 *  them did to V8's heap (after a 1024³ row, 32x30 @ 30x200 ran 10.4 µs per call in a storm of
 *  mark-compacts, against 2.8 µs in a fresh process; docs/bench/RESULTS.md). */
function childRow(s: Shape, threads: number, quick: boolean): Row {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify({ s, threads, quick })], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(MARK));
  if (r.status !== 0 || !line) {
    const why = r.error?.message ?? ((r.stderr ?? '').trim().split('\n').slice(-3).join(' ') || `exit ${r.status}`);
    throw new Error(`matmul bench child for ${matmulCase(s.m, s.k, s.n, threads, s.contiguous)} failed: ${why}`);
  }
  return JSON.parse(line.slice(MARK.length)) as Row;
}

export function benchMatmul(results: Results, opts: MatmulOptions): void {
  for (const threads of opts.threads) {
    for (const s of matmulShapes()) {
      // Threads only pay on large products (the kernels stay serial below a work threshold), so
      // the 2-thread pass covers 1024³ and the batch-1024 products.
      if (threads > 1 && s.m * s.k * s.n < 1024 * 27 * 200) continue;
      const row = childRow(s, threads, opts.quick);
      results.add(row);
      const d = row.detail as { kernelUs: number; kernelGflops: number };
      console.log(
        `  ${row.case.padEnd(62)} ${row.value.toFixed(2).padStart(8)} GFLOP/s ${row.us!.toFixed(2).padStart(10)} µs/call` +
          ` (kernel alone ${d.kernelUs.toFixed(2)} µs, ${d.kernelGflops.toFixed(2)} GFLOP/s)`,
      );
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { s, threads, quick } = JSON.parse(process.argv[2]) as { s: Shape; threads: number; quick: boolean };
  console.log(MARK + JSON.stringify(measureRow(s, threads, quick)));
}
