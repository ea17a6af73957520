// The ops nn needs: where / maskedFill, F.linear, F.embedding, F.layerNorm, F.gelu (and its erf),
// F.dropout. Values (against hand-derived results, Python's math.erf, and torch through the
// fixture), float64 gradient checks, the same float32 answers on both backends, and bad input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { F, Generator, Tensor, gradcheck, randn, tensor, where, zeros, withBackend } from '../index.js';
import { erf, erfc } from '../src/ops/gelu.js';
import { versionOf } from '../src/autograd/version.js';

const FIX = JSON.parse(readFileSync(new URL('./fixtures/torch_init.json', import.meta.url), 'utf8'));

const g = new Generator(2024);
const r = (shape: number[]): Tensor => randn(shape, { generator: g, dtype: 'float64' }).requiresGrad_();
function check(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): void {
  it(`gradcheck: ${name}`, () => {
    const res = gradcheck(fn, inputs);
    expect(res.ok, `${name}: worst ${JSON.stringify(res.worst)}`).toBe(true);
  });
}
const list = (t: Tensor): number[] => Array.from(t.toArray());

describe('where / maskedFill', () => {
  it('selects with broadcasting; numbers take the tensor dtype', () => {
    const cond = tensor([[1], [0]]);
    const a = tensor([[1, 2, 3]]);
    const b = tensor([[10, 20, 30], [40, 50, 60]]);
    expect(list(where(cond, a, b))).toEqual([1, 2, 3, 40, 50, 60]);
    expect(where(cond, a, b).shape).toEqual([2, 3]);
    const x = tensor([1, -2, 3], { dtype: 'float64' });
    const w = where(x.gt(0), x, 0);
    expect(w.dtype).toBe('float64');
    expect(list(w)).toEqual([1, 0, 3]);
    expect(list(x.where(x.lt(0), 5))).toEqual([5, -2, 5]);
    const ints = where(tensor([1, 0]), tensor([1, 2], { dtype: 'int32' }), 7);
    expect(ints.dtype).toBe('int32');
    expect(list(ints)).toEqual([1, 7]);
  });

  it('never lets the unselected side leak (-inf fills, NaN elsewhere), in values or gradients', () => {
    const x = tensor([[0.5, 1.5], [2.5, 3.5]]).requiresGrad_();
    const mask = tensor([[0, 1], [0, 0]]);
    const filled = x.maskedFill(mask, -Infinity);
    expect(list(filled)).toEqual([0.5, -Infinity, 2.5, 3.5]);
    const p = filled.softmax(-1);
    expect(list(p.select(0, 0))).toEqual([1, 0]);
    p.select(0, 1).sum().backward();
    expect(list(x.grad!).every(Number.isFinite)).toBe(true);
    const y = tensor([NaN, 1]).requiresGrad_();
    const z = tensor([2, 3]).requiresGrad_();
    const out = where(tensor([0, 1]), y, z);
    expect(list(out)).toEqual([2, 1]);
    out.sum().backward();
    expect(list(y.grad!)).toEqual([0, 1]);
    expect(list(z.grad!)).toEqual([1, 0]);
  });

  it('backward uses the mask as it was at the forward pass', () => {
    const x = tensor([1, 2, 3]).requiresGrad_();
    const mask = tensor([1, 0, 1]);
    const y = x.maskedFill(mask, 0);
    mask.fill_(0);
    y.sum().backward();
    expect(list(x.grad!)).toEqual([0, 1, 0]);
  });

  it('causal attention mask: maskedFill of the upper triangle', () => {
    const T = 4;
    const tril = tensor(Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 1 : 0))));
    const att = zeros([T, T]).maskedFill(tril.eq(0), -Infinity).softmax(-1);
    expect(list(att.select(0, 0))).toEqual([1, 0, 0, 0]);
    expect(list(att.select(0, 3))).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  check('where, both sides and broadcasting', (a, b) => where(tensor([[1, 0, 1], [0, 0, 1]]), a, b), [r([2, 3]), r([3])]);
  check('where with a number', (a) => where(tensor([1, 0, 1, 0]), a, 2.5), [r([4])]);
  check('maskedFill', (x) => x.maskedFill(tensor([[1, 0, 0]]), -3), [r([2, 3])]);

  const bad: [string, () => unknown, string | RegExp][] = [
    ['shapes that do not broadcast', () => where(zeros([2, 3]), zeros([4]), zeros([3])), 'where: condition [2, 3], input [4] and other [3] cannot be broadcast to one shape'],
    ['condition that is not a tensor', () => where([1, 0] as never, zeros([2]), zeros([2])), /where: condition must be a Tensor/],
    ['operand that is a string', () => where(zeros([2]), 'a' as never, zeros([2])), /where: input must be a Tensor or a number, got string/],
    ['mask wider than the input', () => zeros([3]).maskedFill(zeros([2, 3]), 1), 'maskedFill: the mask [2, 3] must be broadcastable to the input [3]'],
    ['fraction into an int tensor', () => tensor([1, 2], { dtype: 'int32' }).maskedFill(tensor([1, 0]), 0.5), /value 0.5 cannot be cast to the input's dtype int32/],
  ];
  for (const [name, fn, msg] of bad) it(`error: ${name}`, () => expect(fn).toThrow(msg));
});

describe('F.linear and F.embedding', () => {
  it('linear is x Wᵀ + b', () => {
    const x = tensor([[1, 2], [3, 4]]);
    const w = tensor([[1, 0], [0, 1], [1, 1]]);
    const b = tensor([0.5, -0.5, 0]);
    expect(list(F.linear(x, w, b))).toEqual([1.5, 1.5, 3, 3.5, 3.5, 7]);
    expect(list(F.linear(x, w))).toEqual([1, 2, 3, 3, 4, 7]);
  });
  check('linear 3-D input', (x, w, b) => F.linear(x, w, b), [r([2, 3, 4]), r([5, 4]), r([5])]);
  check('linear without bias', (x, w) => F.linear(x, w), [r([3, 4]), r([2, 4])]);
  check('embedding', (w) => F.embedding(tensor([[2, 0], [2, 1]], { dtype: 'int32' }), w), [r([3, 4])]);
  it('embedding accumulates repeated ids and skips paddingIdx', () => {
    const w = zeros([3, 2]).requiresGrad_();
    F.embedding(tensor([2, 2, 0, 1], { dtype: 'int32' }), w, { paddingIdx: -1 }).sum().backward();
    expect(list(w.grad!)).toEqual([1, 1, 1, 1, 0, 0]);
  });
  const bad: [string, () => unknown, string | RegExp][] = [
    ['linear 0-d input', () => F.linear(tensor(1), zeros([2, 1])), /linear: input must have at least 1 dimension/],
    ['linear 1-D weight', () => F.linear(zeros([2]), zeros([2])), 'linear: weight must be 2-D [out_features, in_features], got [2]'],
    ['linear bias size', () => F.linear(zeros([1, 2]), zeros([3, 2]), zeros([2])), 'linear: bias must have shape [3] (out_features), got [2]'],
    ['embedding negative id', () => F.embedding(tensor([-1], { dtype: 'int32' }), zeros([3, 2])), /embedding: index -1 \(at position 0 of input \[1\]\) is out of range for 3 embeddings/],
    ['embedding 3-D weight', () => F.embedding(tensor([0], { dtype: 'int32' }), zeros([3, 2, 1])), /embedding: weight must be 2-D/],
  ];
  for (const [name, fn, msg] of bad) it(`error: ${name}`, () => expect(fn).toThrow(msg));
});

describe('F.layerNorm', () => {
  it('normalises over the trailing dims with the biased variance', () => {
    const x = tensor([[1, 2, 3, 4], [2, 2, 2, 2]], { dtype: 'float64' });
    const y = F.layerNorm(x, [4], null, null, 0);
    const s = Math.sqrt(1.25);
    const want = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
    list(y.select(0, 0)).forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
    // A constant row has zero variance: eps keeps it finite (0 / sqrt(eps)).
    expect(list(F.layerNorm(x, 4).select(0, 1))).toEqual([0, 0, 0, 0]);
  });
  check('layerNorm with weight and bias over two dims', (x, w, b) => F.layerNorm(x, [2, 3], w, b), [r([4, 2, 3]), r([2, 3]), r([2, 3])]);
  check('layerNorm without affine', (x) => F.layerNorm(x, 5), [r([3, 5])]);
  it('error: weight of the wrong shape', () => {
    expect(() => F.layerNorm(zeros([2, 4]), 4, zeros([3]))).toThrow('layerNorm: weight must have shape [4] (normalized_shape), got [3]');
  });
});

describe('F.gelu and erf', () => {
  it('erf and erfc agree with Python math.erf / math.erfc', () => {
    const E = FIX.erf;
    E.x.forEach((x: number, i: number) => {
      const wantErf = E.erf[i];
      const wantErfc = E.erfc[i];
      expect(Math.abs(erf(x) - wantErf), `erf(${x})`).toBeLessThanOrEqual(2e-15 * Math.abs(wantErf) + 1e-300);
      expect(Math.abs(erfc(x) - wantErfc), `erfc(${x})`).toBeLessThanOrEqual(1e-13 * Math.abs(wantErfc) + 1e-300);
    });
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });

  it('gelu matches torch (float32, within an ulp or two) for both approximations', () => {
    const c = FIX.forward.GELU;
    const dec = (e: { b64: string; shape: number[] }) => {
      const buf = Buffer.from(e.b64, 'base64');
      return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    };
    const x = tensor(dec(c.x));
    for (const approx of ['none', 'tanh'] as const) {
      const got = F.gelu(x, { approximate: approx }).toArray();
      const want = dec(c[approx]);
      // torch evaluates 0.5·x·(1 + erf(x/√2)) in float32, so for negative x its 1 + erf cancels
      // and carries an absolute error of about |x|·2^-24 (ferrograd rounds the float64 value once).
      const xs = x.toArray();
      for (let i = 0; i < want.length; i++) {
        const tol = 2.5e-7 * Math.max(1, Math.abs(want[i])) + 1.2e-7 * Math.abs(xs[i]);
        expect(Math.abs(got[i] - want[i]), `${approx} at x=${xs[i]}`).toBeLessThanOrEqual(tol);
      }
    }
  });

  it('gelu keeps tiny negative tails accurate (relative), where 1 - erf would cancel', () => {
    const y = F.gelu(tensor([-10], { dtype: 'float64' })).item();
    // -10·Φ(-10) = -10 · 0.5·erfc(10/√2) = -7.619853024160527e-23
    expect(Math.abs(y / -7.619853024160527e-23 - 1)).toBeLessThan(1e-12);
  });

  check('gelu none', (x) => F.gelu(x), [r([4, 5])]);
  check('gelu tanh', (x) => F.gelu(x, { approximate: 'tanh' }), [r([4, 5])]);
  check('gelu on a wide range', (x) => F.gelu(x.mul(4)), [r([20])]);
});

describe('F.dropout', () => {
  it('identity when not training or p = 0; zeros when p = 1', () => {
    const x = randn([3, 4]);
    expect(F.dropout(x, 0.5, false)).toBe(x);
    expect(F.dropout(x, 0)).toBe(x);
    expect(list(F.dropout(x, 1)).every((v) => v === 0)).toBe(true);
  });

  it('one uniform float32 draw per element from the generator: keep where u < 1 - p, scale by 1/(1-p)', () => {
    const x = randn([5, 7], { generator: new Generator(3) });
    const y = F.dropout(x, 0.3, true, new Generator(11));
    const u = new Float32Array(35);
    new Generator(11).fillRand(u);
    const xs = x.toArray();
    list(y).forEach((v, i) => expect(v + 0).toBe(u[i] < 0.7 ? Math.fround(xs[i] * Math.fround(1 / 0.7)) + 0 : 0));
  });

  check('dropout with a fixed mask', (x) => F.dropout(x, 0.5, true, new Generator(8)), [r([3, 6])]);

  it('error: p outside [0, 1]', () => {
    expect(() => F.dropout(zeros([2]), -0.1)).toThrow('dropout: dropout probability has to be between 0 and 1, but got -0.1');
  });
});

describe('float32 results agree on the native and reference backends', () => {
  // Differences are float32 rounding of different summation orders only.
  const cases: [string, () => Tensor][] = [
    ['linear', () => F.linear(randn([6, 5], { generator: new Generator(1) }), randn([4, 5], { generator: new Generator(2) }), randn([4], { generator: new Generator(3) }))],
    ['layerNorm', () => F.layerNorm(randn([6, 8], { generator: new Generator(4) }).mul(3).add(2), 8)],
    ['gelu', () => F.gelu(randn([50], { generator: new Generator(5) }))],
    ['where', () => where(randn([4, 5], { generator: new Generator(6) }).gt(0), randn([5], { generator: new Generator(7) }), -1)],
    ['embedding', () => F.embedding(tensor([3, 1, 3], { dtype: 'int32' }), randn([4, 6], { generator: new Generator(8) }))],
  ];
  for (const [name, fn] of cases) {
    it(name, () => {
      const ref = withBackend('reference', fn).toArray();
      const nat = withBackend('native', fn).toArray();
      for (let i = 0; i < ref.length; i++) expect(Math.abs(nat[i] - ref[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[i])));
    });
  }
});

describe('F.batchNorm running statistics', () => {
  // The update runs on raw kernels when the running tensors are contiguous, and through
  // mul_/add_ on strided ones; both must be `running.mul_(1 - m).add_(batchStat · scale, m)`.
  for (const correction of [0, 1]) {
    it(`contiguous and strided running tensors get the same bits and two version bumps (correction ${correction})`, () => {
      const gen = new Generator(5);
      const x = randn([16, 6], { generator: gen }).mul(3).add(1);
      const mean = randn([6], { generator: gen });
      const vari = randn([6], { generator: gen }).abs();
      const meanS = zeros([6, 2]).select(1, 1);
      const varS = zeros([6, 2]).select(1, 0);
      meanS.copy_(mean);
      varS.copy_(vari);
      expect(meanS.isContiguous()).toBe(false);
      const v0 = [versionOf(mean.data), versionOf(vari.data)];
      for (const [rm, rv] of [[mean, vari], [meanS, varS]]) {
        F.batchNorm(x, { runningMean: rm, runningVar: rv, momentum: 0.3, correction });
      }
      expect([versionOf(mean.data), versionOf(vari.data)]).toEqual([v0[0] + 2, v0[1] + 2]);
      expect(list(meanS)).toEqual(list(mean));
      expect(list(varS)).toEqual(list(vari));
      // With momentum 1 the running statistics are the batch's, the variance unbiased either way (as PyTorch).
      const rm1 = zeros([6]);
      const rv1 = zeros([6]);
      F.batchNorm(x, { runningMean: rm1, runningVar: rv1, momentum: 1, correction });
      list(x.mean(0)).forEach((v, i) => expect(list(rm1)[i]).toBeCloseTo(v, 4));
      list(x.var(0)).forEach((v, i) => expect(list(rv1)[i]).toBeCloseTo(v, 4));
    });
  }
});
