// pow by a number follows PyTorch's special cases (x^2 = x·x, x^-1 = 1/x, x^0.5 = sqrt(x), ...),
// so that code written as the lectures write it (`h**2`, `counts_sum**-1`) gives the same bits as
// the product or the reciprocal, as it does in PyTorch; powf is sometimes 1 ulp off those.
import { describe, expect, it } from 'vitest';
import { Generator, randn, rand, withBackend } from 'ferrograd';

function bitsEqual(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) diff++;
  return diff;
}

const backends = ['native', 'reference'] as const;

describe.each(backends)('pow special cases (%s backend)', (backend) => {
  const run = <T>(fn: () => T): T => withBackend(backend, fn);
  const g = new Generator().manualSeed(7);
  const x = randn([100_000], { generator: g }).tanh();   // where powf(x, 2) differs from x·x
  const pos = rand([100_000], { generator: g }).add(1e-3);

  it('x^2 is x·x, x^3 is x·x·x, x^1 is x', () => run(() => {
    expect(bitsEqual(x.pow(2).flat(), x.mul(x).flat())).toBe(0);
    expect(bitsEqual(x.pow(3).flat(), x.mul(x).mul(x).flat())).toBe(0);
    expect(bitsEqual(x.pow(1).flat(), x.flat())).toBe(0);
  }));

  it('x^-1 is 1/x, x^-2 is 1/(x·x), x^0.5 is sqrt(x), x^-0.5 is 1/sqrt(x)', () => run(() => {
    expect(bitsEqual(pos.pow(-1).flat(), pos.rdiv(1).flat())).toBe(0);
    expect(bitsEqual(pos.pow(-2).flat(), pos.mul(pos).rdiv(1).flat())).toBe(0);
    expect(bitsEqual(pos.pow(0.5).flat(), pos.sqrt().flat())).toBe(0);
    expect(bitsEqual(pos.pow(-0.5).flat(), pos.sqrt().rdiv(1).flat())).toBe(0);
  }));

  it('the gradient of x^2 is exactly 2·x (x^1 inside the backward is a copy)', () => run(() => {
    const leaf = x.clone().requiresGrad_();
    leaf.pow(2).sum().backward();
    expect(bitsEqual(leaf.grad!.flat(), x.mul(2).flat())).toBe(0);
  }));

  it('other exponents still work and edge values follow C pow', () => run(() => {
    const t = pos.narrow(0, 0, 8);
    const got = t.pow(1.7).flat();
    const want = Array.from(t.flat(), (v) => Math.fround(Math.pow(v, 1.7)));
    for (let i = 0; i < 8; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(Math.abs(want[i]!) * 2 ** -22);
    const z = randn([1], { generator: g }).mul(0);
    expect(z.pow(-1).item()).toBe(1 / z.item());
    expect(Number.isNaN(z.sub(1).pow(0.5).item())).toBe(true);
  }));
});
