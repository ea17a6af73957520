// The engine hands a gradient buffer to a leaf without copying it, and adds later contributions
// into it in place, only when no one else can see that buffer. These cases would go wrong if the
// ownership rule were too generous: the checks are on shared storage, not on timing.
import { describe, expect, it } from 'vitest';
import { F, Generator, Tensor, compile, enableGrad, noGrad, ones, randint, randn, tensor, zeros } from '../index.js';
import { _pooledBuffers } from '../src/tensor/dtype.js';

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

  it('a backward function that runs backward() itself is refused clearly, and the engine works afterwards', () => {
    const x = randn([3], { generator: g, requiresGrad: true });
    const y = x.mul(2);
    const z = new Tensor(new Float32Array(3), [3])._setGradFn({
      name: 'ReentrantBackward',
      inputs: [y],
      backward: (grad) => {
        enableGrad(() => x.sum().backward()); // backward functions run without grad mode
        return [grad];
      },
    });
    expect(() => z.sum().backward()).toThrow(/^backward: called from inside another backward pass/);
    x.grad = null;
    x.mul(3).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([3, 3, 3]);
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

// Consumed gradients whose buffer no one else holds are recycled (src/tensor/dtype.ts): the next
// allocation of the same length gets the buffer. These checks fail if a buffer that is still
// visible somewhere (a leaf's .grad, a retained gradient, an activation, a view passed on) were
// handed out again: everything visible is snapshotted, then buffers of every length involved are
// allocated and overwritten, and the snapshots must still hold.
describe('recycled gradient buffers', () => {
  const snapshot = (ts: Tensor[]) => ts.map((t) => Array.from(t.contiguous().data));
  /** Allocate and scribble over `count` fresh tensors of each shape (taking every pooled buffer). */
  const scribble = (shapes: number[][], count = 8) => {
    const keep: Tensor[] = [];
    for (const s of shapes) for (let i = 0; i < count; i++) keep.push(noGrad(() => zeros(s).add(1e6 + i)));
    return keep;
  };

  it('a consumed intermediate gradient serves the next allocation of its length', () => {
    const x = randn([64, 50], { generator: g, requiresGrad: true });
    const before = _pooledBuffers(64 * 50);
    x.mul(2).tanh().sum().backward(); // TanhBackward's fresh dx is consumed by MulBackward
    expect(_pooledBuffers(64 * 50)).toBe(before + 1);
    const z = zeros([64, 50]);
    expect(_pooledBuffers(64 * 50)).toBe(before);
    expect(Array.from(z.data).every((v) => v === 0)).toBe(true); // zeros() of a recycled buffer is zeroed
  });

  it('nothing visible after backward is recycled: leaf grads, retained grads, activations, views', () => {
    const x = randn([32, 30], { generator: g, requiresGrad: true });
    const w = randn([30, 40], { generator: g, requiresGrad: true });
    const b = randn([40], { generator: g, requiresGrad: true });
    const h = x.matmul(w).add(b); // add passes its incoming gradient to both inputs
    h.retainGrad();
    const t = h.tanh();
    const v = t.view(32 * 40).view(32, 40); // views pass the gradient through
    const u = v.mul(v).add(t); // t used twice: contributions accumulate in place
    const loss = u.sum();
    loss.backward();
    const visible = [x.grad!, w.grad!, b.grad!, h.grad!, h, t, v, u];
    const snap = snapshot(visible);
    const junk = scribble([[32, 30], [30, 40], [40], [32, 40]]);
    expect(snapshot(visible)).toEqual(snap);
    expect(junk.length).toBeGreaterThan(0);
  });

  it('a gradient handed to a leaf as a view of the incoming buffer is not recycled', () => {
    const x = randn([20, 30], { generator: g, requiresGrad: true });
    // ReshapeBackward returns a view of TanhBackward's fresh buffer: it becomes x.grad as is.
    x.tanh().reshape([600]).tanh().sum().backward();
    const snap = snapshot([x.grad!]);
    scribble([[20, 30], [600]]);
    expect(snapshot([x.grad!])).toEqual(snap);
  });

  it('the gradient given to backward() and gradients of two backward passes stay apart', () => {
    const x = randn([16, 25], { generator: g, requiresGrad: true });
    const seed = randn([16, 25], { generator: g });
    const seedCopy = Array.from(seed.data);
    x.tanh().mul(3).backward(seed);
    const first = snapshot([x.grad!]);
    const y = randn([16, 25], { generator: g, requiresGrad: true });
    y.tanh().mul(3).tanh().sum().backward();
    scribble([[16, 25]]);
    expect(Array.from(seed.data)).toEqual(seedCopy);
    expect(snapshot([x.grad!])).toEqual(first);
  });

  it('a training loop gives the same losses with recycling as a loop whose gradients all stay alive', () => {
    const run = (holdGrads: boolean) => {
      const gen = new Generator().manualSeed(7);
      const X = randn([200, 10], { generator: gen });
      const Y = randint(0, 5, [200], { generator: gen });
      const W1 = randn([10, 64], { generator: gen, requiresGrad: true });
      const W2 = randn([64, 5], { generator: gen, requiresGrad: true });
      const b2 = zeros([5], { requiresGrad: true });
      const gam = ones([64], { requiresGrad: true });
      const bet = zeros([64], { requiresGrad: true });
      const held: Tensor[] = [];
      const losses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const ix = randint(0, 200, [48], { generator: gen });
        const hpre = X.index(ix).matmul(W1);
        if (holdGrads) hpre.retainGrad(); // a clone each step: more live buffers, same arithmetic
        const hid = F.batchNorm(hpre, { weight: gam, bias: bet }).tanh();
        if (holdGrads) hid.retainGrad();
        const loss = F.crossEntropy(hid.matmul(W2).add(b2), Y.index(ix));
        for (const p of [W1, W2, b2, gam, bet]) p.grad = null;
        loss.backward();
        if (holdGrads) held.push(hpre.grad!, hid.grad!);
        noGrad(() => {
          for (const p of [W1, W2, b2, gam, bet]) p.sub_(p.grad!, 0.1);
        });
        losses.push(loss.item());
      }
      return losses;
    };
    expect(run(false)).toEqual(run(true));
  });

  it('is off while compile() records a step (its planner tells step buffers by creation)', () => {
    const w = randn([40, 30], { generator: g, requiresGrad: true });
    const x = randn([24, 40], { generator: g });
    const step = compile(() => {
      w.grad = null;
      const loss = x.matmul(w).tanh().mul(2).sum();
      loss.backward();
      noGrad(() => w.sub_(w.grad!, 0.01));
      return loss;
    });
    const eager: number[] = [];
    const wCopy = w.detach().clone().requiresGrad_();
    for (let i = 0; i < 5; i++) {
      wCopy.grad = null;
      const loss = x.matmul(wCopy).tanh().mul(2).sum();
      loss.backward();
      noGrad(() => wCopy.sub_(wCopy.grad!, 0.01));
      eager.push(loss.item());
    }
    const compiled: number[] = [];
    for (let i = 0; i < 5; i++) compiled.push(step().item());
    expect(compiled).toEqual(eager);
  });
});
