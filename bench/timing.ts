// Timing helpers shared by every ferrograd benchmark: warm up, calibrate an inner loop so one
// repeat lasts long enough for the clock to be meaningless, then take the median of repeats.
// The same scheme as the peer scripts (np_mlp.py, torch_mlp.py, tfjs common.js), so that the
// figures printed side by side were obtained the same way.
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';

export interface TimingOptions {
  /** Calls before calibration (JIT warm-up, first-touch allocations). */
  warm?: number;
  /** Minimum wall time of one repeat, in milliseconds. */
  minMs?: number;
  /** Number of timed repeats; the median is reported. */
  reps?: number;
  /** Upper bound on calls per repeat (for tiny ops). */
  maxInner?: number;
}

export interface Timing {
  /** Median seconds per call over the repeats. */
  med: number;
  /** Fastest and slowest repeat, seconds per call. */
  min: number;
  max: number;
  /** Calls per repeat and number of repeats. */
  inner: number;
  reps: number;
}

/** Seconds per call of fn(), median of `reps` repeats of `inner` calls each. */
export function timeIt(fn: () => unknown, opts: TimingOptions = {}): Timing {
  const { warm = 5, minMs = 300, reps = 7, maxInner = 1e7 } = opts;
  for (let i = 0; i < warm; i++) fn();
  let inner = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    const ms = performance.now() - t0;
    if (ms >= minMs || inner >= maxInner) break;
    inner = Math.min(maxInner, Math.max(inner * 2, Math.ceil((inner * minMs * 1.2) / Math.max(ms, 1e-3))));
  }
  const per: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    per.push((performance.now() - t0) / 1e3 / inner);
  }
  per.sort((a, b) => a - b);
  return { med: per[Math.floor(per.length / 2)], min: per[0], max: per[per.length - 1], inner, reps };
}

/** Operating-system and garbage-collector cost of a measured window, per call. */
export interface SystemCost {
  /** Minor page faults per call (fresh pages the kernel had to map: allocation churn). */
  minorFaultsPerCall: number;
  /** Share of the process CPU time spent in the kernel (system time / total CPU time). */
  sysShare: number;
  /** Milliseconds of garbage collection per call, by kind (scavenge = young generation). */
  gcMsPerCall: number;
  gcScavengeMsPerCall: number;
  /** Collections per call. */
  gcCountPerCall: number;
}

/**
 * Runs `body` (which returns how many calls it made) and reports its page faults, system time
 * and garbage-collection time per call. GC entries arrive asynchronously, hence the async.
 */
export async function withSystemCost<T extends { calls: number }>(body: () => T): Promise<T & { cost: SystemCost }> {
  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) entries.push(e);
  });
  obs.observe({ entryTypes: ['gc'] });
  const ru0 = process.resourceUsage();
  const t0 = performance.now();
  const result = body();
  const t1 = performance.now();
  const ru1 = process.resourceUsage();
  // Let the observer deliver the entries buffered during the synchronous body.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 5));
  obs.disconnect();
  let gcMs = 0;
  let scavMs = 0;
  let count = 0;
  for (const e of entries) {
    if (e.startTime < t0 || e.startTime > t1) continue;
    gcMs += e.duration;
    count++;
    // kind 1 = minor (scavenge) in node's perf_hooks constants.
    const detail = (e as PerformanceEntry & { detail?: { kind?: number } }).detail;
    if (detail?.kind === 1) scavMs += e.duration;
  }
  const n = Math.max(1, result.calls);
  const user = ru1.userCPUTime - ru0.userCPUTime;
  const sys = ru1.systemCPUTime - ru0.systemCPUTime;
  return {
    ...result,
    cost: {
      minorFaultsPerCall: (ru1.minorPageFault - ru0.minorPageFault) / n,
      sysShare: sys / Math.max(1, user + sys),
      gcMsPerCall: gcMs / n,
      gcScavengeMsPerCall: scavMs / n,
      gcCountPerCall: count / n,
    },
  };
}

/** Median of a list (the upper middle element for even lengths, as the peers do). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Steps per wall second and per CPU second (the process's user + system time, which contention
 *  from other processes inflates less) of `step` run for `ms` milliseconds. */
export function stepRate(step: () => unknown, ms: number): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    step();
    n++;
  }
  const wall = (performance.now() - t0) / 1e3;
  const c = process.cpuUsage(c0);
  return { wall: n / wall, cpu: n / ((c.user + c.system) / 1e6) };
}
