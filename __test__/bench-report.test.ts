// The bench's reading of peer output and its target check: parsing errors would put wrong peer
// figures (or none) beside ferrograd's, so they are tested on lines in each script's format.
import { describe, expect, it } from 'vitest';
import { parseJitMlp, parseMatmul, parseMatmulLayouts, parseMlp } from '../bench/peers.js';
import { checkTargets } from '../bench/targets.js';
import { COMPILED, FERROGRAD, Results } from '../bench/results.js';
import { matmulCase, mlp3Case } from '../bench/cases.js';

const JIT_OUTPUT = [
  'torch-compile mlp3 B=32: 2424.1 steps/s (min..max 1731.6..2871.8), 412.5 us/step; loss 3.324 -> 2.321, first call 39.00 s',
  'jax-jit mlp3 B=32: 6603.6 steps/s (min..max 4574.3..6964.1), 151.4 us/step; loss 3.322 -> 2.506, first call 1.93 s',
  'jax-jit mlp3 B=1024: 510.0 steps/s (min..max 438.3..687.9), 1960.7 us/step; loss 3.302 -> 2.200, first call 0.92 s',
  'jax-jit wavenet B=32: 936.0 steps/s (min..max 640.4..1415.0), 1068.4 us/step; loss 3.281 -> 1.996, first call 3.07 s',
].join('\n');

describe('peer output parsing', () => {
  it("jit_peers.py: one tag's mlp3 lines, not the other tag's and not the WaveNet line", () => {
    expect(parseJitMlp(JIT_OUTPUT, 'jax-jit mlp3')).toEqual([
      { batch: 32, steps: 6603.6, min: 4574.3, max: 6964.1, loss: '3.322 -> 2.506' },
      { batch: 1024, steps: 510, min: 438.3, max: 687.9, loss: '3.302 -> 2.200' },
    ]);
    expect(parseJitMlp(JIT_OUTPUT, 'torch-compile mlp3').map((r) => [r.batch, r.steps])).toEqual([[32, 2424.1]]);
    expect(parseJitMlp(JIT_OUTPUT, 'torch-eager mlp3')).toEqual([]);
  });

  it("np_mlp.py / torch_mlp.py lines do not pass for jit_peers' and the reverse", () => {
    expect(parseJitMlp('numpy MLP B=32: 7521.0 steps/s (min..max 7400.0..7600.0)', 'jax-jit mlp3')).toEqual([]);
    expect(parseMlp('numpy MLP B=32: 7521.0 steps/s (min..max 7400.0..7600.0), 3 minor page faults/step')[0]).toMatchObject({ batch: 32, steps: 7521, faults: 3 });
  });

  it("np_matmul_layouts.py's lines keep their layout apart from np_matmul.py's contiguous lines", () => {
    const layouts = ['numpy 2.4.6; layouts as a training step\'s backward reads them', '  32x27 @ 27x200 B^T       4.843      71.35   (70.10..72.00)', '  30x32 @ 32x200 A^T       2.821     136.10   (130.00..140.20)'].join('\n');
    expect(parseMatmulLayouts(layouts)).toEqual([
      { m: 32, k: 27, n: 200, us: 4.843, gflops: 71.35, gmin: 70.1, gmax: 72 },
      { m: 30, k: 32, n: 200, us: 2.821, gflops: 136.1, gmin: 130, gmax: 140.2 },
    ]);
    // np_matmul.py's format has no layout token: neither parser reads the other's lines.
    const contiguous = '  32x27 @ 27x200       2.53    136.50   (130.00..140.00)';
    expect(parseMatmulLayouts(contiguous)).toEqual([]);
    expect(parseMatmul(contiguous)).toHaveLength(1);
    expect(parseMatmul(layouts)).toEqual([]);
  });
});

describe('the target check', () => {
  const row = (section: string, kase: string, impl: string, value: number, us?: number) =>
    ({ section, case: kase, impl, metric: section === 'matmul' ? ('GFLOP/s' as const) : ('steps/s' as const), value, us });

  it('says met, missed (by how much) or not measured, per target', () => {
    const r = new Results();
    r.add(row('mlp3', mlp3Case(32), COMPILED, 16_000));
    r.add(row('mlp3', mlp3Case(32), FERROGRAD, 9_000));
    r.add(row('matmul', matmulCase(1024, 1024, 1024, 1), FERROGRAD, 190, 11_000));
    r.add(row('matmul', matmulCase(1024, 1024, 1024, 1), 'numpy 2.4.6', 180, 12_000));
    r.add(row('matmul', matmulCase(32, 27, 200, 1), FERROGRAD, 50, 7));
    r.add(row('matmul', matmulCase(32, 27, 200, 1), 'numpy 2.4.6', 100, 3));
    const lines = checkTargets(r);
    const by = (prefix: string) => lines.find((l) => l.target.startsWith(prefix))!;
    expect(by('part 3 MLP b32 compiled').met).toBe(true);
    expect(by('part 3 MLP b32 eager')).toMatchObject({ met: false, measured: '9,000, missed by 10%' });
    expect(by('part 3 MLP b1024 compiled')).toMatchObject({ met: null, measured: 'not measured' });
    expect(by('matmul 1024³ 1 thread').met).toBe(true);
    expect(by('matmul 1024³ 2 threads').met).toBe(null);
    expect(by('matmul lecture shapes')).toMatchObject({ met: false });
    expect(by('matmul lecture shapes').measured).toContain('0 of 1 at or below numpy');
  });

  it('compares a backward shape layout by layout: transposed with transposed, contiguous with contiguous', () => {
    expect(matmulCase(32, 27, 200, 1)).not.toBe(matmulCase(32, 27, 200, 1, true));
    expect(matmulCase(32, 30, 200, 1)).toBe(matmulCase(32, 30, 200, 1, true)); // a forward shape has one layout
    const r = new Results();
    r.add(row('matmul', matmulCase(32, 27, 200, 1), FERROGRAD, 0, 3.4));
    r.add(row('matmul', matmulCase(32, 27, 200, 1), 'numpy 2.4.6', 0, 4.8));
    r.add(row('matmul', matmulCase(32, 27, 200, 1, true), FERROGRAD, 0, 2.6));
    r.add(row('matmul', matmulCase(32, 27, 200, 1, true), 'numpy 2.4.6', 0, 2.5));
    const line = checkTargets(r).find((l) => l.target.startsWith('matmul lecture shapes'))!;
    expect(line.met).toBe(false);
    expect(line.measured).toBe('1 of 2 at or below numpy; slower: 32x27 @ 27x200 (contiguous operands) 2.600 vs 2.500 µs');
  });
});
