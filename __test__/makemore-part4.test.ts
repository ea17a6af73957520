// makemore part 4 ("becoming a backprop ninja"): the hand-written backward of every step of the
// chunked forward against autograd (exercise 1), the closed-form cross-entropy and BatchNorm
// backwards (exercises 2 and 3) in float32 and float64, the fused native kernels against those
// formulas, and a short exercise-4 run trained with the hand-written gradients only.
import { beforeAll, describe, expect, it } from 'vitest';
import { F, Generator, Tensor, allclose, gradcheck, indexAdd, isclose, noGrad, randint, randn, tensor, zeros } from '../index.js';
import {
  Vocabulary,
  buildContexts,
  calibrateBatchNorm,
  chunkedForward,
  cmp,
  contextTensors,
  countNinjaParameters,
  crossEntropyBackward,
  batchNormBackward,
  batchNormForwardFast,
  embeddingGradLoop,
  evaluateNinja,
  exercise1Rows,
  exercise4Forward,
  initNinjaParams,
  manualBackward,
  manualGradients,
  manualTrainStep,
  ninjaParameters,
  pyFloatRepr,
  readWords,
  sampleNinja,
  splitWords,
  stepDecay,
  trainManual,
  NINJA_SEED,
  type MlpSplit,
  type NinjaParams,
} from '../src/makemore/index.js';

// The rows whose autograd node sits above tanh: the same float operations run on both sides.

const maxAbsDiff = (a: Tensor, b: Tensor) => noGrad(() => a.sub(b).abs().max().item());

/** A small network and a random batch of token ids (no data set needed). */
function smallCase(dtype: 'float32' | 'float64', seed = 7, n = 8) {
  const g = new Generator().manualSeed(seed);
  const p = initNinjaParams({ generator: g, bnGenerator: new Generator().manualSeed(seed + 1), nEmbd: 4, nHidden: 16, dtype });
  const Xb = randint(0, 27, [n, 3], { generator: g });
  const Yb = randint(0, 27, [n], { generator: g });
  return { p, Xb, Yb };
}

function runExercise1(p: NinjaParams, Xb: Tensor, Yb: Tensor) {
  const f = chunkedForward(p, Xb, Yb);
  for (const t of ninjaParameters(p)) t.grad = null;
  f.loss.backward();
  const d = manualBackward(p, f, Xb);
  const rows = exercise1Rows(p, f, d).map(([name, dt, t]) => cmp(name, dt, t, null));
  return { f, d, rows };
}

describe('pyFloatRepr and cmp print as the lecture', () => {
  it('formats floats as Python repr()', () => {
    // Python 3: repr() of each value.
    const cases: [number, string][] = [
      [0, '0.0'], [-0, '-0.0'], [1.5, '1.5'], [123, '123.0'], [0.1, '0.1'], [0.0001, '0.0001'], [1e-5, '1e-05'],
      [9.313225746154785e-10, '9.313225746154785e-10'], [5.122274160385132e-9, '5.122274160385132e-09'],
      [2.384185791015625e-7, '2.384185791015625e-07'], [-2.5e-7, '-2.5e-07'], [1e15, '1000000000000000.0'], [1e16, '1e+16'],
      [3.3377387523651123, '3.3377387523651123'], [1.2345e100, '1.2345e+100'], [NaN, 'nan'], [Infinity, 'inf'],
    ];
    for (const [x, s] of cases) expect(pyFloatRepr(x)).toBe(s);
  });

  it('prints the table row with padded name, True/False and maxdiff', () => {
    const t = tensor([1, 2, 3]).requiresGrad_(true);
    t.mul(2).sum().backward();
    const lines: string[] = [];
    const same = cmp('W2', tensor([2, 2, 2]), t, (l) => lines.push(l));
    expect(same).toMatchObject({ exact: true, approximate: true, maxdiff: 0 });
    const off = cmp('counts_sum_inv', tensor([2, 2, 2.5]), t, (l) => lines.push(l));
    expect(off).toMatchObject({ exact: false, approximate: false, maxdiff: 0.5 });
    expect(lines).toEqual([
      'W2              | exact: True  | approximate: True  | maxdiff: 0.0',
      'counts_sum_inv  | exact: False | approximate: False | maxdiff: 0.5',
    ]);
    expect(() => cmp('x', tensor([1]), tensor([1]), null)).toThrow(/t\.grad is null/);
  });
});

describe('isclose / allclose (torch semantics)', () => {
  it('uses |a - b| <= atol + rtol·|b|, with broadcasting', () => {
    expect(allclose(tensor([1]), tensor([1 + 1e-6]))).toBe(true);
    expect(allclose(tensor([0]), tensor([1e-7]))).toBe(false); // atol 1e-8 only
    expect(allclose(tensor([0]), tensor([5e-9]))).toBe(true);
    expect(allclose(tensor([0]), tensor([1e-7]), { atol: 1e-6 })).toBe(true);
    expect(allclose(tensor([100]), tensor([100.01]), { rtol: 1e-3 })).toBe(true);
    expect(allclose(tensor([1, 2, 3]), tensor([[1, 2, 3], [1, 2, 3.1]]))).toBe(false);
    expect(allclose(tensor([1, 2, 3]), tensor([[1, 2, 3], [1, 2, 3]]))).toBe(true);
    expect(Array.from(isclose(tensor([1, 2]), tensor([1, 2.5])).toArray())).toEqual([1, 0]);
  });

  it('handles NaN and infinities as torch', () => {
    expect(allclose(tensor([NaN]), tensor([NaN]))).toBe(false);
    expect(allclose(tensor([NaN]), tensor([NaN]), { equalNan: true })).toBe(true);
    expect(allclose(tensor([Infinity]), tensor([Infinity]))).toBe(true);
    expect(allclose(tensor([Infinity]), tensor([-Infinity]))).toBe(false);
    expect(allclose(tensor([1e30]), tensor([Infinity]))).toBe(false);
    expect(allclose(zeros([0]), zeros([0]))).toBe(true);
  });

  it('refuses mixed dtypes and bad tolerances', () => {
    expect(() => allclose(tensor([1]), tensor([1], { dtype: 'float64' }))).toThrow(/same dtype.*float32 and float64/);
    expect(() => allclose(tensor([1]), tensor([1]), { rtol: -1 })).toThrow(/rtol must be a number >= 0/);
  });
});

describe('indexAdd (torch.index_add)', () => {
  it('adds rows at the indices, repeated indices accumulating in order', () => {
    const x = tensor([[1, 1], [2, 2], [3, 3]]);
    const src = tensor([[10, 20], [30, 40], [50, 60], [1, 1]]);
    const out = indexAdd(x, 0, tensor([2, 0, 2, 1], { dtype: 'int32' }), src);
    expect(out.tolist()).toEqual([[31, 41], [3, 3], [63, 83]]);
    expect(x.tolist()).toEqual([[1, 1], [2, 2], [3, 3]]); // not in place
    const scaled = indexAdd(x, 0, tensor([1], { dtype: 'int32' }), tensor([[1, 2]]), { alpha: -2 });
    expect(scaled.tolist()).toEqual([[1, 1], [0, -2], [3, 3]]);
  });

  it('works along any dim', () => {
    const x = zeros([2, 3]);
    const out = indexAdd(x, 1, tensor([0, 2, 0], { dtype: 'int32' }), tensor([[1, 2, 3], [4, 5, 6]]));
    expect(out.tolist()).toEqual([[4, 0, 2], [10, 0, 5]]);
    const out3 = indexAdd(zeros([2, 2, 2]), -1, tensor([1, 1], { dtype: 'int32' }), tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]));
    expect(out3.tolist()).toEqual([[[0, 3], [0, 7]], [[0, 11], [0, 15]]]);
  });

  it('has the gradients of input and source (finite differences, float64)', () => {
    const g = new Generator().manualSeed(3);
    const x = randn([4, 3], { generator: g, dtype: 'float64', requiresGrad: true });
    const src = randn([5, 3], { generator: g, dtype: 'float64', requiresGrad: true });
    const idx = tensor([3, 0, 3, 1, 3], { dtype: 'int32' });
    const w = randn([4, 3], { generator: g, dtype: 'float64' });
    const res = gradcheck((a, b) => indexAdd(a, 0, idx, b, { alpha: 0.5 }).mul(w).sum(), [x, src]);
    expect(res.ok).toBe(true);
  });

  it('equals the lecture\'s double loop dC[ix] += demb[k, j] bit for bit', () => {
    const g = new Generator().manualSeed(11);
    const C = randn([27, 10], { generator: g });
    const Xb = randint(0, 27, [32, 3], { generator: g });
    const demb = randn([32, 3, 10], { generator: g });
    const loop = embeddingGradLoop(C, Xb, demb);
    const once = indexAdd(zeros([27, 10]), 0, Xb.reshape([-1]), demb.view(-1, 10));
    expect(Array.from(once.toArray())).toEqual(Array.from(loop.toArray()));
  });

  it('reports bad arguments', () => {
    const x = zeros([3, 2]);
    const ix = (v: number[]) => tensor(v, { dtype: 'int32' });
    expect(() => indexAdd(x, 0, ix([3]), zeros([1, 2]))).toThrow(/index 3 at position 0 is out of range for dimension 0 of size 3/);
    expect(() => indexAdd(x, 0, ix([-1]), zeros([1, 2]))).toThrow(/out of range/);
    expect(() => indexAdd(x, 0, ix([0, 1]), zeros([1, 2]))).toThrow(/source of shape \[1, 2\] does not fit input \[3, 2\] at dim 0 with 2 indices/);
    expect(() => indexAdd(x, 0, tensor([0]), zeros([1, 2]))).toThrow(/int32/);
    expect(() => indexAdd(x, 0, ix([0]), zeros([1, 2], { dtype: 'float64' }))).toThrow(/dtype float64 but input has float32/);
    expect(() => indexAdd(x, 2, ix([0]), zeros([1, 2]))).toThrow(/dim/);
  });
});

describe('exercise 1: the hand-written backward of every intermediate', () => {
  it('matches autograd bit for bit on all 26 rows in float32', () => {
    for (const seed of [7, 8, 9]) {
      const { p, Xb, Yb } = smallCase('float32', seed);
      const { rows } = runExercise1(p, Xb, Yb);
      expect(rows.map((r) => r.name)).toHaveLength(26);
      for (const r of rows) {
        expect(r.approximate, r.line).toBe(true);
        expect(r.maxdiff, r.line).toBeLessThanOrEqual(1e-6);
      }
      // The hand-written lines run the very float operations of the autograd nodes (h**2 is h·h,
      // counts_sum**-1 is 1/counts_sum, as in PyTorch), so every row is bit-exact, as in the lecture.
      for (const r of rows) expect(r.exact, r.line).toBe(true);
    }
  });

  it('is bit-exact on all 26 rows in float64 (reference backend)', () => {
    const { p, Xb, Yb } = smallCase('float64');
    const { rows } = runExercise1(p, Xb, Yb);
    for (const r of rows) expect(r.exact, r.line).toBe(true);
  });

  it('finds a wrong hand-written gradient', () => {
    const { p, Xb, Yb } = smallCase('float32');
    const { f, d } = runExercise1(p, Xb, Yb);
    // Forgetting Bessel's correction in dbndiff2 (1/n instead of 1/(n-1)) must show up.
    const wrong = noGrad(() => d.dbndiff2.mul((f.n - 1) / f.n));
    expect(cmp('bndiff2', wrong, f.bndiff2, null).approximate).toBe(false);
  });

  it('checks the batch', () => {
    const { p, Xb, Yb } = smallCase('float32');
    expect(() => chunkedForward(p, Xb.narrow(0, 0, 1), Yb.narrow(0, 0, 1))).toThrow(/at least 2 rows/);
    expect(() => chunkedForward(p, Xb.narrow(1, 0, 2), Yb)).toThrow(/Xb must be an int32 tensor of contexts \[n, 3\]/);
    expect(() => chunkedForward(p, Xb, Yb.narrow(0, 0, 3))).toThrow(/Yb must be an int32 tensor of 8 next tokens/);
    expect(() => chunkedForward(p, Xb.mul(0).add(27).int(), Yb)).toThrow(/holds 27 at flat position 0, not a token id of a 27-token vocabulary/);
  });
});

describe('the lecture\'s exercise network on names.txt', () => {
  let train: MlpSplit;
  let vocab: Vocabulary;
  beforeAll(() => {
    const words = readWords();
    vocab = Vocabulary.fromWords(words);
    train = contextTensors(buildContexts(splitWords(words).train, vocab, 3));
  });

  function lectureBatch(dtype: 'float32' | 'float64') {
    const g = new Generator().manualSeed(NINJA_SEED);
    const p = initNinjaParams({ generator: g, dtype });
    const ix = randint(0, train.X.shape[0], [32], { generator: g });
    return { p, Xb: train.X.index(ix), Yb: train.Y.index(ix) };
  }

  it('has 4137 parameters and the first loss 3.3346 with the default-seed bngain/bnbias', () => {
    const { p, Xb, Yb } = lectureBatch('float32');
    expect(countNinjaParameters(p)).toBe(4137);
    const f = chunkedForward(p, Xb, Yb);
    // lectures.md §7: an emulation with PyTorch's default seed gives 3.3346.
    expect(f.loss.item()).toBeCloseTo(3.3346, 4);
    // the chunked loss and the fused F.crossEntropy agree to float32 rounding (the lecture: diff 2.4e-07)
    expect(Math.abs(F.crossEntropy(f.logits, Yb).item() - f.loss.item())).toBeLessThan(1e-6);
  });

  for (const dtype of ['float32', 'float64'] as const) {
    const tol = dtype === 'float32' ? 1e-8 : 1e-15;

    it(`exercise 2: the closed-form cross-entropy backward (${dtype}), and the fused kernel against it`, () => {
      const { p, Xb, Yb } = lectureBatch(dtype);
      const f = chunkedForward(p, Xb, Yb);
      f.loss.backward();
      const dlogits = crossEntropyBackward(f.logits, Yb);
      const row = cmp('logits', dlogits, f.logits, null);
      expect(row.approximate).toBe(true);
      expect(row.maxdiff).toBeLessThanOrEqual(tol);
      // each row of dlogits sums to 0; the target's entry is (p - 1)/n
      const rowSums = noGrad(() => dlogits.sum(1).abs().max().item());
      expect(rowSums).toBeLessThan(dtype === 'float32' ? 1e-7 : 1e-15);
      const probs0 = noGrad(() => f.logits.softmax(1).select(0, 0));
      const y0 = Yb.toArray()[0];
      expect(dlogits.toArray()[y0] * 32).toBeCloseTo(probs0.toArray()[y0] - 1, dtype === 'float32' ? 6 : 12);
      // the fused kernel's backward
      const leaf = f.logits.detach().requiresGrad_(true);
      const loss = F.crossEntropy(leaf, Yb);
      expect(Math.abs(loss.item() - f.loss.item())).toBeLessThan(dtype === 'float32' ? 1e-6 : 1e-14);
      loss.backward();
      expect(maxAbsDiff(dlogits, leaf.grad!)).toBeLessThanOrEqual(tol);
    });

    it(`exercise 3: the closed-form BatchNorm forward and backward (${dtype}), and F.batchNorm against them`, () => {
      const { p, Xb, Yb } = lectureBatch(dtype);
      const f = chunkedForward(p, Xb, Yb);
      f.loss.backward();
      const fast = batchNormForwardFast(f.hprebn, p.bngain, p.bnbias);
      expect(maxAbsDiff(fast, f.hpreact)).toBeLessThanOrEqual(dtype === 'float32' ? 1e-6 : 1e-14);
      const dhprebn = batchNormBackward(f.hpreact.grad!, p.bngain, f.bnvarInv, f.bnraw);
      const row = cmp('hprebn', dhprebn, f.hprebn, null);
      expect(row.approximate).toBe(true);
      expect(row.maxdiff).toBeLessThanOrEqual(tol);
      // the fused kernel with the lectures' unbiased variance
      const x = f.hprebn.detach().requiresGrad_(true);
      const gamma = p.bngain.detach().requiresGrad_(true);
      const beta = p.bnbias.detach().requiresGrad_(true);
      const out = F.batchNorm(x, { weight: gamma, bias: beta, correction: 1, eps: 1e-5 });
      expect(maxAbsDiff(out, f.hpreact)).toBeLessThanOrEqual(dtype === 'float32' ? 1e-6 : 1e-14);
      out.backward(f.hpreact.grad!);
      expect(maxAbsDiff(dhprebn, x.grad!)).toBeLessThanOrEqual(tol);
      const d = manualBackward(p, f, Xb);
      expect(maxAbsDiff(d.dbngain, gamma.grad!)).toBeLessThanOrEqual(dtype === 'float32' ? 1e-7 : 1e-14);
      expect(maxAbsDiff(d.dbnbias, beta.grad!)).toBeLessThanOrEqual(dtype === 'float32' ? 1e-7 : 1e-14);
      // PyTorch's default (biased) variance is a different normalisation: the check can fail.
      const biased = F.batchNorm(f.hprebn.detach(), { weight: p.bngain.detach(), bias: p.bnbias.detach(), eps: 1e-5 });
      expect(maxAbsDiff(biased, f.hpreact)).toBeGreaterThan(1e-3);
    });
  }

  describe('exercise 4: training with the hand-written gradients only', () => {
    it('gives autograd\'s gradients at step 0', () => {
      const g = new Generator().manualSeed(NINJA_SEED);
      const p = initNinjaParams({ generator: g, nHidden: 200 });
      expect(countNinjaParameters(p)).toBe(12297);
      const ix = randint(0, train.X.shape[0], [32], { generator: g });
      const Xb = train.X.index(ix);
      const Yb = train.Y.index(ix);
      const { loss, grads } = manualGradients(p, Xb, Yb);
      expect(loss.requiresGrad).toBe(false);
      const params = ninjaParameters(p);
      for (const t of params) expect(t.grad).toBeNull(); // no backward() ran
      const f = exercise4Forward(p, Xb, Yb);
      expect(f.loss.item()).toBe(loss.item());
      f.loss.backward();
      params.forEach((t, i) => {
        expect(grads[i].shape).toEqual(t.shape);
        const row = cmp(`param ${i}`, grads[i], t, null);
        expect(row.maxdiff, row.line).toBeLessThanOrEqual(1e-7);
        // b1's true gradient is 0 (BatchNorm subtracts the batch mean): both sides are rounding noise.
        if (i === 2) expect(noGrad(() => t.grad!.abs().max().item())).toBeLessThan(1e-7);
        else expect(row.approximate, row.line).toBe(true);
      });
    });

    it('lowers the loss in 2000 steps, calibrates BatchNorm, evaluates and samples', () => {
      const g = new Generator().manualSeed(NINJA_SEED);
      const p = initNinjaParams({ generator: g, nHidden: 200 });
      const before = ninjaParameters(p).map((t) => t.toArray().slice());
      const steps = 2000;
      let calls = 0;
      const { losses } = trainManual(p, train, { steps, lr: stepDecay(0.1, 0.01, 1000), generator: g, onStep: () => calls++ });
      expect(calls).toBe(steps);
      const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
      const first = mean(losses.subarray(0, 100));
      const last = mean(losses.subarray(steps - 200));
      expect(losses[0]).toBeGreaterThan(3.3); // ln 27 = 3.2958 is uniform; this init starts above
      expect(last).toBeLessThan(2.6);
      expect(last).toBeLessThan(first - 0.3);
      // every parameter moved, none got a .grad, and no graph was recorded
      ninjaParameters(p).forEach((t, i) => {
        expect(t.grad).toBeNull();
        expect(t.isLeaf).toBe(true);
        expect(Array.from(t.toArray())).not.toEqual(Array.from(before[i]));
      });
      // calibration over (part of) the training set equals the one-pass statistics
      const X = train.X.narrow(0, 0, 20000);
      const Y = train.Y.narrow(0, 0, 20000);
      const bn = calibrateBatchNorm(p, X);
      const { mean: m1, var: v1 } = noGrad(() => {
        const hpre = p.C.index(X).view(20000, -1).matmul(p.W1).add(p.b1).to('float64');
        return { mean: hpre.mean(0, true), var: hpre.var(0, { keepdim: true, unbiased: true }) };
      });
      expect(bn.bnmean.shape).toEqual([1, 200]);
      expect(maxAbsDiff(bn.bnmean.to('float64'), m1)).toBeLessThan(1e-5);
      expect(noGrad(() => bn.bnvar.to('float64').sub(v1).abs().div(v1).max().item())).toBeLessThan(1e-5);
      const lossFull = evaluateNinja(p, bn, { X, Y });
      const direct = noGrad(() => {
        const hpreact = p.bngain.mul(p.C.index(X).view(20000, -1).matmul(p.W1).add(p.b1).sub(bn.bnmean)).mul(bn.bnvar.add(1e-5).pow(-0.5)).add(p.bnbias);
        return F.crossEntropy(hpreact.tanh().matmul(p.W2).add(p.b2), Y).item();
      });
      expect(Math.abs(lossFull - direct)).toBeLessThan(1e-5);
      expect(lossFull).toBeLessThan(2.6);
      const samples = sampleNinja(p, bn, 20, new Generator().manualSeed(NINJA_SEED + 10), vocab);
      expect(samples).toHaveLength(20);
      for (const s of samples) expect(s).toMatch(/^[a-z]*\.$/);
      expect(sampleNinja(p, bn, 20, new Generator().manualSeed(NINJA_SEED + 10), vocab)).toEqual(samples);
    });

    it('refuses bad options with clear errors', () => {
      const p = initNinjaParams({ generator: new Generator().manualSeed(1), nHidden: 8 });
      expect(() => trainManual(p, train, { steps: 1, lr: Number.NaN })).toThrow(/lr must be a finite number/);
      expect(() => trainManual(p, train, { steps: 1, lr: 0.1, batchSize: 1 })).toThrow(/batchSize must be an integer >= 2/);
      expect(() => trainManual(p, train, { steps: -1, lr: 0.1 })).toThrow(/steps must be an integer >= 0/);
      expect(() => manualTrainStep(p, { X: train.X.narrow(1, 0, 2), Y: train.Y }, { lr: 0.1 })).toThrow(/contexts \[n, 3\]/);
      expect(() => trainManual(p, train, { steps: 3, lr: (i) => (i < 2 ? 0.1 : Infinity) })).toThrow(/schedule returned it for step 2/);
      expect(() => initNinjaParams({ nHidden: 0 })).toThrow(/nHidden must be an integer >= 1/);
    });
  });
});
