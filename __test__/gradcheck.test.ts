// Finite-difference gradient checks in float64 (reference backend) for every differentiable op,
// in gradcheck's default full-Jacobian mode (every entry compared; fast mode is tested in
// correctness-gradcheck.test.ts).
import { describe, expect, it } from 'vitest';
import { F, Generator, Tensor, gradcheck, randn, rand, tensor, cat, stack, randint } from '../index.js';

const g = new Generator(1234);
const r = (shape: number[], opts: { positive?: boolean; requiresGrad?: boolean } = {}): Tensor => {
  const t = randn(shape, { generator: g, dtype: 'float64' });
  const x = opts.positive ? t.abs().add(0.5) : t;
  return x.detach().contiguous().clone().requiresGrad_(opts.requiresGrad ?? true);
};

function check(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): void {
  it(name, () => {
    const res = gradcheck(fn, inputs);
    expect(res.ok, `${name}: worst ${JSON.stringify(res.worst)}`).toBe(true);
  });
}

describe('gradcheck: elementwise', () => {
  check('neg', (x) => x.neg(), [r([3, 4])]);
  check('exp', (x) => x.exp(), [r([3, 4])]);
  check('log', (x) => x.log(), [r([3, 4], { positive: true })]);
  check('tanh', (x) => x.tanh(), [r([3, 4])]);
  check('relu', (x) => x.relu(), [r([3, 4]).detach().add(0.05).requiresGrad_()]);
  check('sqrt', (x) => x.sqrt(), [r([5], { positive: true })]);
  check('abs', (x) => x.abs(), [r([6])]);
  check('sigmoid', (x) => x.sigmoid(), [r([2, 3])]);
  check('square', (x) => x.square(), [r([2, 3])]);
  check('add broadcast', (a, b) => a.add(b), [r([4, 3]), r([1, 3])]);
  check('add alpha', (a, b) => a.add(b, 2.5), [r([4, 3]), r([3])]);
  check('sub broadcast', (a, b) => a.sub(b), [r([2, 4, 3]), r([4, 1])]);
  check('mul broadcast', (a, b) => a.mul(b), [r([4, 3]), r([4, 1])]);
  check('div broadcast', (a, b) => a.div(b), [r([4, 3]), r([3], { positive: true })]);
  check('pow scalar', (a) => a.pow(3), [r([4, 3])]);
  check('pow fractional', (a) => a.pow(-0.5), [r([4], { positive: true })]);
  check('pow tensor', (a, b) => a.pow(b), [r([3], { positive: true }), r([3])]);
  check('number operands', (a) => a.mul(2).add(1).sub(3).div(4).rsub(1).rdiv(2), [r([5], { positive: true })]);
  check('maximum', (a, b) => a.maximum(b), [r([6]), r([6])]);
  check('minimum', (a, b) => a.minimum(b), [r([6]), r([1])]);
  check('clamp', (a) => a.clamp(-0.5, 0.5), [r([8])]);
});

describe('gradcheck: reductions', () => {
  check('sum all', (x) => x.sum(), [r([3, 4])]);
  check('sum dim keepdim', (x) => x.sum(1, true), [r([3, 4])]);
  check('sum dims (0,1) of 3-D', (x) => x.sum([0, 1]), [r([2, 3, 4])]);
  check('mean dim', (x) => x.mean(0), [r([3, 4])]);
  check('max dim', (x) => x.max(1), [r([3, 5])]);
  check('min dim keepdim', (x) => x.min(0, true), [r([3, 5])]);
  check('max all', (x) => x.max(), [r([3, 5])]);
  check('var unbiased', (x) => x.var(0, { keepdim: true }), [r([5, 3])]);
  check('var biased', (x) => x.var(1, { unbiased: false }), [r([3, 5])]);
  check('std', (x) => x.std(0), [r([6, 2])]);
});

describe('gradcheck: shapes and indexing', () => {
  check('view/reshape', (x) => x.view(-1, 6).reshape([2, 3, 2]).mul(x.view([3, 2, 2]).permute(0, 2, 1).reshape([2, 3, 2])), [r([3, 4])]);
  check('transpose + contiguous', (x) => x.transpose(0, 1).contiguous().mul(2), [r([3, 4])]);
  check('T', (x) => x.T.matmul(x), [r([3, 4])]);
  check('squeeze/unsqueeze', (x) => x.unsqueeze(1).squeeze(1).unsqueeze(0).squeeze(), [r([3])]);
  check('expand', (x) => x.expand(4, 3).mul(2), [r([1, 3])]);
  check('slice with step', (x) => x.slice(1, 1, undefined, 2), [r([3, 6])]);
  check('select', (x) => x.select(0, -1), [r([3, 4])]);
  check('narrow', (x) => x.narrow(0, 1, 2), [r([4, 2])]);
  const ix = tensor([[0, 2], [2, 2], [1, 0]], { dtype: 'int32' });
  check('embedding lookup C[X] (repeated rows accumulate)', (C) => C.index(ix), [r([3, 5])]);
  check('one index tensor into a 1-D tensor', (v) => v.index(ix).mul(v.index(ix)), [r([3])]);
  check('one index tensor into a 3-D tensor', (x) => x.index(ix), [r([3, 2, 2])]);
  check('one index tensor into a transposed (strided) tensor', (x) => x.T.index(ix), [r([4, 3])]);
  check('a 0-d index tensor picks one row', (x) => x.index(tensor(2, { dtype: 'int32' })), [r([3, 4])]);
  const rows = tensor([0, 1, 2, 3], { dtype: 'int32' });
  const cols = tensor([4, 0, 4, 1], { dtype: 'int32' });
  check('pairs probs[arange(n), Y]', (p) => p.index([rows, cols]), [r([4, 5])]);
  check('leading null keeps dim 0', (p) => p.index([null, cols]), [r([2, 5])]);
  check('cat', (a, b) => cat([a, b], 1), [r([2, 3]), r([2, 1])]);
  check('stack', (a, b) => stack([a, b], 1), [r([2, 3]), r([2, 3])]);
  check('float64 -> float64 to()', (a) => a.to('float64').mul(a), [r([3])]);
});

describe('gradcheck: matmul', () => {
  check('2-D @ 2-D', (a, b) => a.matmul(b), [r([3, 4]), r([4, 5])]);
  check('transposed operands', (a, b) => a.T.matmul(b.T), [r([4, 3]), r([5, 4])]);
  check('3-D @ 2-D', (a, b) => a.matmul(b), [r([2, 3, 4]), r([4, 5])]);
  check('batched 3-D @ 3-D', (a, b) => a.matmul(b), [r([2, 3, 4]), r([2, 4, 2])]);
  check('broadcast batch', (a, b) => a.matmul(b), [r([1, 3, 4]), r([2, 4, 2])]);
  check('1-D @ 2-D and 2-D @ 1-D', (v, m) => v.matmul(m).matmul(m.T), [r([4]), r([4, 3])]);
  check('dot', (a, b) => a.matmul(b), [r([5]), r([5])]);
});

describe('gradcheck: fused ops', () => {
  check('softmax last dim', (x) => x.softmax(-1), [r([3, 5])]);
  check('softmax dim 0', (x) => x.softmax(0), [r([3, 5])]);
  check('logSoftmax', (x) => x.logSoftmax(1), [r([3, 5])]);
  const y = tensor([1, 0, 4], { dtype: 'int32' });
  check('crossEntropy mean', (x) => F.crossEntropy(x, y), [r([3, 5])]);
  check('crossEntropy sum', (x) => F.crossEntropy(x, y, { reduction: 'sum' }), [r([3, 5])]);
  const yIgn = tensor([1, -100, 4], { dtype: 'int32' });
  check('crossEntropy ignoreIndex', (x) => F.crossEntropy(x, yIgn), [r([3, 5])]);
  check('crossEntropy none', (x) => F.crossEntropy(x, yIgn, { reduction: 'none' }), [r([3, 5])]);
  check('batchNorm [N, C] biased', (x, w, b) => F.batchNorm(x, { weight: w, bias: b }), [r([6, 4]), r([4]), r([4])]);
  check('batchNorm [N, C] unbiased (lecture)', (x, w, b) => F.batchNorm(x, { weight: w, bias: b, correction: 1 }), [r([5, 3]), r([1, 3]), r([1, 3])]);
  check('batchNorm [N, T, C] over (0, 1)', (x, w) => F.batchNorm(x, { weight: w }), [r([3, 2, 4]), r([4])]);
  const runningMean = r([3], { requiresGrad: false });
  const runningVar = r([3], { positive: true, requiresGrad: false });
  check('batchNorm eval', (x, w, b) => F.batchNorm(x, { weight: w, bias: b, training: false, runningMean, runningVar }), [r([4, 3]), r([3]), r([3])]);
  check('conv1d valid', (x, w, b) => F.conv1d(x, w, b), [r([2, 3, 7]), r([4, 3, 2]), r([4])]);
  check('conv1d causal dilated', (x, w) => F.conv1d(x, w, null, { dilation: 2, padding: 'causal' }), [r([2, 2, 8]), r([3, 2, 3])]);
});

describe('gradcheck: a whole MLP step as in makemore part 2', () => {
  const X = randint(0, 7, [5, 3], { generator: g });
  const Y = randint(0, 7, [5], { generator: g });
  check('emb -> tanh hidden -> crossEntropy', (C, W1, b1, W2, b2) => {
    const emb = C.index(X);
    const h = emb.view(-1, 6).matmul(W1).add(b1).tanh();
    return F.crossEntropy(h.matmul(W2).add(b2), Y);
  }, [r([7, 2]), r([6, 8]), r([8]), r([8, 7]), r([7])]);
});

it('rand gives values in [0, 1) (sanity of the float64 path used above)', () => {
  const t = rand([100], { generator: g, dtype: 'float64' });
  expect(t.dtype).toBe('float64');
  expect(t.min().item()).toBeGreaterThanOrEqual(0);
  expect(t.max().item()).toBeLessThan(1);
});
