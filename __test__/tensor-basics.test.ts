// The Tensor type as a PyTorch user meets it: creation, views that share storage, copies, reading
// values, dtype conversion, printing, joins, masks, histograms, in-place updates, and the autograd
// behaviours (noGrad, retainGrad, accumulation, explicit gradients, reuse) around them.
import { describe, expect, it } from 'vitest';
import {
  F, Tensor, arange, cat, enableGrad, eye, full, histogram, isGradEnabled, linspace, noGrad, oneHot, ones, stack,
  tensor, zeros, zerosLike, onesLike,
} from '../index.js';

const vals = (t: Tensor): number[] => Array.from(t.toArray());
const f32 = (x: number): number => Math.fround(x);

describe('creation', () => {
  it('tensor() from nested arrays infers the shape, uses float32 and keeps row-major order', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.strides).toEqual([3, 1]);
    expect(vals(t)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it('tensor() of 3-D data, a scalar, an empty list, booleans and explicit dtypes', () => {
    expect(tensor([[[1], [2]], [[3], [4]]]).shape).toEqual([2, 2, 1]);
    const s = tensor(2.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(2.5);
    const e = tensor([]);
    expect(e.shape).toEqual([0]);
    expect(e.numel()).toBe(0);
    expect(vals(tensor([true, false, true]))).toEqual([1, 0, 1]);
    const i = tensor([3, -1, 7], { dtype: 'int32' });
    expect(i.dtype).toBe('int32');
    expect(i.data).toBeInstanceOf(Int32Array);
    const d = tensor([0.1], { dtype: 'float64' });
    expect(d.item()).toBe(0.1); // exact in float64
    expect(tensor([0.1]).item()).toBe(f32(0.1)); // rounded in float32
  });

  it('tensor() of a typed array shares it (no copy) and takes an optional shape', () => {
    const buf = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(buf, { shape: [3, 2] });
    expect(t.shape).toEqual([3, 2]);
    buf[5] = 60;
    expect(t.select(0, 2).select(0, 1).item()).toBe(60);
    expect(tensor(new Int32Array([4, 5])).dtype).toBe('int32');
    expect(tensor(new Float64Array(3)).dtype).toBe('float64');
  });

  it('zeros, ones, full, zerosLike, onesLike', () => {
    const z = zeros([2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(vals(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(vals(ones(4))).toEqual([1, 1, 1, 1]);
    const f = full([2, 2], -3.5, { dtype: 'float64' });
    expect(f.dtype).toBe('float64');
    expect(vals(f)).toEqual([-3.5, -3.5, -3.5, -3.5]);
    const iz = zeros([3], { dtype: 'int32' });
    expect(iz.dtype).toBe('int32');
    const like = onesLike(f);
    expect(like.dtype).toBe('float64');
    expect(like.shape).toEqual([2, 2]);
    expect(vals(zerosLike(tensor([[1, 2]])))).toEqual([0, 0]);
    expect(zeros([0, 5]).numel()).toBe(0);
    const r = ones([2], { requiresGrad: true });
    expect(r.requiresGrad).toBe(true);
    expect(r.isLeaf).toBe(true);
  });

  it('arange: integers give int32, fractions the float default, and the length is ceil((end - start) / step)', () => {
    const a = arange(5);
    expect(a.dtype).toBe('int32');
    expect(vals(a)).toEqual([0, 1, 2, 3, 4]);
    expect(vals(arange(2, 11, 3))).toEqual([2, 5, 8]);
    expect(vals(arange(5, 0, -2))).toEqual([5, 3, 1]);
    const fr = arange(1, 2, 0.25);
    expect(fr.dtype).toBe('float32');
    expect(vals(fr)).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arange(0, 1, 0.1).numel()).toBe(10);
    expect(arange(3, 3).numel()).toBe(0);
    expect(arange(4, undefined, 1, { dtype: 'float64' }).dtype).toBe('float64');
  });

  it('linspace includes both ends and spaces the points evenly', () => {
    expect(vals(linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(vals(linspace(-1, 1, 1))).toEqual([-1]);
    expect(linspace(0, 1, 0).numel()).toBe(0);
    const l = linspace(-3, 3, 7, { dtype: 'float64' });
    expect(vals(l)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    const long = vals(linspace(0, 10, 101, { dtype: 'float64' }));
    expect(long[0]).toBe(0);
    expect(long[100]).toBe(10);
    for (let i = 1; i < 101; i++) expect(long[i] - long[i - 1]).toBeCloseTo(0.1, 12);
  });

  it('eye and oneHot', () => {
    expect(eye(3).tolist()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const ix = tensor([0, 2, 1, 2], { dtype: 'int32' });
    const oh = oneHot(ix, 4);
    expect(oh.shape).toEqual([4, 4]);
    expect(oh.dtype).toBe('float32');
    expect(oh.tolist()).toEqual([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
    // Inferred number of classes: max + 1.
    expect(oneHot(ix).shape).toEqual([4, 3]);
    // Any index shape gains a trailing class dim; F.oneHot is the same function.
    const oh2 = F.oneHot(tensor([[1, 0], [0, 1]], { dtype: 'int32' }), 2);
    expect(oh2.shape).toEqual([2, 2, 2]);
    expect(oh2.tolist()).toEqual([[[0, 1], [1, 0]], [[1, 0], [0, 1]]]);
  });
});

describe('views share storage with their base, as in PyTorch', () => {
  const base = (): Tensor => arange(12).float().view(3, 4);

  it('view: same storage, new shape; writes go both ways', () => {
    const a = base();
    const v = a.view(2, 6);
    expect(v.data).toBe(a.data);
    expect(v.shape).toEqual([2, 6]);
    v.select(0, 1).fill_(-1);
    expect(a.tolist()).toEqual([[0, 1, 2, 3], [4, 5, -1, -1], [-1, -1, -1, -1]]);
    a.select(0, 0).fill_(7);
    expect(vals(v.select(0, 0))).toEqual([7, 7, 7, 7, 4, 5]);
    expect(a.view(-1).shape).toEqual([12]);
    expect(a.view([4, -1]).shape).toEqual([4, 3]);
  });

  it('transpose: a strided view; writing a row of the transpose writes a column of the base', () => {
    const a = base();
    const t = a.transpose(0, 1);
    expect(t.shape).toEqual([4, 3]);
    expect(t.strides).toEqual([1, 4]);
    expect(t.data).toBe(a.data);
    expect(t.isContiguous()).toBe(false);
    expect(t.tolist()).toEqual([[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
    t.select(0, 2).fill_(100);
    expect(vals(a.select(1, 2))).toEqual([100, 100, 100]);
    expect(a.T.tolist()).toEqual(t.tolist());
  });

  it('permute: reorders dims without copying', () => {
    const a = arange(24).float().view(2, 3, 4);
    const p = a.permute(2, 0, 1);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.data).toBe(a.data);
    // p[k, i, j] == a[i, j, k]
    for (const [i, j, k] of [[0, 0, 0], [1, 2, 3], [0, 1, 2], [1, 0, 3]]) {
      expect(p.select(0, k).select(0, i).select(0, j).item()).toBe(a.select(0, i).select(0, j).select(0, k).item());
    }
    p.select(0, 3).fill_(-5);
    expect(vals(a.select(2, 3))).toEqual([-5, -5, -5, -5, -5, -5]);
  });

  it('slice (with step, negative bounds) and narrow are views', () => {
    const a = base();
    const s = a.slice(1, 0, undefined, 2); // a[:, ::2]
    expect(s.shape).toEqual([3, 2]);
    expect(s.tolist()).toEqual([[0, 2], [4, 6], [8, 10]]);
    s.fill_(0);
    expect(a.tolist()).toEqual([[0, 1, 0, 3], [0, 5, 0, 7], [0, 9, 0, 11]]);
    expect(base().slice(0, -2).tolist()).toEqual([[4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(base().slice(1, 1, -1).tolist()).toEqual([[1, 2], [5, 6], [9, 10]]);
    expect(base().slice(0, 5, 9).shape).toEqual([0, 4]); // out-of-range bounds clamp, as Python slicing
    const n = a.narrow(0, 1, 2);
    expect(n.data).toBe(a.data);
    n.add_(1);
    expect(a.tolist()).toEqual([[0, 1, 0, 3], [1, 6, 1, 8], [1, 10, 1, 12]]);
  });

  it('select removes a dim and accepts negative indices', () => {
    const a = base();
    const r = a.select(0, -1);
    expect(r.shape).toEqual([4]);
    expect(vals(r)).toEqual([8, 9, 10, 11]);
    r.mul_(2);
    expect(vals(a.select(0, 2))).toEqual([16, 18, 20, 22]);
    const c = a.select(1, 1);
    expect(vals(c)).toEqual([1, 5, 18]);
  });

  it('expand: size-1 dims read the same element (stride 0); writes to the base show through', () => {
    const x = tensor([[1], [2]]);
    const e = x.expand(2, 3);
    expect(e.shape).toEqual([2, 3]);
    expect(e.strides[1]).toBe(0);
    expect(e.data).toBe(x.data);
    expect(e.tolist()).toEqual([[1, 1, 1], [2, 2, 2]]);
    x.mul_(10);
    expect(e.tolist()).toEqual([[10, 10, 10], [20, 20, 20]]);
    const lead = tensor([1, 2, 3]).expand(2, -1);
    expect(lead.tolist()).toEqual([[1, 2, 3], [1, 2, 3]]);
  });

  it('squeeze / unsqueeze share storage', () => {
    const a = zeros([1, 3, 1]);
    const s = a.squeeze();
    expect(s.shape).toEqual([3]);
    expect(a.squeeze(0).shape).toEqual([3, 1]);
    expect(a.squeeze(1).shape).toEqual([1, 3, 1]); // not size 1: unchanged, as PyTorch
    expect(s.data).toBe(a.data);
    const u = s.unsqueeze(-1);
    expect(u.shape).toEqual([3, 1]);
    expect(s.unsqueeze(0).shape).toEqual([1, 3]);
    u.select(0, 1).fill_(4);
    expect(vals(a)).toEqual([0, 4, 0]);
  });

  it('reshape returns a view when it can and copies when it must; view refuses then', () => {
    const a = base();
    const r = a.reshape(6, 2);
    expect(r.data).toBe(a.data);
    const t = a.transpose(0, 1);
    const flatT = t.reshape(-1);
    expect(flatT.data).not.toBe(a.data);
    expect(vals(flatT)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    flatT.fill_(0);
    expect(a.select(0, 0).select(0, 1).item()).toBe(1); // the copy is independent
    expect(() => t.view(12)).toThrow(/view.*reshape/);
    // A non-contiguous tensor can still be viewed when the dims it merges are contiguous together.
    const b = arange(24).float().view(2, 3, 4).permute(1, 0, 2); // [3, 2, 4], last dim contiguous
    const bv = b.view(3, 2, 2, 2);
    expect(bv.data).toBe(b.data);
    expect(bv.contiguous().view(-1).tolist()).toEqual(b.contiguous().view(-1).tolist());
  });

  it('flatten merges a range of dims', () => {
    const a = zeros([2, 3, 4, 5]);
    expect(a.flatten().shape).toEqual([120]);
    expect(a.flatten(1).shape).toEqual([2, 60]);
    expect(a.flatten(1, 2).shape).toEqual([2, 12, 5]);
  });
});

describe('copies and graph detachment', () => {
  it('contiguous() is the tensor itself when already contiguous, otherwise a row-major copy', () => {
    const a = arange(6).float().view(2, 3);
    expect(a.contiguous()).toBe(a);
    const t = a.transpose(0, 1);
    const c = t.contiguous();
    expect(c.isContiguous()).toBe(true);
    expect(c.data).not.toBe(a.data);
    expect(c.strides).toEqual([2, 1]);
    expect(c.tolist()).toEqual(t.tolist());
  });

  it('clone() copies storage and stays in the graph; detach() shares storage and leaves it', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const c = x.clone();
    expect(c.data).not.toBe(x.data);
    expect(c.requiresGrad).toBe(true);
    expect(c.gradFn).not.toBeNull();
    noGrad(() => c.fill_(0));
    expect(vals(x)).toEqual([1, 2, 3]);
    c.mul(tensor([1, 2, 3])).sum().backward();
    expect(vals(x.grad!)).toEqual([1, 2, 3]);

    const d = x.detach();
    expect(d.data).toBe(x.data);
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    d.fill_(9); // allowed: d does not require grad
    expect(vals(x)).toEqual([9, 9, 9]);
  });
});

describe('reading values', () => {
  it('item, tolist, shape, numel, size, ndim', () => {
    const t = arange(24).float().view(2, 3, 4);
    expect(t.numel()).toBe(24);
    expect(t.ndim).toBe(3);
    expect(t.dim()).toBe(3);
    expect(t.size()).toEqual([2, 3, 4]);
    expect(t.size(1)).toBe(3);
    expect(t.size(-1)).toBe(4);
    expect(tensor([[7.5]]).item()).toBe(7.5);
    expect(t.select(0, 1).select(0, 2).select(0, 3).item()).toBe(23);
    expect(tensor(3).tolist()).toBe(3);
    expect(t.transpose(0, 2).tolist()).toEqual(
      [0, 1, 2, 3].map((k) => [0, 1, 2].map((j) => [0, 1].map((i) => i * 12 + j * 4 + k))),
    );
    expect(tensor([[]]).tolist()).toEqual([[]]);
  });

  it('toArray() is a fresh copy in row-major order', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const arr = a.T.toArray();
    expect(Array.from(arr)).toEqual([1, 3, 2, 4]);
    arr[0] = 100;
    expect(a.select(0, 0).select(0, 0).item()).toBe(1);
  });
});

describe('dtype conversion', () => {
  it('float -> int truncates toward zero; int -> float is exact; same dtype returns the tensor', () => {
    const x = tensor([-1.7, -0.5, 0.5, 2.9]);
    const i = x.int();
    expect(i.dtype).toBe('int32');
    expect(vals(i)).toEqual([-1, 0, 0, 2]);
    expect(vals(tensor([3, -4], { dtype: 'int32' }).float())).toEqual([3, -4]);
    expect(x.to('float32')).toBe(x);
    const big = tensor([16777217], { dtype: 'int32' });
    expect(big.double().item()).toBe(16777217);
    expect(big.float().item()).toBe(16777216); // float32 rounding, as PyTorch
  });

  it('float32 <-> float64 round-trips and rounds like Math.fround', () => {
    const d = tensor([0.1, 1 / 3], { dtype: 'float64' });
    const s = d.float();
    expect(s.dtype).toBe('float32');
    expect(vals(s)).toEqual([f32(0.1), f32(1 / 3)]);
    expect(vals(s.double())).toEqual([f32(0.1), f32(1 / 3)]);
  });

  it('conversion is differentiable between float dtypes', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.double().mul(tensor([3, 4], { dtype: 'float64' })).sum();
    expect(y.dtype).toBe('float64');
    y.backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(vals(x.grad!)).toEqual([3, 4]);
  });
});

describe('integer tensors stay exact', () => {
  it('max/min/sum of int32 tensors do not round through float32', () => {
    const big = 2 ** 24 + 1; // not representable in float32
    expect(tensor([big, 3], { dtype: 'int32' }).max().item()).toBe(big);
    expect(tensor([-big, 3], { dtype: 'int32' }).min().item()).toBe(-big);
    expect(tensor([big, 2], { dtype: 'int32' }).sum().item()).toBe(big + 2);
    expect(full([big], 1, { dtype: 'int32' }).sum().item()).toBe(big);
  });

  it('neg and abs of an int32 tensor are int32, as in PyTorch', () => {
    const i = tensor([3, -4], { dtype: 'int32' });
    expect(i.neg().dtype).toBe('int32');
    expect(vals(i.neg())).toEqual([-3, 4]);
    expect(i.abs().dtype).toBe('int32');
    expect(vals(i.abs())).toEqual([3, 4]);
  });
});

describe('printing like PyTorch', () => {
  it('integral floats print with a trailing dot, rows aligned under "tensor("', () => {
    expect(tensor([[1, 2], [3, 4]]).toString()).toBe('tensor([[1., 2.],\n        [3., 4.]])');
    expect(tensor([1, -20, 300]).toString()).toBe('tensor([  1., -20., 300.])');
  });

  it('fractions print with 4 decimals, padded to a common width', () => {
    expect(tensor([0.5, -1.25]).toString()).toBe('tensor([ 0.5000, -1.2500])');
    expect(tensor(3.14159).toString()).toBe('tensor(3.1416)');
    expect(tensor([[0.1, 0.25], [1, -2]]).toString()).toBe('tensor([[ 0.1000,  0.2500],\n        [ 1.0000, -2.0000]])');
  });

  it('wide ranges switch to scientific notation (also for integral values, as PyTorch\'s int mode)', () => {
    expect(tensor([1e-5, 1]).toString()).toBe('tensor([1.0000e-05, 1.0000e+00])');
    // torch.tensor([1., 5000.]): max/min > 1000 -> tensor([1.0000e+00, 5.0000e+03])
    expect(tensor([1, 5000]).toString()).toBe('tensor([1.0000e+00, 5.0000e+03])');
  });

  it('nan and inf are printed but do not set the column width', () => {
    // torch.tensor([1., float('nan')]) -> tensor([1., nan])
    expect(tensor([1, NaN]).toString()).toBe('tensor([1., nan])');
    expect(tensor([Infinity, -1.5]).toString()).toBe('tensor([    inf, -1.5000])');
  });

  it('long rows wrap at 80 columns, continuation lines aligned under the first element', () => {
    expect(arange(30).float().toString()).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n' +
        '        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n' +
        '        28., 29.])',
    );
  });

  it('3-D tensors separate matrices by a blank line', () => {
    expect(arange(8).float().view(2, 2, 2).toString()).toBe(
      'tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])',
    );
  });

  it('more than 1000 elements are summarised with "..." (3 items at each edge)', () => {
    // PyTorch: torch.arange(1001.) -> tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])
    expect(arange(1001).float().toString()).toBe('tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])');
    // 1000 elements exactly are not summarised.
    expect(zeros([1000]).toString()).not.toContain('...');
    // Rows are summarised too: torch.zeros(1001, 2).
    expect(zeros([1001, 2]).toString()).toBe(
      'tensor([[0., 0.],\n        [0., 0.],\n        [0., 0.],\n        ...,\n        [0., 0.],\n        [0., 0.],\n        [0., 0.]])',
    );
  });

  it('requires_grad=True on leaves and grad_fn=<...> on results', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(x.toString()).toBe('tensor([1., 2.], requires_grad=True)');
    expect(x.mul(2).toString()).toMatch(/^tensor\(\[2\., 4\.\], grad_fn=<MulBackward0?>\)$/);
    expect(x.sum().toString()).toMatch(/^tensor\(3\., grad_fn=<SumBackward0?>\)$/);
    expect(noGrad(() => x.mul(2)).toString()).toBe('tensor([2., 4.])');
  });

  it('an empty 1-D tensor prints as tensor([]) (PyTorch names the size only when it is not (0,))', () => {
    expect(zeros([0]).toString()).toBe('tensor([])');
  });

  it('other empty tensors name their size', () => {
    expect(zeros([0, 3]).toString()).toBe('tensor([], size=(0, 3))');
    expect(zeros([2, 0]).toString()).toBe('tensor([], size=(2, 0))');
  });

  it('non-float dtypes are named', () => {
    expect(tensor([1, 2], { dtype: 'float64' }).toString()).toMatch(/^tensor\(\[1\., 2\.\], dtype=(torch\.)?float64\)$/);
    expect(tensor([1, 2], { dtype: 'int32' }).toString()).toMatch(/^tensor\(\[1, 2\], dtype=(torch\.)?int32\)$/);
  });

  it('prints strided views by their logical order', () => {
    expect(tensor([[1, 2], [3, 4]]).T.toString()).toBe('tensor([[1., 3.],\n        [2., 4.]])');
  });
});

describe('cat and stack', () => {
  it('cat along dim 0, dim 1 and a negative dim', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5, 6]]);
    expect(cat([a, b]).tolist()).toEqual([[1, 2], [3, 4], [5, 6]]);
    const c = tensor([[7], [8]]);
    expect(cat([a, c], 1).tolist()).toEqual([[1, 2, 7], [3, 4, 8]]);
    expect(cat([a, c], -1).tolist()).toEqual([[1, 2, 7], [3, 4, 8]]);
    // Strided inputs are read in logical order.
    expect(cat([a.T, a], 0).tolist()).toEqual([[1, 3], [2, 4], [1, 2], [3, 4]]);
    // The result is a new tensor.
    const out = cat([a, b]);
    out.fill_(0);
    expect(vals(a)).toEqual([1, 2, 3, 4]);
  });

  it('cat routes each input its slice of the gradient', () => {
    const a = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const b = tensor([[5], [6]], { requiresGrad: true });
    const w = tensor([[1, 2, 3], [4, 5, 6]]);
    cat([a, b], 1).mul(w).sum().backward();
    expect(a.grad!.tolist()).toEqual([[1, 2], [4, 5]]);
    expect(b.grad!.tolist()).toEqual([[3], [6]]);
  });

  it('stack adds a new dim at any position', () => {
    const a = tensor([1, 2, 3]);
    const b = tensor([4, 5, 6]);
    expect(stack([a, b]).tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(stack([a, b], 1).tolist()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(stack([a, b], -1).shape).toEqual([3, 2]);
  });
});

describe('comparisons give 0/1 masks', () => {
  it('eq/ne/lt/le/gt/ge against numbers and broadcast tensors', () => {
    const x = tensor([[-1, 0, 2], [3, 0, -4]]);
    expect(x.gt(0).tolist()).toEqual([[0, 0, 1], [1, 0, 0]]);
    expect(x.ge(0).tolist()).toEqual([[0, 1, 1], [1, 1, 0]]);
    expect(x.lt(0).tolist()).toEqual([[1, 0, 0], [0, 0, 1]]);
    expect(x.le(0).tolist()).toEqual([[1, 1, 0], [0, 1, 1]]);
    expect(x.eq(0).tolist()).toEqual([[0, 1, 0], [0, 1, 0]]);
    expect(x.ne(0).tolist()).toEqual([[1, 0, 1], [1, 0, 1]]);
    const row = tensor([0, 0, 2]);
    expect(x.eq(row).tolist()).toEqual([[0, 1, 1], [0, 1, 0]]);
    const col = tensor([[0], [3]]);
    expect(x.ge(col).tolist()).toEqual([[0, 1, 1], [1, 0, 0]]);
  });

  it('masks are float and average directly (the saturated-fraction idiom)', () => {
    const h = tensor([0.99, -0.98, 0.5, 0.1]);
    const m = h.abs().gt(0.97);
    expect(m.dtype).toBe('float32');
    expect(m.mean().item()).toBe(0.5);
    const iy = tensor([1, 2, 3], { dtype: 'int32' });
    expect(vals(iy.eq(tensor([1, 0, 3], { dtype: 'int32' })))).toEqual([1, 0, 1]);
    expect(vals(iy.gt(1.5))).toEqual([0, 1, 1]);
    expect(tensor([NaN, 1]).eq(tensor([NaN, 1])).tolist()).toEqual([0, 1]); // NaN != NaN
  });
});

describe('histogram', () => {
  it('matches a hand count with the default range, the last bin closed on the right', () => {
    const t = tensor([0, 0.5, 1, 1.5, 2, 2, 3.9, 4, 0.99]);
    const { hist, binEdges } = histogram(t, { bins: 4 });
    expect(Array.from(binEdges)).toEqual([0, 1, 2, 3, 4]);
    // [0,1): 0, 0.5, 0.99; [1,2): 1, 1.5; [2,3): 2, 2; [3,4]: 3.9, 4
    expect(Array.from(hist)).toEqual([3, 2, 2, 2]);
    // The method form is the same function.
    expect(Array.from(t.histogram({ bins: 4 }).hist)).toEqual([3, 2, 2, 2]);
  });

  it('an explicit range drops values outside it; density integrates to 1', () => {
    const t = tensor([-5, -1, -0.5, 0, 0.25, 0.75, 1, 9]);
    const { hist, binEdges } = histogram(t, { bins: 2, range: [-1, 1] });
    expect(Array.from(binEdges)).toEqual([-1, 0, 1]);
    // [-1,0): -1, -0.5; [0,1]: 0, 0.25, 0.75, 1 — the -5 and 9 are outside.
    expect(Array.from(hist)).toEqual([2, 4]);
    const dens = histogram(t, { bins: 2, range: [-1, 1], density: true });
    // Densities of a float32 input are float32 values, as torch.histogram's: 2/6 and 4/6 rounded.
    expect(Array.from(dens.hist).reduce((s, v) => s + v * 1, 0)).toBeCloseTo(1, 6);
    expect(dens.hist[1]).toBe(Math.fround(4 / 6));
  });

  it('reads strided views and counts every element of a larger random tensor exactly once', () => {
    const t = arange(20).float().view(4, 5).T; // non-contiguous
    const { hist } = histogram(t, { bins: 5 });
    expect(Array.from(hist)).toEqual([4, 4, 4, 4, 4]);
  });
});

describe('in-place ops', () => {
  it('add_/sub_/mul_/div_ with numbers, tensors (broadcast) and alpha; they return this', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.add_(1)).toBe(x);
    expect(x.tolist()).toEqual([[2, 3, 4], [5, 6, 7]]);
    x.sub_(tensor([1, 1, 1]));
    expect(x.tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
    x.mul_(tensor([[2], [10]]));
    expect(x.tolist()).toEqual([[2, 4, 6], [40, 50, 60]]);
    x.div_(2);
    expect(x.tolist()).toEqual([[1, 2, 3], [20, 25, 30]]);
    x.add_(ones([2, 3]), -3);
    expect(x.tolist()).toEqual([[-2, -1, 0], [17, 22, 27]]);
    x.sub_(tensor([[1, 1, 1], [1, 1, 1]]), 2);
    expect(x.tolist()).toEqual([[-4, -3, -2], [15, 20, 25]]);
  });

  it('in-place ops through views write the base', () => {
    const a = zeros([3, 3]);
    a.T.select(0, 1).add_(tensor([1, 2, 3])); // column 1
    expect(a.tolist()).toEqual([[0, 1, 0], [0, 2, 0], [0, 3, 0]]);
    a.slice(0, 0, 2).mul_(10);
    expect(a.tolist()).toEqual([[0, 10, 0], [0, 20, 0], [0, 3, 0]]);
    // Adding a tensor to itself (same storage) reads the old values.
    const b = tensor([1, 2, 3]);
    b.add_(b);
    expect(vals(b)).toEqual([2, 4, 6]);
    const c = tensor([1, 2, 3, 4]);
    c.slice(0, 1).add_(c.slice(0, 0, 3)); // overlapping views of one storage, as torch's c[1:] += c[:3] (clone semantics)
    expect(vals(c)).toEqual([1, 3, 5, 7]);
  });

  it('zero_, fill_ (also on a strided view) and copy_ (with broadcasting and dtype conversion)', () => {
    const a = tensor([[1, 2], [3, 4]]);
    a.T.select(0, 0).fill_(-1); // column 0
    expect(a.tolist()).toEqual([[-1, 2], [-1, 4]]);
    expect(a.zero_()).toBe(a);
    expect(vals(a)).toEqual([0, 0, 0, 0]);
    a.copy_(tensor([5, 6]));
    expect(a.tolist()).toEqual([[5, 6], [5, 6]]);
    a.copy_(tensor([[1, 2], [3, 4]], { dtype: 'float64' }).T);
    expect(a.tolist()).toEqual([[1, 3], [2, 4]]);
    const i = zeros([2], { dtype: 'int32' });
    i.copy_(tensor([2.7, -2.7]));
    expect(vals(i)).toEqual([2, -2]);
  });

  it('integer in-place ops stay integral and refuse float operands', () => {
    const i = tensor([1, 2, 3], { dtype: 'int32' });
    i.add_(2).mul_(3);
    expect(vals(i)).toEqual([9, 12, 15]);
    expect(() => i.add_(0.5)).toThrow(/add_/);
    expect(() => i.div_(2)).toThrow(/div_/);
  });

  it('a leaf that requires grad refuses in-place ops outside noGrad, with a clear message', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    expect(() => w.add_(1)).toThrow(/add_: a leaf tensor that requires grad is being used in an in-place operation/);
    expect(() => w.sub_(tensor([1, 1]))).toThrow(/sub_.*leaf.*requires grad/);
    expect(() => w.mul_(2)).toThrow(/mul_.*leaf.*requires grad/);
    expect(() => w.zero_()).toThrow(/zero_.*leaf.*requires grad/);
    expect(() => w.fill_(0)).toThrow(/fill_.*leaf.*requires grad/);
    expect(() => w.copy_(tensor([0, 0]))).toThrow(/copy_.*leaf.*requires grad/);
    expect(vals(w)).toEqual([1, 2]); // nothing was written
    // The same update is fine inside noGrad.
    noGrad(() => w.sub_(tensor([1, 1]), 0.5));
    expect(vals(w)).toEqual([0.5, 1.5]);
    expect(w.requiresGrad).toBe(true);
  });
});

describe('noGrad', () => {
  it('turns recording off, nests, and restores the previous mode', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      const y = x.mul(2);
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      noGrad(() => expect(isGradEnabled()).toBe(false));
      expect(isGradEnabled()).toBe(false); // the inner block restored "off", not "on"
      const z = enableGrad(() => x.mul(2));
      expect(z.requiresGrad).toBe(true);
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
    expect(x.mul(2).requiresGrad).toBe(true);
  });

  it('restores recording after the callback throws', () => {
    expect(() =>
      noGrad(() => {
        noGrad(() => {
          throw new Error('boom');
        });
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    const x = tensor([1], { requiresGrad: true });
    expect(x.exp().gradFn).not.toBeNull();
  });

  it('returns the callback value', () => {
    expect(noGrad(() => 42)).toBe(42);
  });
});

describe('autograd behaviours', () => {
  it('retainGrad keeps the gradient of an intermediate; without it only leaves get .grad', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    const z = x.add(1);
    y.retainGrad();
    const loss = y.square().add(z.square()).sum();
    loss.backward();
    expect(vals(y.grad!)).toEqual([4, 8, 12]); // d/dy Σy² = 2y
    expect(z.grad).toBeNull();
    expect(vals(x.grad!)).toEqual([2 * 4 + 2 * 2, 2 * 8 + 2 * 3, 2 * 12 + 2 * 4]); // 2·2y + 2(x+1)
    expect(y.retainsGrad).toBe(true);
    // retainGrad on a leaf is a no-op (leaves keep their grad anyway).
    expect(x.retainGrad()).toBe(x);
  });

  it('gradients accumulate over two backward calls until reset', () => {
    const w = tensor([1, -2], { requiresGrad: true });
    w.mul(3).sum().backward();
    expect(vals(w.grad!)).toEqual([3, 3]);
    w.mul(w).sum().backward();
    expect(vals(w.grad!)).toEqual([3 + 2, 3 - 4]);
    w.grad = null;
    w.sum().backward();
    expect(vals(w.grad!)).toEqual([1, 1]);
  });

  it('the grad of one leaf is not an alias of another tensor (accumulating into it leaves others alone)', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    a.add(b).sum().backward();
    expect(a.grad!.data).not.toBe(b.grad!.data);
    a.add(b.mul(0)).sum().backward();
    expect(vals(a.grad!)).toEqual([2, 2]);
    expect(vals(b.grad!)).toEqual([1, 1]);
  });

  it('backward with an explicit gradient (vector-Jacobian product)', () => {
    const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const y = x.mul(x); // dy/dx = 2x elementwise
    y.backward(tensor([[1, 0.5], [0, -1]]));
    expect(x.grad!.tolist()).toEqual([[2, 2], [0, -8]]);
  });

  it('a tensor used twice receives both contributions (also through views and broadcasting)', () => {
    const x = tensor([2, 3], { requiresGrad: true });
    x.mul(x).add(x).sum().backward(); // d/dx (x² + x) = 2x + 1
    expect(vals(x.grad!)).toEqual([5, 7]);

    const a = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const out = a.T.mul(a).sum().add(a.sum(0).mul(tensor([1, 10])).sum());
    out.backward();
    // d/da Σ a^T∘a = 2·a^T (the mirrored entries); plus column weights [1, 10].
    expect(a.grad!.tolist()).toEqual([[2 * 1 + 1, 2 * 3 + 10], [2 * 2 + 1, 2 * 4 + 10]]);

    const b = tensor([1, 2, 3], { requiresGrad: true });
    b.unsqueeze(0).expand(4, 3).sum().backward(); // 4 broadcast copies
    expect(vals(b.grad!)).toEqual([4, 4, 4]);
  });

  it('in-place ops on a non-leaf that is part of the graph are refused', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    expect(y.isLeaf).toBe(false);
    expect(y.gradFn).not.toBeNull();
    expect(() => y.add_(1)).toThrow(/add_.*in-place.*autograd graph/);
  });

  it('requiresGrad can be set on float leaves only, and only leaves can change it', () => {
    const x = tensor([1, 2]);
    x.requiresGrad = true;
    expect(x.requiresGrad).toBe(true);
    const y = x.mul(2);
    expect(() => {
      y.requiresGrad = false;
    }).toThrow(/requiresGrad.*leaf/);
    expect(x.requiresGrad_(false).requiresGrad).toBe(false);
  });

  it('a leaf\'s gradient has the leaf\'s dtype, also when it met float64 tensors', () => {
    // PyTorch casts each incoming gradient to its input's dtype.
    const a = ones([2], { requiresGrad: true });
    const b = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    a.mul(b).sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(b.grad!.dtype).toBe('float64');
    expect(vals(a.grad!)).toEqual([1, 2]);
    const c = ones([2], { requiresGrad: true });
    cat([c, zeros([1], { dtype: 'float64' })]).sum().backward();
    expect(c.grad!.dtype).toBe('float32');
    const d = ones([3], { requiresGrad: true });
    d.add(zeros([3], { dtype: 'float64' })).sum().backward();
    expect(d.grad!.dtype).toBe('float32');
  });

  it('gradient of an embedding lookup accumulates repeated rows', () => {
    const C = tensor([[1, 2], [3, 4], [5, 6]], { requiresGrad: true });
    const ix = tensor([[0, 2], [2, 2]], { dtype: 'int32' });
    C.index(ix).sum().backward();
    expect(C.grad!.tolist()).toEqual([[1, 1], [0, 0], [3, 3]]);
  });
});
