// Streams and bins against PyTorch 2.15 (values in __test__/fixtures/torch_edges.json, made by
// scripts/fixtures/torch_edges.py): randint's 64-bit draws from a range of 2^28 on, randn's
// distance from PyTorch's vectorised (AVX-512) kernel, and histogram's float32 bin edges.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, histogram, randint, tensor } from '../index.js';

type Num = number | string;
interface Fixture {
  randint: { seed: number; draws: { low: number; high: number; values: number[] }[]; randAfter: number[] };
  randn: { seed: number; n: number; values: number[]; randAfter: number[]; cpuCapability: string };
  histogram: { name: string; dtype: 'float32' | 'float64'; values: Num[]; bins: number; range: [number, number] | null; density: boolean; hist: number[]; binEdges: number[] }[];
}
const FX = JSON.parse(readFileSync(new URL('./fixtures/torch_edges.json', import.meta.url), 'utf8')) as Fixture;

describe('randint: one 64-bit draw per element from a range of 2^28 on', () => {
  it('ranges 2^28 - 1, 2^28, 2^31 and 2^32 + 5, then rand: the same numbers as torch', () => {
    const g = new Generator(FX.randint.seed);
    for (const d of FX.randint.draws) {
      // Ranges beyond int32 need a float64 tensor (torch's default is int64).
      const dtype = d.high - 1 > 2147483647 ? 'float64' : 'int32';
      const t = randint(d.low, d.high, [d.values.length], { generator: g, dtype });
      expect(Array.from(t.toArray()), `range ${d.high - d.low}`).toEqual(d.values);
    }
    const after = new Float32Array(FX.randint.randAfter.length);
    g.fillRand(after);
    expect(Array.from(after)).toEqual(FX.randint.randAfter);
  });

  it('the switch is at exactly 2^28: one word below, two words from there', () => {
    for (const [range, words] of [[2 ** 28 - 1, 1], [2 ** 28, 2]] as const) {
      const g = new Generator(7);
      g.fillRandint(0, range, new Int32Array(10));
      const ref = new Generator(7);
      for (let i = 0; i < 10 * words; i++) ref.nextU32();
      expect(g.nextU32(), `range ${range}`).toBe(ref.nextU32());
    }
  });
});

describe("randn of 16 or more elements: PyTorch's scalar recipe, within 1e-6 of its AVX-512 kernel", () => {
  it(`randn(${FX.randn.n}) against torch on a ${FX.randn.cpuCapability} machine, and the stream after it identical`, () => {
    const g = new Generator(FX.randn.seed);
    const out = new Float32Array(FX.randn.n);
    g.fillRandn(out);
    let maxAbs = 0;
    let differing = 0;
    out.forEach((v, i) => {
      const d = Math.abs(v - FX.randn.values[i]);
      maxAbs = Math.max(maxAbs, d);
      if (d > 0) differing++;
    });
    // Measured: 28 of 64 elements differ, by at most 8.9e-7 (a few float32 ulps of values up to ~2.5).
    expect(maxAbs).toBeLessThan(1e-6);
    expect(differing).toBeLessThan(FX.randn.n);
    // The same words are consumed, so every later draw is identical.
    const after = new Float32Array(FX.randn.randAfter.length);
    g.fillRand(after);
    expect(Array.from(after)).toEqual(FX.randn.randAfter);
  });
});

describe('histogram: float32 bin edges, as torch.histogram', () => {
  for (const c of FX.histogram) {
    it(`${c.name}: the same edges and the same counts`, () => {
      const t = tensor(c.values.map(Number), { dtype: c.dtype });
      const h = histogram(t, { bins: c.bins, range: c.range ?? undefined, density: c.density });
      expect(Array.from(h.binEdges)).toEqual(c.binEdges);
      expect(Array.from(h.hist)).toEqual(c.hist);
    });
  }
});
