// Same seed, same bits: a few SGD steps of a small makemore-style MLP (embedding, matmul, batch
// norm, tanh, cross-entropy) on the native backend give bit-identical losses and parameters with
// 1, 2, 3 or 4 worker threads, and across two runs with the same seed. The batch of 1024 rows is
// there so that the threaded paths of the kernels run; the reductions must combine fixed-size
// chunks in index order for this to hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { F, Generator, Tensor, noGrad, randint, randn, ones, zeros, tensor } from '../index.js';
import { getBackend, withBackend } from '../src/backend/index.js';

const THREADS = [1, 2, 3, 4];
let savedThreads = 1;

beforeAll(() => {
  savedThreads = withBackend('native', () => getBackend().getNumThreads());
});
afterAll(() => {
  withBackend('native', () => getBackend().setNumThreads(savedThreads));
});

function setThreads(n: number): void {
  const be = getBackend();
  expect(be.name).toBe('native');
  be.setNumThreads(n);
  expect(be.getNumThreads()).toBe(n);
}

/** The float32 bit patterns of a tensor (so that -0 vs 0 and NaN payloads count too). */
const bits = (t: Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.contiguous().toArray()).buffer);

/** Bit-for-bit equality, reporting the first difference (deep-equal on millions of elements is slow). */
function expectBits(got: Uint32Array, want: Uint32Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      const f = (b: number): number => new Float32Array(new Uint32Array([b]).buffer)[0];
      throw new Error(`${what}: element ${i} differs: ${f(got[i])} vs ${f(want[i])} (bits ${got[i].toString(16)} vs ${want[i].toString(16)})`);
    }
  }
}
const f32bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];

interface Run {
  losses: number[]; // float32 bit patterns
  params: Uint32Array[];
  running: Uint32Array[];
}

/** makemore part 3's MLP with batch norm, trained for a few steps on seeded synthetic data. */
function train(seed: number, steps: number, batch = 1024): Run {
  const g = new Generator().manualSeed(seed);
  const vocab = 27;
  const block = 3;
  const emb = 10;
  const hidden = 200;
  const X = randint(0, vocab, [4096, block], { generator: g });
  const Y = randint(0, vocab, [4096], { generator: g });
  const C = randn([vocab, emb], { generator: g, requiresGrad: true });
  const W1 = randn([block * emb, hidden], { generator: g }).mul(5 / 3 / Math.sqrt(block * emb)).detach().requiresGrad_();
  const W2 = randn([hidden, vocab], { generator: g }).mul(0.01).detach().requiresGrad_();
  const b2 = zeros([vocab], { requiresGrad: true });
  const bngain = ones([1, hidden], { requiresGrad: true });
  const bnbias = zeros([1, hidden], { requiresGrad: true });
  const bnmean = zeros([1, hidden]);
  const bnvar = ones([1, hidden]);
  const params = [C, W1, W2, b2, bngain, bnbias];
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const ix = randint(0, X.shape[0], [batch], { generator: g });
    const Xb = X.index(ix);
    const Yb = Y.index(ix);
    const h = C.index(Xb).view(-1, block * emb).matmul(W1);
    const hbn = F.batchNorm(h, { weight: bngain, bias: bnbias, runningMean: bnmean, runningVar: bnvar, correction: 1, momentum: 0.001 });
    const logits = hbn.tanh().matmul(W2).add(b2);
    const loss = F.crossEntropy(logits, Yb);
    for (const p of params) p.grad = null;
    loss.backward();
    noGrad(() => {
      for (const p of params) p.sub_(p.grad!, 0.1);
    });
    losses.push(f32bits(loss.item()));
  }
  return { losses, params: params.map(bits), running: [bits(bnmean), bits(bnvar)] };
}

function expectSameBits(a: Run, b: Run, what: string): void {
  expect(a.losses, `${what}: losses`).toEqual(b.losses);
  a.params.forEach((p, i) => expectBits(p, b.params[i], `${what}: parameter ${i}`));
  a.running.forEach((r, i) => expectBits(r, b.running[i], `${what}: running statistic ${i}`));
}

describe('MLP training steps on the native backend', () => {
  it('give bit-identical losses and parameters with 1, 2, 3 and 4 threads', () => {
    withBackend('native', () => {
      const runs = THREADS.map((n) => {
        setThreads(n);
        return train(42, 4);
      });
      // The run did something: the loss moved and is finite.
      const loss0 = new Float32Array(new Uint32Array([runs[0].losses[0]]).buffer)[0];
      const loss3 = new Float32Array(new Uint32Array([runs[0].losses[3]]).buffer)[0];
      expect(Number.isFinite(loss0)).toBe(true);
      expect(loss3).not.toBe(loss0);
      for (let i = 1; i < runs.length; i++) expectSameBits(runs[i], runs[0], `${THREADS[i]} threads vs 1`);
    });
  });

  it('give bit-identical results across two runs with the same seed, and different ones with another seed', () => {
    withBackend('native', () => {
      setThreads(2);
      const a = train(2147483647, 3);
      const b = train(2147483647, 3);
      expectSameBits(a, b, 'second run');
      const c = train(2147483646, 3);
      expect(c.losses).not.toEqual(a.losses);
    });
  });

  it('agree with the reference backend to float32 accuracy (the threaded run computes the right thing)', () => {
    const nat = withBackend('native', () => {
      setThreads(2);
      return train(7, 2);
    });
    const ref = withBackend('reference', () => train(7, 2));
    const toF = (b: number): number => new Float32Array(new Uint32Array([b]).buffer)[0];
    nat.losses.forEach((l, i) => expect(Math.abs(toF(l) - toF(ref.losses[i]))).toBeLessThan(1e-4));
  });
});

describe('single ops with work large enough to be split across threads', () => {
  const g = new Generator().manualSeed(1234);
  const big = randn([1 << 21], { generator: g });
  const A = randn([512, 384], { generator: g });
  const B = randn([384, 640], { generator: g });
  const logits = randn([8192, 27], { generator: g }).mul(3);
  const targets = randint(0, 27, [8192], { generator: g });
  const H = randn([4096, 200], { generator: g }).add(2);
  const emb = randn([27, 64], { generator: g });
  const ids = randint(0, 27, [16384], { generator: g });
  const x = randn([64, 32, 256], { generator: g });
  const w = randn([64, 32, 3], { generator: g });

  const ops: [string, () => Tensor[]][] = [
    ['sum of 2^21 elements', () => [big.sum(), big.view(2048, 1024).sum(0), big.view(2048, 1024).sum(1)]],
    ['mean and var', () => [big.mean(), big.view(1024, 2048).var(0)]],
    ['matmul [512, 384] @ [384, 640] and its transposes', () => [A.matmul(B), B.T.matmul(A.T), A.T.matmul(A)]],
    ['softmax / logSoftmax [8192, 27]', () => [logits.softmax(-1), logits.logSoftmax(-1)]],
    ['crossEntropy [8192, 27] and its gradient', () => {
      const l = logits.detach().requiresGrad_();
      const loss = F.crossEntropy(l, targets);
      loss.backward();
      return [loss, l.grad!];
    }],
    ['batchNorm [4096, 200] and its gradients', () => {
      const h = H.detach().requiresGrad_();
      const gain = ones([200], { requiresGrad: true });
      const out = F.batchNorm(h, { weight: gain, correction: 1 });
      out.backward(tensor(Float32Array.from({ length: out.numel() }, (_, i) => Math.sin(i)), { shape: [4096, 200] }));
      return [out, h.grad!, gain.grad!];
    }],
    ['embedding gather and scatter-add of 16384 rows', () => {
      const e = emb.detach().requiresGrad_();
      const out = e.index(ids);
      out.sum().backward();
      return [out, e.grad!];
    }],
    ['conv1d [64, 32, 256] * [64, 32, 3] and its gradients', () => {
      const xx = x.detach().requiresGrad_();
      const ww = w.detach().requiresGrad_();
      const out = F.conv1d(xx, ww, null, { padding: 'causal', dilation: 2 });
      out.sum().backward();
      return [out, xx.grad!, ww.grad!];
    }],
  ];

  for (const [name, fn] of ops) {
    it(`${name}: same bits with 1, 2, 3 and 4 threads`, () => {
      withBackend('native', () => {
        const results = THREADS.map((n) => {
          setThreads(n);
          return fn().map(bits);
        });
        for (let i = 1; i < results.length; i++) {
          results[i].forEach((r, j) => expectBits(r, results[0][j], `${name}: output ${j}, ${THREADS[i]} threads vs 1`));
        }
      });
    });
  }
});
