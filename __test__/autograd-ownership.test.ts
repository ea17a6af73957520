// The engine hands a gradient buffer to a leaf without copying it, and adds later contributions
// into it in place, only when no one else can see that buffer. These cases would go wrong if the
// ownership rule were too generous: the checks are on shared storage, not on timing.
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, randn, tensor } from '../index.js';

const g = new Generator().manualSeed(3);
const sharesStorage = (a: Tensor, b: Tensor): boolean =>
  a.data.buffer === b.data.buffer &&
  a.data.byteOffset < b.data.byteOffset + b.data.byteLength &&
  b.data.byteOffset < a.data.byteOffset + a.data.byteLength;

describe('gradient ownership in backward', () => {
  it('two inputs of one add get separate gradients, even when the incoming one was freshly allocated', () => {
    const p = randn([4, 5], { generator: g, requiresGrad: true });
    const q = randn([4, 5], { generator: g, requiresGrad: true });
    p.add(q).tanh().sum().backward(); // TanhBackward allocates; AddBackward passes it to both
    expect(sharesStorage(p.grad!, q.grad!)).toBe(false);
    const qBefore = Array.from(q.grad!.data);
    p.grad!.add_(1);
    expect(Array.from(q.grad!.data)).toEqual(qBefore);
  });

  it('a leaf used twice accumulates both contributions (in place into an owned buffer)', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).add(x.mul(3)).sum().backward(); // d/dx (x² + 3x) = 2x + 3
    expect(Array.from(x.grad!.data)).toEqual([5, 7, 9]);
  });

  it('a retained gradient is not aliased by the gradients computed from it (2-D matmul)', () => {
    const a = randn([3, 4], { generator: g, requiresGrad: true });
    const w = randn([4, 2], { generator: g, requiresGrad: true });
    const h = a.matmul(w);
    h.retainGrad();
    h.tanh().sum().backward();
    for (const t of [a.grad!, w.grad!]) expect(sharesStorage(t, h.grad!)).toBe(false);
    expect(sharesStorage(a.grad!, w.grad!)).toBe(false);
    const hBefore = Array.from(h.grad!.data);
    a.grad!.zero_();
    w.grad!.zero_();
    expect(Array.from(h.grad!.data)).toEqual(hBefore);
  });

  it('the gradient given to backward() is never taken as a leaf\'s .grad', () => {
    const x = randn([2, 3], { generator: g, requiresGrad: true });
    const seed = randn([6], { generator: g });
    x.view(6).backward(seed);
    expect(sharesStorage(x.grad!, seed)).toBe(false);
    const before = Array.from(x.grad!.data);
    seed.mul_(0);
    expect(Array.from(x.grad!.data)).toEqual(before);
  });

  it('a second backward adds into the existing .grad, which stays the same tensor', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    x.tanh().sum().backward();
    const first = x.grad!;
    const once = Array.from(first.data);
    x.tanh().sum().backward();
    expect(x.grad).toBe(first);
    Array.from(first.data).forEach((v, i) => expect(v).toBe(Math.fround(once[i] + once[i])));
  });

  it('a broadcast input gets a summed gradient of its own shape (the sum is owned, not a view of the batch gradient)', () => {
    const x = randn([5, 3], { generator: g, requiresGrad: true });
    const b = randn([3], { generator: g, requiresGrad: true });
    const y = x.add(b);
    y.retainGrad();
    y.tanh().sum().backward();
    expect(b.grad!.shape).toEqual([3]);
    expect(sharesStorage(b.grad!, y.grad!)).toBe(false);
    expect(sharesStorage(x.grad!, y.grad!)).toBe(false);
    const want = [0, 1, 2].map((j) => [0, 1, 2, 3, 4].reduce((s, i) => s + y.grad!.data[i * 3 + j], 0));
    Array.from(b.grad!.data).forEach((v, j) => expect(v).toBeCloseTo(want[j], 5));
  });
});
