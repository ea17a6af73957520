// Training-step throughput: steps per second of a TrainStep, with the loss before and after (a
// benchmark of a step that does not learn would be meaningless) and the allocation cost per step
// (page faults, system time, garbage collection).
import { getBackend, setBackend } from '../index.js';
import { type Results, type Row } from './results.js';
import { type TimingOptions, timeIt, withSystemCost } from './timing.js';
import type { TrainStep } from './mlp.js';

export interface TrainCase {
  section: string;
  case: string;
  impl: string;
  backend: 'native' | 'reference';
  /** Worker threads for the native kernels. */
  threads: number;
  make: () => TrainStep;
  timing: TimingOptions;
}

export async function benchTraining(results: Results, tc: TrainCase): Promise<Row | null> {
  const be0 = getBackend();
  const savedThreads = be0.getNumThreads();
  try {
    setBackend(tc.backend);
    const be = getBackend();
    be.setNumThreads(tc.threads);
    const ts = tc.make();
    const l0 = ts.step();
    let last = l0;
    const r = await withSystemCost(() => {
      let calls = 0;
      const t = timeIt(() => {
        last = ts.step();
        calls++;
      }, tc.timing);
      return { calls, t };
    });
    if (!Number.isFinite(last) || !(last < l0)) {
      throw new Error(`${tc.case} on ${tc.impl}: the loss went from ${l0} to ${last}; the step does not learn`);
    }
    const { t, cost } = r;
    const row: Row = {
      section: tc.section, case: tc.case, impl: tc.impl, metric: 'steps/s',
      value: 1 / t.med, min: 1 / t.max, max: 1 / t.min,
      detail: {
        backend: be.name, threads: be.getNumThreads(), msPerStep: t.med * 1e3, stepsTimed: t.inner * t.reps,
        matmulGflops: ts.flop / t.med / 1e9, loss: `${l0.toFixed(3)} -> ${last.toFixed(3)}`,
        minorFaultsPerStep: cost.minorFaultsPerCall, sysPercent: 100 * cost.sysShare,
        gcMsPerStep: cost.gcMsPerCall, gcScavengeMsPerStep: cost.gcScavengeMsPerCall, gcPerStep: cost.gcCountPerCall,
      },
    };
    results.add(row);
    console.log(
      `  ${tc.case} [${tc.impl}]: ${row.value.toFixed(1)} steps/s (min..max ${row.min!.toFixed(1)}..${row.max!.toFixed(1)}), ` +
        `${(t.med * 1e3).toFixed(3)} ms/step, loss ${l0.toFixed(3)} -> ${last.toFixed(3)}; ` +
        `${cost.minorFaultsPerCall.toFixed(0)} minor faults/step, ${(100 * cost.sysShare).toFixed(0)}% system time, ` +
        `GC ${(cost.gcMsPerCall * 1e3).toFixed(0)} µs/step (${cost.gcCountPerCall.toFixed(2)} collections/step)`,
    );
    return row;
  } finally {
    be0.setNumThreads(savedThreads);
    setBackend(be0.name);
  }
}
