// Lecture numbers through the public tensor API (reference/lectures.md §4 and §10): makemore part 1's
// seeded draws and its five-example "emma" neural bigram model, written the way the lecture writes it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { F, Generator, Tensor, arange, noGrad, rand, randn, tensor } from '../index.js';
import { withBackend, type BackendName } from '../src/backend/index.js';

const SEED = 2147483647;
const CHARS = '.abcdefghijklmnopqrstuvwxyz';
const stoi = (c: string): number => CHARS.indexOf(c);

/** The bigram pairs of one word with '.' as start and end token: ".emma." → xs, ys. */
function bigrams(word: string): { xs: Tensor; ys: Tensor } {
  const chs = ['.', ...word, '.'];
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i + 1 < chs.length; i++) {
    xs.push(stoi(chs[i]));
    ys.push(stoi(chs[i + 1]));
  }
  return { xs: tensor(xs, { dtype: 'int32' }), ys: tensor(ys, { dtype: 'int32' }) };
}

/** The lecture's forward pass: one-hot @ W, exp, normalise rows, mean NLL of the targets. */
function forward(W: Tensor, xs: Tensor, ys: Tensor): { probs: Tensor; logits: Tensor; loss: Tensor } {
  const xenc = F.oneHot(xs, 27).float();
  const logits = xenc.matmul(W);
  const counts = logits.exp();
  const probs = counts.div(counts.sum(1, true));
  const n = xs.shape[0];
  const loss = probs.index([arange(n), ys]).log().mean().neg();
  return { probs, logits, loss };
}

const BACKENDS: BackendName[] = ['native', 'reference'];

describe('§10 generator recipe through the tensor API', () => {
  it('rand([3]) with seed 2147483647 gives 0.70812887, 0.35423911, 0.10543233', () => {
    const g = new Generator().manualSeed(SEED);
    const r = rand([3], { generator: g });
    expect(r.dtype).toBe('float32');
    expect(r.shape).toEqual([3]);
    const v = Array.from(r.toArray());
    expect(v[0]).toBeCloseTo(0.70812887, 7);
    expect(v[1]).toBeCloseTo(0.35423911, 7);
    expect(v[2]).toBeCloseTo(0.10543233, 7);
    // Normalised as the lecture prints it: [0.6064, 0.3033, 0.0903].
    const p = r.div(r.sum());
    expect(Array.from(p.toArray()).map((x) => Number(x.toFixed(4)))).toEqual([0.6064, 0.3033, 0.0903]);
  });
});

describe('§4 makemore part 1: the neural bigram model on "emma"', () => {
  const { xs, ys } = bigrams('emma');

  it('builds the lecture\'s xs/ys and a float32 one-hot of shape [5, 27]', () => {
    expect(Array.from(xs.toArray())).toEqual([0, 5, 13, 13, 1]);
    expect(Array.from(ys.toArray())).toEqual([5, 13, 13, 1, 0]);
    const xenc = F.oneHot(xs, 27).float();
    expect(xenc.shape).toEqual([5, 27]);
    expect(xenc.dtype).toBe('float32');
    expect(xenc.sum().item()).toBe(5);
  });

  for (const be of BACKENDS) {
    describe(`on the ${be} backend`, () => {
      it('the seeded W gives the printed per-example probabilities and the 3.7693049907684326 average NLL', () => {
        withBackend(be, () => {
          const g = new Generator().manualSeed(SEED);
          const W = randn([27, 27], { generator: g, requiresGrad: true });
          const { probs, loss } = forward(W, xs, ys);
          // The five printed probabilities of the correct next character.
          const picked = Array.from(probs.index([arange(5), ys]).toArray());
          const printed = [0.012286253273487091, 0.018050702288746834, 0.026691533625125885, 0.07367684692144394, 0.0149775305762887];
          picked.forEach((p, i) => expect(Math.abs(p - printed[i]) / printed[i]).toBeLessThan(2e-6));
          expect(Math.log(picked[0])).toBeCloseTo(-4.3992743492126465, 5);
          expect(Math.abs(loss.item() - 3.7693049907684326)).toBeLessThan(1e-6);
        });
      });

      it('four SGD steps with lr 0.1 (W.grad = null; backward; W.data += -0.1 * W.grad) reach 3.6891887187957764', () => {
        withBackend(be, () => {
          const g = new Generator().manualSeed(SEED);
          const W = randn([27, 27], { generator: g, requiresGrad: true });
          const losses: number[] = [];
          // The lecture's 5-example loop has no regularisation term (that comes with the full dataset).
          for (let k = 0; k < 5; k++) {
            const { loss } = forward(W, xs, ys);
            losses.push(loss.item());
            W.grad = null;
            loss.backward();
            noGrad(() => W.add_(W.grad!, -0.1));
          }
          expect(Math.abs(losses[0] - 3.7693049907684326)).toBeLessThan(1e-6);
          // Gradient descent on five examples must decrease the loss at every step.
          for (let k = 1; k < losses.length; k++) expect(losses[k]).toBeLessThan(losses[k - 1]);
          expect(Math.abs(losses[4] - 3.6891887187957764)).toBeLessThan(1e-6);
        });
      });

      it('F.crossEntropy on the same logits equals the composed loss, value and gradient', () => {
        withBackend(be, () => {
          const g = new Generator().manualSeed(SEED);
          const W = randn([27, 27], { generator: g, requiresGrad: true });
          const composed = forward(W, xs, ys).loss;
          composed.backward();
          const gComposed = W.grad!.toArray();
          W.grad = null;
          const fused = F.crossEntropy(F.oneHot(xs, 27).matmul(W), ys);
          fused.backward();
          const gFused = W.grad!.toArray();
          expect(Math.abs(fused.item() - composed.item())).toBeLessThan(1e-6);
          expect(Math.abs(fused.item() - 3.7693049907684326)).toBeLessThan(1e-6);
          let worst = 0;
          for (let i = 0; i < gFused.length; i++) worst = Math.max(worst, Math.abs(gFused[i] - gComposed[i]));
          expect(worst).toBeLessThan(1e-6);
          // Only the rows of W that "emma" looks up (0, 5, 13, 1) receive a gradient.
          const gT = W.grad!;
          for (let r = 0; r < 27; r++) {
            const rowAbs = gT.select(0, r).abs().sum().item();
            if ([0, 1, 5, 13].includes(r)) expect(rowAbs).toBeGreaterThan(0);
            else expect(rowAbs).toBe(0);
          }
        });
      });
    });
  }

  it('float64 reproduces the same loss from the same float32 draws', () => {
    const g = new Generator().manualSeed(SEED);
    const W = randn([27, 27], { generator: g }).double().requiresGrad_();
    const xenc = F.oneHot(xs, 27, { dtype: 'float64' });
    const loss = F.crossEntropy(xenc.matmul(W), ys);
    expect(loss.dtype).toBe('float64');
    expect(Math.abs(loss.item() - 3.7693049907684326)).toBeLessThan(1e-6);
  });
});

describe('§4 makemore part 1: gradient descent on the whole dataset (lr 50, 0.01·mean(W²) regularisation)', () => {
  // Every bigram of every word in names.txt, '.' as start and end token.
  const words = readFileSync(new URL('../data/names.txt', import.meta.url), 'utf8').split('\n').filter((w) => w.length > 0);
  const xsArr: number[] = [];
  const ysArr: number[] = [];
  for (const w of words) {
    const chs = ['.', ...w, '.'];
    for (let i = 0; i + 1 < chs.length; i++) {
      xsArr.push(stoi(chs[i]));
      ysArr.push(stoi(chs[i + 1]));
    }
  }

  it('has the lecture\'s 228146 examples', () => {
    expect(xsArr.length).toBe(228146);
  });

  for (const be of BACKENDS) {
    // The reference backend's loops are slow on 228146 rows: it checks the first step only.
    const steps = be === 'native' ? 3 : 1;
    const expected = [3.76862, 3.37881, 3.16109].slice(0, steps);
    it(`on the ${be} backend the first losses are ${expected.join(', ')} (nll 3.75895 at step 0)`, () => {
      withBackend(be, () => {
        const xs = tensor(xsArr, { dtype: 'int32' });
        const ys = tensor(ysArr, { dtype: 'int32' });
        const num = xs.shape[0];
        const g = new Generator().manualSeed(SEED);
        const W = randn([27, 27], { generator: g, requiresGrad: true });
        const losses: number[] = [];
        let nll0 = NaN;
        for (let k = 0; k < steps; k++) {
          const xenc = F.oneHot(xs, 27).float();
          const logits = xenc.matmul(W);
          const counts = logits.exp();
          const probs = counts.div(counts.sum(1, true));
          const nll = probs.index([arange(num), ys]).log().mean().neg();
          const loss = nll.add(W.pow(2).mean().mul(0.01));
          if (k === 0) nll0 = nll.item();
          losses.push(loss.item());
          if (k === steps - 1) break;
          W.grad = null;
          loss.backward();
          noGrad(() => W.add_(W.grad!, -50));
        }
        // The reference values are given to 5 decimals (a float64 simulation of the lecture's loop).
        expect(Math.abs(nll0 - 3.75895)).toBeLessThan(2e-5);
        expect(losses.length).toBe(expected.length);
        losses.forEach((l, k) => expect(Math.abs(l - expected[k]), `step ${k}: ${l}`).toBeLessThan(2e-5));
      });
    });
  }
});
