// Per-op overhead: one small op through the tensor API, the cost a training step pays ~40 times.
// The same four ops the peer scripts time (numpy, torch, tfjs), on float32 operands without grad.
import { ones, randn, type Tensor } from '../index.js';
import { OP_CASES } from './cases.js';
import { FERROGRAD, type Results } from './results.js';
import { timeIt } from './timing.js';

export function benchOps(results: Results, opts: { quick: boolean }): void {
  const a1 = ones([1]);
  const b1 = ones([1]);
  const a = randn([32, 200]);
  const b = randn([32, 200]);
  const fns: Record<(typeof OP_CASES)[number], () => Tensor> = {
    'add, 1 element': () => a1.add(b1),
    'add 32x200': () => a.add(b),
    'tanh 32x200': () => a.tanh(),
    'sum(dim 0) 32x200': () => a.sum(0),
  };
  const timing = opts.quick ? { reps: 3, minMs: 50, warm: 200 } : { reps: 7, minMs: 300, warm: 1000 };
  for (const name of OP_CASES) {
    const t = timeIt(fns[name], timing);
    results.add({ section: 'ops', case: name, impl: FERROGRAD, metric: 'us/op', value: t.med * 1e6, min: t.min * 1e6, max: t.max * 1e6 });
    console.log(`  op ${name.padEnd(20)} ${(t.med * 1e6).toFixed(2).padStart(8)} µs/op (min..max ${(t.min * 1e6).toFixed(2)}..${(t.max * 1e6).toFixed(2)})`);
  }
}
