// Matrix products on ferrograd: the tensor API (`a.matmul(b)`, which also allocates the output,
// as numpy's `a @ b` does) and the bare backend kernel, at 1024³ and at the makemore shapes,
// forward and the transposed backward products, with 1 and 2 threads.
import { getBackend, noGrad, randn, type Tensor } from '../index.js';
import { backwardKind, matmulCase } from './cases.js';
import { FERROGRAD, type Results } from './results.js';
import { timeIt } from './timing.js';

interface Shape {
  m: number;
  k: number;
  n: number;
}

/** The shapes the peers time (np_matmul.py), plus the one backward product numpy does not list. */
export function matmulShapes(): Shape[] {
  const shapes: Shape[] = [{ m: 1024, k: 1024, n: 1024 }];
  for (const B of [32, 256, 1024]) shapes.push({ m: B, k: 30, n: 200 }, { m: B, k: 200, n: 27 });
  for (const B of [32, 1024]) {
    shapes.push({ m: 30, k: B, n: 200 }, { m: 200, k: B, n: 27 }, { m: B, k: 27, n: 200 }, { m: B, k: 200, n: 30 });
  }
  return shapes;
}

/** Operands laid out as the backward pass has them: A^T·G reads A transposed, G·B^T reads B transposed. */
function operands(s: Shape): { a: Tensor; b: Tensor; transA: boolean; transB: boolean } {
  const kind = backwardKind(s.m, s.k, s.n);
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

export function benchMatmul(results: Results, opts: MatmulOptions): void {
  const be = getBackend();
  const saved = be.getNumThreads();
  try {
    for (const threads of opts.threads) {
      be.setNumThreads(threads);
      for (const s of matmulShapes()) {
        // Threads only pay on large products (the kernels stay serial below a work threshold), so
        // the 2-thread pass covers 1024³ and the batch-1024 products.
        if (threads > 1 && s.m * s.k * s.n < 1024 * 27 * 200) continue;
        const big = s.m * s.k * s.n > 1e8;
        const timing = opts.quick ? { reps: 3, minMs: big ? 200 : 40, warm: 1 } : { reps: 7, minMs: big ? 500 : 200, warm: big ? 1 : 20 };
        const { a, b, transA, transB } = operands(s);
        const flop = 2 * s.m * s.k * s.n;
        const api = noGrad(() => timeIt(() => a.matmul(b), timing));
        // The bare kernel into a preallocated output: what is left once the TS layer is removed.
        const A = (transA ? a.T : a).contiguous().data as Float32Array;
        const B = (transB ? b.T : b).contiguous().data as Float32Array;
        const out = new Float32Array(s.m * s.n);
        const kernel = timeIt(() => be.matmul(A, 0, 0, transA, B, 0, 0, transB, out, 1, s.m, s.k, s.n), timing);
        const row = {
          section: 'matmul', case: matmulCase(s.m, s.k, s.n, threads), impl: FERROGRAD, metric: 'GFLOP/s' as const,
          value: flop / api.med / 1e9, min: flop / api.max / 1e9, max: flop / api.min / 1e9, us: api.med * 1e6,
          detail: { backend: be.name, transA, transB, kernelUs: kernel.med * 1e6, kernelGflops: flop / kernel.med / 1e9 },
        };
        results.add(row);
        console.log(
          `  ${row.case.padEnd(62)} ${row.value.toFixed(2).padStart(8)} GFLOP/s ${row.us.toFixed(2).padStart(10)} µs/call` +
            ` (kernel alone ${(kernel.med * 1e6).toFixed(2)} µs, ${(flop / kernel.med / 1e9).toFixed(2)} GFLOP/s)`,
        );
      }
    }
  } finally {
    be.setNumThreads(saved);
  }
}
