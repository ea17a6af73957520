// Products with a transposed right operand (dX = dY·Wᵀ in every backward pass) on the native
// backend: the kernel handles Wᵀ without copying it where it can (tiles of the transposed product
// for a small batch, B in panels for a wide one), and each way must give the bits of the same
// product on a contiguous copy of Wᵀ, with 1 and 2 threads, and agree with the float64
// reference backend. Shapes: the WaveNet's backward products at batch 32, the part 3 MLP's,
// and edges around the path rules (16-row vectors, 64-column panels).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, randn, type Tensor } from '../index.js';
import { getBackend, withBackend } from '../src/backend/index.js';
import { nativeAvailable } from '../src/backend/native.js';

const SHAPES: [number, number, number][] = [
  [32, 128, 256], [64, 128, 256], [32, 27, 128], [128, 128, 48], // WaveNet dX3, dX2, dH3, dX1
  [32, 27, 200], [32, 200, 30], // part 3 MLP dH, dX
  [16, 7, 9], [17, 33, 129], [48, 1, 65], [80, 31, 250], [3, 100, 300], [1, 5, 130],
];

let savedThreads = 1;
beforeAll(() => {
  expect(nativeAvailable(), 'native/ferrograd.node does not load: run `npm run build:native`').toBe(true);
  savedThreads = withBackend('native', () => getBackend().getNumThreads());
});
afterAll(() => {
  withBackend('native', () => getBackend().setNumThreads(savedThreads));
});

const bits = (t: Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.contiguous().toArray()).buffer);

function firstDifference(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('matmul with a transposed right operand (native)', () => {
  for (const [m, k, n] of SHAPES) {
    it(`${m}x${k} @ (${n}x${k})ᵀ: the bits of the contiguous product on 1 and 2 threads, and the reference's values`, () => {
      const g = new Generator().manualSeed(m * 1000 + k * 10 + n);
      const a = randn([m, k], { generator: g });
      const w = randn([n, k], { generator: g }); // stored n×k, used as its transpose
      const at = randn([k, m], { generator: g }); // A stored transposed too: at.T is m×k
      withBackend('native', () => {
        for (const lhs of [a, at.T]) {
          const plain = lhs.contiguous().matmul(w.T.contiguous());
          for (const threads of [1, 2]) {
            getBackend().setNumThreads(threads);
            const viaView = lhs.matmul(w.T);
            expect(viaView.shape).toEqual([m, n]);
            expect(firstDifference(bits(viaView), bits(plain)), `first differing element, ${threads} thread(s)`).toBe(-1);
          }
        }
      });
      const got = Float64Array.from(withBackend('native', () => a.matmul(w.T)).toArray());
      const want = Float64Array.from(withBackend('reference', () => a.double().matmul(w.double().T)).toArray());
      expect(got.length).toBe(m * n);
      const tol = 4e-6 * Math.sqrt(k);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
      expect(worst).toBeLessThan(tol);
    });
  }
});
