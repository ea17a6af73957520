// Unit tests of the float64 reference kernels against small cases worked out by hand, identities
// (softmax rows sum to 1, batch-norm output is standardised) and finite differences for the
// backward kernels. The reference backend is the yardstick for the native one, so it has to be
// right on its own terms first.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { BinaryOp, ReduceOp, UnaryOp, type FloatArray } from '../src/backend/backend.js';
import { referenceBackend as R } from '../src/backend/reference.js';

const f64 = (xs: number[]) => Float64Array.from(xs);
const i32 = (xs: number[]) => Int32Array.from(xs);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      expect(a, `element ${i}`).toBeNaN();
    } else if (!Number.isFinite(e)) {
      expect(a, `element ${i}`).toBe(e);
    } else if (Math.abs(a - e) > tol * (1 + Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tolerance ${tol})`);
    }
  }
}

/** Central finite difference of a scalar function of one array element (float64). */
function numericGrad(f: () => number, arr: Float64Array, i: number, h = 1e-6): number {
  const saved = arr[i];
  arr[i] = saved + h;
  const up = f();
  arr[i] = saved - h;
  const down = f();
  arr[i] = saved;
  return (up - down) / (2 * h);
}

/** Small deterministic pseudo-random values in [-1, 1). */
function pseudoRandom(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

describe('reference matmul', () => {
  // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]:
  // row 0: 1·7+2·9+3·11 = 58, 1·8+2·10+3·12 = 64; row 1: 4·7+5·9+6·11 = 139, 4·8+5·10+6·12 = 154.
  const A = f64([1, 2, 3, 4, 5, 6]);
  const B = f64([7, 8, 9, 10, 11, 12]);
  const AB = [58, 64, 139, 154];

  it('multiplies a 2x3 by a 3x2 matrix', () => {
    const out = new Float64Array(4);
    R.matmul(A, 0, 0, false, B, 0, 0, false, out, 1, 2, 3, 2);
    expectClose(out, AB, 0);
  });

  it('reads transposed storage for transA and transB', () => {
    const At = f64([1, 4, 2, 5, 3, 6]); // A stored 3x2
    const Bt = f64([7, 9, 11, 8, 10, 12]); // B stored 2x3
    for (const [a, ta, b, tb] of [[At, true, B, false], [A, false, Bt, true], [At, true, Bt, true]] as const) {
      const out = new Float64Array(4);
      R.matmul(a, 0, 0, ta, b, 0, 0, tb, out, 1, 2, 3, 2);
      expectClose(out, AB, 0);
    }
  });

  it('overwrites an output full of NaN and Infinity', () => {
    const dirty = f64([NaN, NaN, Infinity, -Infinity]);
    R.matmul(A, 0, 0, false, B, 0, 0, false, dirty, 1, 2, 3, 2);
    expectClose(dirty, AB, 0);
  });

  it('walks batches with offsets and broadcasts a 0 batch stride', () => {
    // a holds a junk element, then two 1x2 matrices; b is one 2x1 matrix shared by both.
    const a = f64([99, 1, 2, 3, 4]);
    const b = f64([10, 100]);
    const out = new Float64Array(2);
    R.matmul(a, 1, 2, false, b, 0, 0, false, out, 2, 1, 2, 1);
    expectClose(out, [210, 430], 0);
  });

  it('gives zeros for k = 0 and nothing for empty m or n', () => {
    const out = f64([5, 5, 5, 5]);
    R.matmul(new Float64Array(0), 0, 0, false, new Float64Array(0), 0, 0, false, out, 1, 2, 0, 2);
    expectClose(out, [0, 0, 0, 0], 0);
    R.matmul(A, 0, 0, false, new Float64Array(0), 0, 0, false, new Float64Array(0), 1, 2, 3, 0);
  });

  it('rejects operands too short for their shapes', () => {
    const out = new Float64Array(4);
    expect(() => R.matmul(A, 1, 0, false, B, 0, 0, false, out, 1, 2, 3, 2)).toThrow(
      'matmul: a has 6 elements but one 2x3 matrix from offset 1 need 7',
    );
    expect(() => R.matmul(A, 0, 0, false, B, 0, 3, true, new Float64Array(8), 2, 2, 3, 2)).toThrow(
      'matmul: b has 6 elements but 2 2x3 matrices 3 apart from offset 0 need 9',
    );
    expect(() => R.matmul(A, 0, 0, false, B, 0, 0, false, new Float64Array(5), 1, 2, 3, 2)).toThrow(
      'matmul: out has 5 elements but batch·m·n = 1·2·2 needs 4',
    );
  });
});

describe('reference elementwise kernels', () => {
  it('computes each unary op', () => {
    const x = f64([-2, -0.5, 0, 0.5, 3]);
    const cases: [UnaryOp, (v: number) => number][] = [
      [UnaryOp.Neg, (v) => -v],
      [UnaryOp.Exp, Math.exp],
      [UnaryOp.Tanh, Math.tanh],
      [UnaryOp.Relu, (v) => (v > 0 ? v : 0)],
      [UnaryOp.Abs, Math.abs],
      [UnaryOp.Sigmoid, (v) => Math.exp(v) / (Math.exp(v) + 1)],
      [UnaryOp.Square, (v) => v * v],
      [UnaryOp.Sign, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0)],
    ];
    for (const [op, f] of cases) {
      const out = new Float64Array(x.length);
      R.unary(op, x, out);
      expectClose(out, Array.from(x, f), 1e-15);
    }
    const pos = f64([0.25, 1, 4]);
    const out = new Float64Array(3);
    R.unary(UnaryOp.Sqrt, pos, out);
    expectClose(out, [0.5, 1, 2], 0);
    R.unary(UnaryOp.Log, f64([1, Math.E, 1 / Math.E]), out);
    expectClose(out, [0, 1, -1], 1e-15);
  });

  it('keeps NaN visible through relu and sign, as torch does for relu; zeros follow torch', () => {
    const out = new Float64Array(2);
    R.unary(UnaryOp.Relu, f64([NaN, -0]), out);
    expect(out[0]).toBeNaN();
    // torch.relu(-0.) is -0. (clamp_min keeps it: signbit True in PyTorch 2.15).
    expect(Object.is(out[1], -0)).toBe(true);
    R.unary(UnaryOp.Sign, f64([NaN, 0]), out);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBe(0);
    // sign(-0) is +0, as torch.sign gives (signbit False).
    R.unary(UnaryOp.Sign, f64([-0, -1]), out);
    expect(Object.is(out[0], 0)).toBe(true);
  });

  it('rounds on store into a Float32Array', () => {
    const x = f64([0.1, 1.7, -3.3]);
    const out = new Float32Array(3);
    R.unary(UnaryOp.Exp, x, out);
    expect(Array.from(out)).toEqual(Array.from(x, (v) => Math.fround(Math.exp(v))));
  });

  it('unaryBackward matches finite differences of unary for every differentiable op', () => {
    const x = f64([-1.3, -0.4, 0.3, 0.8, 2.1]);
    const dy = f64([0.7, -1.1, 0.4, 2.0, -0.3]);
    const ops = [UnaryOp.Neg, UnaryOp.Exp, UnaryOp.Log, UnaryOp.Tanh, UnaryOp.Relu, UnaryOp.Sqrt,
      UnaryOp.Abs, UnaryOp.Sigmoid, UnaryOp.Square, UnaryOp.Sign];
    for (const op of ops) {
      // Log and Sqrt are only differentiable for x > 0.
      const xs = op === UnaryOp.Log || op === UnaryOp.Sqrt ? x.map(Math.abs) : x.slice();
      const y = new Float64Array(xs.length);
      R.unary(op, xs, y);
      const dx = new Float64Array(xs.length);
      R.unaryBackward(op, xs, y, dy, dx);
      const loss = () => {
        const o = new Float64Array(xs.length);
        R.unary(op, xs, o);
        return dot(o, dy);
      };
      for (let i = 0; i < xs.length; i++) {
        const num = numericGrad(loss, xs, i);
        expect(Math.abs(dx[i] - num), `${UnaryOp[op]} at x = ${xs[i]}: ${dx[i]} vs ${num}`).toBeLessThan(1e-6);
      }
    }
  });

  it('broadcasts binary ops through 0 strides and offsets', () => {
    // a: a 2x3 view starting at offset 1; b: a row vector [10, 20, 30] broadcast down the rows.
    const a = f64([-1, 1, 2, 3, 4, 5, 6]);
    const row = f64([10, 20, 30]);
    const out = new Float64Array(6);
    R.binary(BinaryOp.Add, a, 1, [3, 1], row, 0, [0, 1], out, [2, 3]);
    expectClose(out, [11, 22, 33, 14, 25, 36], 0);
    // A column [2, 3] broadcast across columns, read from offset 2 of a longer array.
    const col = f64([0, 0, 2, 3]);
    R.binary(BinaryOp.Mul, a, 1, [3, 1], col, 2, [1, 0], out, [2, 3]);
    expectClose(out, [2, 4, 6, 12, 15, 18], 0);
    // The transpose of a (strides [1, 3]) minus a scalar broadcast by all-zero strides.
    const out2 = new Float64Array(6);
    R.binary(BinaryOp.Sub, a, 1, [1, 3], f64([1]), 0, [0, 0], out2, [3, 2]);
    expectClose(out2, [0, 3, 1, 4, 2, 5], 0);
  });

  it('computes each binary op, comparisons as 1/0, and C pow corners', () => {
    const a = f64([2, -3, 4, 1, 5]);
    const b = f64([3, 2, 4, NaN, -1]);
    const expected: [BinaryOp, number[]][] = [
      [BinaryOp.Add, [5, -1, 8, NaN, 4]],
      [BinaryOp.Sub, [-1, -5, 0, NaN, 6]],
      [BinaryOp.Mul, [6, -6, 16, NaN, -5]],
      [BinaryOp.Div, [2 / 3, -1.5, 1, NaN, -5]],
      [BinaryOp.Pow, [8, 9, 256, 1, 0.2]], // pow(1, NaN) = 1, as in C and torch
      [BinaryOp.Max, [3, 2, 4, NaN, 5]],
      [BinaryOp.Min, [2, -3, 4, NaN, -1]],
      [BinaryOp.Eq, [0, 0, 1, 0, 0]],
      [BinaryOp.Ne, [1, 1, 0, 1, 1]],
      [BinaryOp.Lt, [1, 1, 0, 0, 0]],
      [BinaryOp.Le, [1, 1, 1, 0, 0]],
      [BinaryOp.Gt, [0, 0, 0, 0, 1]],
      [BinaryOp.Ge, [0, 0, 1, 0, 1]],
    ];
    for (const [op, want] of expected) {
      const out = new Float64Array(5);
      R.binary(op, a, 0, [1], b, 0, [1], out, [5]);
      expectClose(out, want, 1e-15);
    }
  });

  it('binaryScalar honours reversed', () => {
    const out = new Float64Array(3);
    R.binaryScalar(BinaryOp.Sub, f64([1, 2, 3]), 10, false, out);
    expectClose(out, [-9, -8, -7], 0);
    R.binaryScalar(BinaryOp.Sub, f64([1, 2, 3]), 10, true, out);
    expectClose(out, [9, 8, 7], 0);
    R.binaryScalar(BinaryOp.Pow, f64([1, 2, 3]), 2, true, out);
    expectClose(out, [2, 4, 8], 0);
  });

  it('binaryInplace updates only the strided view of a', () => {
    // a is 3x3; update its first column (offset 0, stride 3) with b broadcast from one value.
    const a = f64([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    R.binaryInplace(BinaryOp.Add, a, 0, [3], f64([100]), 0, [0], [3]);
    expectClose(a, [101, 2, 3, 104, 5, 6, 107, 8, 9], 0);
    R.binaryInplace(BinaryOp.Mul, a, 4, [3, 1], f64([2, 3]), 0, [0, 1], [2, 2]);
    expectClose(a, [101, 2, 3, 104, 10, 18, 107, 16, 27], 0);
  });

  it('scalarInplace and axpy', () => {
    const a = f64([1, 2, 3]);
    R.scalarInplace(BinaryOp.Div, a, 4);
    expectClose(a, [0.25, 0.5, 0.75], 0);
    const y = f64([1, 1, 1]);
    R.axpy(-2, f64([1, 2, 3]), y);
    expectClose(y, [-1, -3, -5], 0);
  });

  it('copy gathers a transposed, offset view and writes a strided destination', () => {
    const src = f64([0, 1, 2, 3, 4, 5, 6]); // [[1,2,3],[4,5,6]] at offset 1
    const dst = new Float64Array(6);
    R.copy(src, 1, [1, 3], dst, 0, [2, 1], [3, 2]);
    expectClose(dst, [1, 4, 2, 5, 3, 6], 0);
    // A strided destination: every other slot.
    const dst2 = new Float64Array(6);
    R.copy(src, 4, [1], dst2, 0, [2], [3]);
    expectClose(dst2, [4, 0, 5, 0, 6, 0], 0);
    // Int32 storage copies as integers; a rank-0 shape copies exactly one element.
    const di = new Int32Array(1);
    R.copy(i32([7, 8]), 1, [], di, 0, [], []);
    expect(di[0]).toBe(8);
  });

  it('rejects mismatched lengths and out-of-bounds views by name', () => {
    expect(() => R.unary(UnaryOp.Exp, f64([1, 2]), new Float64Array(3))).toThrow(
      'unary: x has 2 elements but out has 3; they must match',
    );
    expect(() => R.binary(BinaryOp.Add, f64([1, 2]), 0, [1], f64([1]), 0, [1], new Float64Array(2), [2])).toThrow(
      'binary: b view (offset 0, strides [1], shape [2]) reaches element 1 but b has 1 elements',
    );
    expect(() => R.binary(BinaryOp.Add, f64([1, 2]), 0, [1, 1], f64([1]), 0, [0], new Float64Array(2), [2])).toThrow(
      'binary: a strides [1,1] have rank 2 but shape [2] has rank 1',
    );
    expect(() => R.copy(f64([1]), 0, [1], new Float64Array(1), 0, [1], [-1])).toThrow(
      'copy: shape[0] must be a non-negative integer, got -1',
    );
    expect(() => R.unary(42 as UnaryOp, f64([1]), new Float64Array(1))).toThrow('unary: unknown unary op 42');
    expect(() => R.copy(f64([1, 2, 3]), 2, [-1], new Float64Array(3), 0, [1], [3])).toThrow(
      'copy: src strides [-1] must be non-negative integers (stride 0 is -1)',
    );
  });

  it('refuses outputs that share memory with another argument, as the native kernels do', () => {
    const buf = new Float64Array(8);
    expect(() => R.unary(UnaryOp.Exp, buf, buf)).toThrow('unary: out and x share memory; the output must be a distinct array');
    // Overlapping views of one buffer are caught, disjoint views of it are fine.
    expect(() => R.axpy(1, buf.subarray(0, 4), buf.subarray(3, 7))).toThrow('axpy: y and x share memory');
    R.axpy(1, buf.subarray(0, 4), buf.subarray(4, 8));
    expect(() => R.binaryInplace(BinaryOp.Add, buf, 0, [1], buf, 0, [0], [8])).toThrow('binaryInplace: a and b share memory');
    expect(() => R.reduceArg(ReduceOp.Max, f64([1, 2]), 1, 2, 1, buf.subarray(0, 1), new Int32Array(buf.buffer, 0, 1)))
      .toThrow('reduceArg: out and outIdx share memory');
    const probs = new Float64Array(6);
    expect(() => R.crossEntropyBackward(probs, 2, 3, i32([0, 1]), -100, 1, probs)).toThrow('crossEntropyBackward: dx and probs share memory');
  });
});

describe('reference reductions', () => {
  // x viewed as [outer=2, n=3, inner=2]:
  // o=0: rows [1,2],[3,4],[5,6]; o=1: rows [-1,7],[0,7],[-2,-7]
  const x = f64([1, 2, 3, 4, 5, 6, -1, 7, 0, 7, -2, -7]);

  it('sums, maxes and mins over the middle axis', () => {
    const out = new Float64Array(4);
    const idx = new Int32Array(4);
    R.sum(x, 2, 3, 2, out);
    expectClose(out, [9, 12, -3, 7], 0);
    R.reduceArg(ReduceOp.Max, x, 2, 3, 2, out, idx);
    expectClose(out, [5, 6, 0, 7], 0);
    R.reduceArg(ReduceOp.Min, x, 2, 3, 2, out, idx);
    expectClose(out, [1, 2, -2, -7], 0);
  });

  it('reduceArg reports the first index on ties', () => {
    const out = new Float64Array(4);
    const idx = new Int32Array(4);
    R.reduceArg(ReduceOp.Max, x, 2, 3, 2, out, idx);
    expectClose(out, [5, 6, 0, 7], 0);
    expect(Array.from(idx)).toEqual([2, 2, 1, 0]); // 7 appears at i = 0 and 1: first wins
    const flat = f64([3, 1, 3, 1]);
    const o1 = new Float64Array(1);
    const i1 = new Int32Array(1);
    R.reduceArg(ReduceOp.Min, flat, 1, 4, 1, o1, i1);
    expect([o1[0], i1[0]]).toEqual([1, 1]);
    R.reduceArg(ReduceOp.Max, flat, 1, 4, 1, o1, i1);
    expect([o1[0], i1[0]]).toEqual([3, 0]);
  });

  it('treats NaN as the extreme and points at the first one, as torch.argmax does', () => {
    const o = new Float64Array(1);
    const i = new Int32Array(1);
    R.reduceArg(ReduceOp.Max, f64([1, NaN, 5, NaN]), 1, 4, 1, o, i);
    expect(o[0]).toBeNaN();
    expect(i[0]).toBe(1);
    R.reduceArg(ReduceOp.Min, f64([1, NaN, -5]), 1, 3, 1, o, i);
    expect(o[0]).toBeNaN();
    expect(i[0]).toBe(1);
  });

  it('sums an empty axis to 0 and refuses Max/Min over one', () => {
    const out = f64([9, 9]);
    R.sum(new Float64Array(0), 2, 0, 1, out);
    expectClose(out, [0, 0], 0);
    expect(() => R.reduceArg(ReduceOp.Max, new Float64Array(0), 2, 0, 1, out, new Int32Array(2))).toThrow(
      'reduceArg: Max over an empty axis (n = 0) has no identity',
    );
    expect(() => R.sum(x, 2, 3, 3, out)).toThrow(
      'sum: x has 12 elements but [outer, n, inner] = [2, 3, 3] needs 18',
    );
  });
});

describe('reference gather and scatter', () => {
  const table = f64([0, 0.5, 10, 10.5, 20, 20.5]); // 3 rows of 2

  it('indexSelect gathers rows, repeats included', () => {
    const out = new Float64Array(8);
    R.indexSelect(table, 2, i32([2, 0, 2, 1]), out);
    expectClose(out, [20, 20.5, 0, 0.5, 20, 20.5, 10, 10.5], 0);
  });

  it('indexAdd scatters rows and sums repeated indices', () => {
    const dst = f64([1, 1, 1, 1, 1, 1]);
    R.indexAdd(f64([1, 2, 3, 4, 5, 6]), 2, i32([2, 0, 2]), dst);
    expectClose(dst, [4, 5, 1, 1, 7, 9], 0);
  });

  it('putAdd scatters into flat indices', () => {
    const dst = new Float64Array(3);
    R.putAdd(f64([1, 2, 4]), i32([2, 2, 0]), dst);
    expectClose(dst, [4, 0, 3], 0);
  });

  it('names the index that is out of range', () => {
    const emb = new Float64Array(27 * 2);
    expect(() => R.indexSelect(emb, 2, i32([3, 27]), new Float64Array(4))).toThrow(
      'indexSelect: index 27 (at position 1) is out of range for 27 rows',
    );
    expect(() => R.indexAdd(f64([1, 2]), 2, i32([-1]), emb)).toThrow(
      'indexAdd: index -1 (at position 0) is out of range for 27 rows',
    );
    expect(() => R.putAdd(f64([1]), i32([3]), new Float64Array(3))).toThrow(
      'putAdd: index 3 (at position 0) is out of range for 3 elements',
    );
    expect(() => R.indexSelect(f64([1, 2, 3]), 2, i32([0]), new Float64Array(2))).toThrow(
      'indexSelect: src has 3 elements, which is not a whole number of rows of 2',
    );
  });
});

describe('reference softmax and cross-entropy', () => {
  it('softmax of [0, ln 2, ln 3] is [1, 2, 3] / 6 and log-softmax subtracts ln 6', () => {
    const x = f64([0, Math.log(2), Math.log(3)]);
    const p = new Float64Array(3);
    R.softmax(x, 1, 3, false, p);
    expectClose(p, [1 / 6, 2 / 6, 3 / 6], 1e-15);
    const lp = new Float64Array(3);
    R.softmax(x, 1, 3, true, lp);
    expectClose(lp, Array.from(x, (v) => v - Math.log(6)), 1e-15);
  });

  it('rows sum to 1, and huge logits do not overflow (max shift)', () => {
    const x = f64([1000, 1001, 1002, -5, 0, 5, 3, 3, 3]);
    const p = new Float64Array(9);
    R.softmax(x, 3, 3, false, p);
    for (let r = 0; r < 3; r++) expect(p[3 * r] + p[3 * r + 1] + p[3 * r + 2]).toBeCloseTo(1, 14);
    expectClose(p.subarray(6), [1 / 3, 1 / 3, 1 / 3], 1e-15);
    expect(p[2] / p[1]).toBeCloseTo(Math.E, 12);
  });

  it('softmaxBackward matches finite differences, plain and log', () => {
    const rows = 2;
    const cols = 4;
    const x = pseudoRandom(rows * cols, 11);
    const dy = pseudoRandom(rows * cols, 12);
    for (const log of [false, true]) {
      const y = new Float64Array(rows * cols);
      R.softmax(x, rows, cols, log, y);
      const dx = new Float64Array(rows * cols);
      R.softmaxBackward(y, dy, rows, cols, log, dx);
      const loss = () => {
        const o = new Float64Array(rows * cols);
        R.softmax(x, rows, cols, log, o);
        return dot(o, dy);
      };
      for (let i = 0; i < x.length; i++) expect(Math.abs(dx[i] - numericGrad(loss, x, i))).toBeLessThan(1e-8);
    }
  });

  it('softmaxBackward of y = [0.5, 0.5], dy = [1, 0] is [0.25, -0.25]', () => {
    const dx = new Float64Array(2);
    R.softmaxBackward(f64([0.5, 0.5]), f64([1, 0]), 1, 2, false, dx);
    expectClose(dx, [0.25, -0.25], 0);
  });

  it('crossEntropy is Σ -log softmax at the target, skipping ignoreIndex rows', () => {
    const rows = 3;
    const cols = 5;
    const logits = pseudoRandom(rows * cols, 3).map((v) => 4 * v);
    const targets = i32([4, -100, 0]);
    const probs = new Float64Array(rows * cols);
    const loss = R.crossEntropyForward(logits, rows, cols, targets, -100, probs);
    const logp = new Float64Array(rows * cols);
    R.softmax(logits, rows, cols, true, logp);
    expect(loss).toBeCloseTo(-logp[0 * cols + 4] - logp[2 * cols + 0], 13);
    // probs holds the softmax of every row, ignored rows included.
    const p = new Float64Array(rows * cols);
    R.softmax(logits, rows, cols, false, p);
    expectClose(probs, p, 1e-15);
  });

  it('crossEntropy of uniform logits over 27 classes is ln 27 per row', () => {
    const probs = new Float64Array(2 * 27);
    const loss = R.crossEntropyForward(new Float64Array(2 * 27), 2, 27, i32([0, 26]), -100, probs);
    expect(loss).toBeCloseTo(2 * Math.log(27), 13);
  });

  it('crossEntropyBackward is scale · (probs - onehot) and 0 on ignored rows', () => {
    const probs = f64([0.2, 0.3, 0.5, 0.1, 0.1, 0.8]);
    const dx = f64([9, 9, 9, 9, 9, 9]);
    R.crossEntropyBackward(probs, 2, 3, i32([1, 7]), 7, 0.5, dx);
    expectClose(dx, [0.1, -0.35, 0.25, 0, 0, 0], 1e-15);
  });

  it('crossEntropyBackward matches finite differences of the mean loss', () => {
    const rows = 3;
    const cols = 4;
    const logits = pseudoRandom(rows * cols, 5);
    const targets = i32([1, 3, 0]);
    const probs = new Float64Array(rows * cols);
    R.crossEntropyForward(logits, rows, cols, targets, -100, probs);
    const dx = new Float64Array(rows * cols);
    R.crossEntropyBackward(probs, rows, cols, targets, -100, 1 / rows, dx);
    const loss = () => R.crossEntropyForward(logits, rows, cols, targets, -100, new Float64Array(rows * cols)) / rows;
    for (let i = 0; i < logits.length; i++) expect(Math.abs(dx[i] - numericGrad(loss, logits, i))).toBeLessThan(1e-9);
  });

  it('rejects targets outside [0, cols) that are not ignoreIndex', () => {
    const probs = new Float64Array(6);
    expect(() => R.crossEntropyForward(new Float64Array(6), 2, 3, i32([0, 3]), -100, probs)).toThrow(
      'crossEntropyForward: target 3 (at row 1) is out of range for 3 classes',
    );
    expect(() => R.crossEntropyBackward(probs, 2, 3, i32([-1, 0]), -100, 1, new Float64Array(6))).toThrow(
      'crossEntropyBackward: target -1 (at row 0) is out of range for 3 classes',
    );
  });
});

describe('reference batch norm', () => {
  const n = 6;
  const c = 3;
  const x = pseudoRandom(n * c, 21).map((v, i) => 3 * v + (i % c)); // columns with different means

  function columnStats(a: FloatArray, correction: number): { mean: number[]; variance: number[] } {
    const mean: number[] = [];
    const variance: number[] = [];
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += a[i * c + j];
      const m = s / n;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (a[i * c + j] - m) ** 2;
      mean.push(m);
      variance.push(ss / (n - correction));
    }
    return { mean, variance };
  }

  it('a column [1, 3] has mean 2, biased var 1, unbiased var 2', () => {
    for (const [correction, v] of [[0, 1], [1, 2]]) {
      const out = new Float64Array(2);
      const mean = new Float64Array(1);
      const variance = new Float64Array(1);
      const invstd = new Float64Array(1);
      // eps must be > 0 when training (as torch); 1e-300 vanishes next to the variance.
      R.batchNormForward(f64([1, 3]), 2, 1, null, null, 1e-300, correction, true, out, mean, variance, invstd);
      expect([mean[0], variance[0], invstd[0]]).toEqual([2, v, 1 / Math.sqrt(v)]);
      expectClose(out, [-1 / Math.sqrt(v), 1 / Math.sqrt(v)], 1e-15);
    }
  });

  it('training output has mean 0 and variance 1 per column (same correction)', () => {
    for (const correction of [0, 1]) {
      const out = new Float64Array(n * c);
      const mean = new Float64Array(c);
      const variance = new Float64Array(c);
      const invstd = new Float64Array(c);
      R.batchNormForward(x, n, c, null, null, 1e-300, correction, true, out, mean, variance, invstd);
      const stats = columnStats(out, correction);
      expectClose(stats.mean, [0, 0, 0], 1e-14);
      expectClose(stats.variance, [1, 1, 1], 1e-14);
      const xs = columnStats(x, correction);
      expectClose(mean, xs.mean, 1e-14);
      expectClose(variance, xs.variance, 1e-14);
      expectClose(invstd, xs.variance.map((v) => 1 / Math.sqrt(v)), 1e-14);
    }
  });

  it('applies gamma and beta, and eval mode uses and keeps the running statistics', () => {
    const gamma = f64([2, 0.5, -1]);
    const beta = f64([1, 0, 3]);
    const out = new Float64Array(n * c);
    const mean = f64([0.5, -1, 2]);
    const variance = f64([4, 0.25, 1]);
    const invstd = new Float64Array(c);
    R.batchNormForward(x, n, c, gamma, beta, 0.01, 1, false, out, mean, variance, invstd);
    expectClose(mean, [0.5, -1, 2], 0);
    expectClose(variance, [4, 0.25, 1], 0);
    expectClose(invstd, [4, 0.25, 1].map((v) => 1 / Math.sqrt(v + 0.01)), 1e-15);
    const expected = Array.from(x, (v, i) => {
      const j = i % c;
      return gamma[j] * (v - mean[j]) * invstd[j] + beta[j];
    });
    expectClose(out, expected, 1e-14);
  });

  it('batchNormBackward matches finite differences of the training forward', () => {
    const gamma = f64([1.5, -0.7, 0.3]);
    const beta = f64([0.1, 0.2, 0.3]);
    const dy = pseudoRandom(n * c, 22);
    for (const correction of [0, 1]) {
      const eps = 1e-5;
      const forward = () => {
        const out = new Float64Array(n * c);
        R.batchNormForward(x, n, c, gamma, beta, eps, correction, true, out,
          new Float64Array(c), new Float64Array(c), new Float64Array(c));
        return dot(out, dy);
      };
      const out = new Float64Array(n * c);
      const mean = new Float64Array(c);
      const invstd = new Float64Array(c);
      R.batchNormForward(x, n, c, gamma, beta, eps, correction, true, out, mean, new Float64Array(c), invstd);
      const dx = new Float64Array(n * c);
      const dgamma = new Float64Array(c);
      const dbeta = new Float64Array(c);
      R.batchNormBackward(x, dy, n, c, mean, invstd, gamma, correction, dx, dgamma, dbeta);
      for (let i = 0; i < x.length; i++) {
        expect(Math.abs(dx[i] - numericGrad(forward, x, i)), `dx[${i}], correction ${correction}`).toBeLessThan(1e-7);
      }
      for (let j = 0; j < c; j++) {
        expect(Math.abs(dgamma[j] - numericGrad(forward, gamma, j))).toBeLessThan(1e-7);
        expect(Math.abs(dbeta[j] - numericGrad(forward, beta, j))).toBeLessThan(1e-7);
      }
      // Only the requested gradients are written.
      const onlyBeta = new Float64Array(c);
      R.batchNormBackward(x, dy, n, c, mean, invstd, gamma, correction, null, null, onlyBeta);
      expectClose(onlyBeta, dbeta, 0);
    }
  });

  it('refuses a training batch too small for the variance', () => {
    const one = () => new Float64Array(1);
    expect(() => R.batchNormForward(f64([1]), 1, 1, null, null, 1e-5, 1, true, one(), one(), one(), one())).toThrow(
      'batchNormForward: the batch variance needs more than 1 rows per channel (correction 1), got n = 1',
    );
    expect(() => R.batchNormForward(f64([1, 2]), 2, 1, f64([1, 1]), null, 1e-5, 0, true, new Float64Array(2), one(), one(), one())).toThrow(
      'batchNormForward: gamma has 2 elements but c = 1 channels needs 1',
    );
    expect(() => R.batchNormForward(f64([1, 2]), 2, 1, null, null, -1, 0, true, new Float64Array(2), one(), one(), one())).toThrow(
      'batchNormForward: eps must be a finite number > 0 when training, got -1',
    );
    // As torch.nn.functional.batch_norm: eps = 0 is refused when training, allowed in eval mode.
    expect(() => R.batchNormForward(f64([1, 2]), 2, 1, null, null, 0, 0, true, new Float64Array(2), one(), one(), one())).toThrow(
      'batchNormForward: eps must be a finite number > 0 when training, got 0',
    );
    expect(() => R.batchNormForward(f64([1, 2]), 2, 1, null, null, -1e-5, 0, false, new Float64Array(2), one(), f64([1]), one())).toThrow(
      'batchNormForward: eps must be a finite number >= 0, got -0.00001',
    );
    expect(() => R.batchNormForward(f64([1, 2]), 2, 1, null, null, 1e-5, 0.5, true, new Float64Array(2), one(), one(), one())).toThrow(
      'batchNormForward: correction must be a non-negative integer, got 0.5',
    );
  });
});

describe('reference conv1d', () => {
  // x = [1, 2, 3, 4], w = [1, 10]: causal (padLeft 1) out[t] = 1·x[t-1] + 10·x[t].
  const x = f64([1, 2, 3, 4]);
  const w = f64([1, 10]);

  it('computes a causal convolution by hand, with bias', () => {
    const out = new Float64Array(4);
    R.conv1dForward(x, 1, 1, 4, w, 1, 2, 1, 1, f64([0.5]), out, 4);
    expectClose(out, [10.5, 21.5, 32.5, 43.5], 0);
  });

  it('dilation 2 reaches two steps back; no padding shortens the output', () => {
    const out = new Float64Array(4);
    R.conv1dForward(x, 1, 1, 4, w, 1, 2, 2, 2, null, out, 4);
    expectClose(out, [10, 20, 31, 42], 0); // x[t-2] + 10·x[t]
    const valid = new Float64Array(3);
    R.conv1dForward(x, 1, 1, 4, w, 1, 2, 1, 0, null, valid, 3);
    expectClose(valid, [21, 32, 43], 0);
  });

  it('sums over input channels and separates output channels and batches', () => {
    // batch 2, cin 2, tin 2, cout 2, k 1: a per-time-step matrix product.
    const xb = f64([1, 2, 3, 4, /* batch 1 */ 5, 6, 7, 8]);
    const wb = f64([1, 1, /* o=1 */ 2, -1]);
    const out = new Float64Array(8);
    R.conv1dForward(xb, 2, 2, 2, wb, 2, 1, 1, 0, null, out, 2);
    // b=0: o0 = x0+x1 = [4, 6], o1 = 2x0-x1 = [-1, 0]; b=1: [12, 14], [3, 4]
    expectClose(out, [4, 6, -1, 0, 12, 14, 3, 4], 0);
  });

  it('backward of the causal example by hand: dy = 1 gives dx = [11, 11, 11, 10], dw = [6, 10]', () => {
    const dx = new Float64Array(4);
    const dw = new Float64Array(2);
    R.conv1dBackward(x, 1, 1, 4, w, 1, 2, 1, 1, f64([1, 1, 1, 1]), 4, dx, dw);
    expectClose(dx, [11, 11, 11, 10], 0);
    expectClose(dw, [6, 10], 0);
  });

  it('backward matches finite differences with several channels and dilation', () => {
    const batch = 2;
    const cin = 3;
    const tin = 7;
    const cout = 2;
    const k = 3;
    const dilation = 2;
    const padLeft = 3;
    const tout = tin + padLeft - dilation * (k - 1);
    const xs = pseudoRandom(batch * cin * tin, 31);
    const ws = pseudoRandom(cout * cin * k, 32);
    const dy = pseudoRandom(batch * cout * tout, 33);
    const loss = () => {
      const out = new Float64Array(batch * cout * tout);
      R.conv1dForward(xs, batch, cin, tin, ws, cout, k, dilation, padLeft, null, out, tout);
      return dot(out, dy);
    };
    const dx = new Float64Array(xs.length);
    const dw = new Float64Array(ws.length);
    R.conv1dBackward(xs, batch, cin, tin, ws, cout, k, dilation, padLeft, dy, tout, dx, dw);
    for (let i = 0; i < xs.length; i++) expect(Math.abs(dx[i] - numericGrad(loss, xs, i))).toBeLessThan(1e-8);
    for (let i = 0; i < ws.length; i++) expect(Math.abs(dw[i] - numericGrad(loss, ws, i))).toBeLessThan(1e-8);
  });

  it('rejects a tout that does not follow from the other sizes', () => {
    expect(() => R.conv1dForward(x, 1, 1, 4, w, 1, 2, 1, 1, null, new Float64Array(5), 5)).toThrow(
      'conv1dForward: tout 5 does not match tin + padLeft - dilation·(k-1) = 4 + 1 - 1·1 = 4',
    );
    expect(() => R.conv1dForward(x, 1, 1, 4, w, 1, 2, 0, 1, null, new Float64Array(4), 4)).toThrow(
      'conv1dForward: dilation must be a positive integer, got 0',
    );
  });
});

describe('reference threads', () => {
  it('accepts a thread count but always runs on one', () => {
    R.setNumThreads(8);
    expect(R.getNumThreads()).toBe(1);
    expect(() => R.setNumThreads(0)).toThrow('setNumThreads: expected a positive integer number of threads, got 0');
  });
});

// Backend selection (src/backend/index.ts). The native module is replaced by a stub so that these
// tests cover both "addon loads" and "addon missing" whatever the machine has built.
describe('backend selection', () => {
  const savedEnv = process.env.FERROGRAD_BACKEND;

  afterEach(() => {
    if (savedEnv === undefined) delete process.env.FERROGRAD_BACKEND;
    else process.env.FERROGRAD_BACKEND = savedEnv;
    vi.doUnmock('../src/backend/native.js');
    vi.resetModules();
    vi.restoreAllMocks();
  });

  async function loadIndex(addonLoads: boolean, env: string | undefined) {
    vi.resetModules();
    if (env === undefined) delete process.env.FERROGRAD_BACKEND;
    else process.env.FERROGRAD_BACKEND = env;
    const fakeNative = { ...R, name: 'native' as const };
    vi.doMock('../src/backend/native.js', () => ({
      nativeBackend: fakeNative,
      nativeAvailable: () => addonLoads,
    }));
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const mod = await import('../src/backend/index.js');
    // resetModules gives index.ts a fresh reference.ts instance: compare against that one.
    return { mod, warn, fakeNative, ref: mod.referenceBackend };
  }

  it('defaults to native when the addon loads, and float64 always runs on reference', async () => {
    const { mod, warn, fakeNative, ref } = await loadIndex(true, undefined);
    expect(mod.nativeAvailable()).toBe(true);
    expect(mod.getBackend()).toBe(fakeNative);
    expect(mod.backendFor('float32')).toBe(fakeNative);
    expect(mod.backendFor('int32')).toBe(fakeNative);
    expect(mod.backendFor('float64')).toBe(ref);
    expect(warn).not.toHaveBeenCalled();
  });

  it('falls back to reference with a single warning when the addon is missing', async () => {
    const { mod, warn, ref } = await loadIndex(false, undefined);
    expect(mod.getBackend()).toBe(ref);
    expect(mod.backendFor('float32')).toBe(ref);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain('npm run build:native');
  });

  it('FERROGRAD_BACKEND=reference selects reference silently even when native loads', async () => {
    const { mod, warn, ref } = await loadIndex(true, 'reference');
    expect(mod.getBackend()).toBe(ref);
    expect(warn).not.toHaveBeenCalled();
    const missing = await loadIndex(false, 'reference');
    expect(missing.mod.getBackend()).toBe(missing.ref);
    expect(missing.warn).not.toHaveBeenCalled();
  });

  it('FERROGRAD_BACKEND=native without the addon throws and says how to build it', async () => {
    const { mod, ref } = await loadIndex(false, 'native');
    expect(() => mod.getBackend()).toThrow(/FERROGRAD_BACKEND=native .*npm run build:native/);
    expect(() => mod.backendFor('float32')).toThrow(/npm run build:native/);
    expect(mod.backendFor('float64')).toBe(ref);
  });

  it('rejects an unknown FERROGRAD_BACKEND value', async () => {
    const { mod } = await loadIndex(true, 'cuda');
    expect(() => mod.getBackend()).toThrow("FERROGRAD_BACKEND must be 'native' or 'reference', got 'cuda'");
  });

  it('setBackend switches, refuses native without the addon, and withBackend restores', async () => {
    const { mod, fakeNative, ref } = await loadIndex(true, undefined);
    mod.setBackend('reference');
    expect(mod.getBackend()).toBe(ref);
    mod.setBackend('native');
    expect(mod.getBackend()).toBe(fakeNative);
    expect(mod.withBackend('reference', () => mod.getBackend())).toBe(ref);
    expect(mod.getBackend()).toBe(fakeNative);
    expect(() => mod.withBackend('reference', () => {
      throw new Error('inner');
    })).toThrow('inner');
    expect(mod.getBackend()).toBe(fakeNative);
    expect(() => mod.setBackend('gpu' as 'native')).toThrow("setBackend: unknown backend 'gpu'");

    const missing = await loadIndex(false, 'reference');
    expect(() => missing.mod.setBackend('native')).toThrow(/setBackend\('native'\).*npm run build:native/);
    expect(missing.mod.getBackend()).toBe(missing.ref);
  });
});
