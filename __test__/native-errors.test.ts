// The native boundary: every kind of bad argument must come back as a JS Error whose message names
// the kernel and the offending values (never a crash, a hang, NaNs or a silent wrong answer), a
// panic inside the addon must surface as an Error and leave the addon usable, and parallel
// kernels must give the same bits with 1 and 2 threads.
//
// These tests call the raw addon directly (the `native` export), so they check the addon's own
// validation rather than the tensor layer's. They need the addon built (`npm run build:native`).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native, nativeAvailable } from '../src/backend/native.js';
import { BinaryOp, ReduceOp, UnaryOp } from '../src/backend/backend.js';
import { referenceBackend } from '../src/backend/reference.js';

const f32 = (n: number, fill = 0) => new Float32Array(n).fill(fill);

/** Deterministic pseudo-random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Asserts fn throws a real Error whose message matches every pattern. */
function throwsWith(fn: () => unknown, ...patterns: RegExp[]): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an Error to be thrown').toBeInstanceOf(Error);
  for (const p of patterns) expect((caught as Error).message).toMatch(p);
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

let threadsBefore = 1;
beforeAll(() => {
  if (!nativeAvailable()) throw new Error('native addon not built: run `npm run build:native` first');
  threadsBefore = native.kernels.getNumThreads();
});
afterAll(() => {
  if (nativeAvailable()) native.kernels.setNumThreads(threadsBefore);
});

describe('lengths against shapes, offsets and strides', () => {
  it('where, whereBackward, gelu and reduceArgBackward name the kernel, the argument and what it needs', () => {
    const k = native.kernels;
    throwsWith(() => k.where(f32(3), 0, [1], f32(4), 0, [1], f32(4), 0, [1], f32(4), [4], null), /^where: cond has 3 elements/);
    throwsWith(() => k.where(new Float64Array(4) as never, 0, [1], f32(4), 0, [1], f32(4), 0, [1], f32(4), [4], null), /^where: cond must be a Float32Array, got a Float64Array/);
    throwsWith(() => k.where(f32(4), 0, [1], f32(4), 0, [1], f32(4), 0, [1], f32(4), [4], f32(3)), /^where: mask has 3 elements but shape \[4\] needs 4$/);
    const shared = f32(8);
    throwsWith(() => k.where(shared.subarray(0, 4), 0, [1], f32(4), 0, [1], f32(4), 0, [1], shared.subarray(2, 6), [4], null), /^where: .*share memory|^where: .*overlap/);
    throwsWith(() => k.whereBackward(f32(4), f32(5), f32(5), null), /^whereBackward: mask has 4 elements/);
    throwsWith(() => k.gelu(f32(4), true, f32(5)), /^gelu: x has 4 elements but out \(5 elements\) needs 5$/);
    throwsWith(() => k.geluBackward(f32(4), f32(3), false, f32(4)), /^geluBackward: dy has 3 elements/);
    throwsWith(() => k.reduceArgBackward(f32(2), 1, 3, 2, Int32Array.of(0, 3), f32(6)), /^reduceArgBackward: idx\[1\] = 3 is out of range for an axis of 3 \(valid: 0\.\.2\)$/);
    throwsWith(() => k.reduceArgBackward(f32(2), 1, 3, 2, Int32Array.of(0, -1), f32(6)), /^reduceArgBackward: idx\[1\] = -1 is out of range/);
    throwsWith(() => k.reduceArgBackward(f32(2), 1, 3, 2, Int32Array.of(0, 1), f32(5)), /^reduceArgBackward: dx has 5 elements but \[outer, n, inner\] = \[1, 3, 2\] needs 6$/);
  });

  it('matmul names the operand, its length and what the shapes need', () => {
    throwsWith(
      () => native.kernels.matmul(f32(100), 0, 0, false, f32(600), 0, 0, false, f32(32 * 100), 1, 32, 6, 100),
      /^matmul: a has 100 elements but offset 0 \+ batch 1 x 32x6 needs 192$/,
    );
    throwsWith(
      () => native.kernels.matmul(f32(192), 0, 0, false, f32(599), 0, 0, false, f32(3200), 1, 32, 6, 100),
      /matmul: b has 599 elements/, /6x100 needs 600/,
    );
    // Transposed B is stored n x k.
    throwsWith(
      () => native.kernels.matmul(f32(192), 0, 0, false, f32(599), 0, 0, true, f32(3200), 1, 32, 6, 100),
      /matmul: b has 599 elements/, /100x6 needs 600/,
    );
    throwsWith(
      () => native.kernels.matmul(f32(192 + 5), 5, 192, false, f32(600), 0, 0, false, f32(2 * 3200), 2, 32, 6, 100),
      /matmul: a has 197 elements but offset 5 \+ batch 2 \(batch stride 192\) of 32x6 needs 389/,
    );
    throwsWith(
      () => native.kernels.matmul(f32(192), 0, 0, false, f32(600), 0, 0, false, f32(3199), 1, 32, 6, 100),
      /matmul: out has 3199 elements but batch 1 x 32x100 needs 3200/,
    );
    throwsWith(() => native.kernels.matmul(f32(4), 0, 0, 0 as never, f32(4), 0, 0, false, f32(4), 1, 2, 2, 2), /^matmul: transA must be a boolean, got a number$/);
  });

  it('elementwise, reductions, softmax and batch norm check every array', () => {
    throwsWith(() => native.kernels.unary(UnaryOp.Exp, f32(5), f32(4)), /^unary: x has 5 elements but out \(4 elements\) needs 4$/);
    throwsWith(() => native.kernels.unaryBackward(UnaryOp.Tanh, f32(4), f32(4), f32(3), f32(4)), /unaryBackward: dy has 3 elements/);
    throwsWith(() => native.kernels.axpy(1, f32(3), f32(4)), /axpy: x has 3 elements but y \(4 elements\) needs 4/);
    throwsWith(
      () => native.kernels.adamStep(f32(4), f32(4), f32(4), f32(3), null, 1, 0, 0.1, 0.999, 0.001, -0.01, 0.5, 1e-8, false),
      /^adamStep: expAvgSq has 3 elements but param \(4 elements\) needs 4$/,
    );
    throwsWith(
      () => native.kernels.sgdStep(f32(4), f32(5), null, false, -0.1, 0, 0, 1, false, false, true),
      /^sgdStep: grad has 5 elements but param \(4 elements\) needs 4$/,
    );
    throwsWith(
      () => native.kernels.binary(BinaryOp.Add, f32(6), 0, [3, 1], f32(2), 0, [0, 1], f32(5), [2, 3]),
      /binary: out has 5 elements but shape \[2, 3\] needs 6/,
    );
    throwsWith(
      () => native.kernels.binary(BinaryOp.Add, f32(6), 1, [3, 1], f32(3), 0, [0, 1], f32(6), [2, 3]),
      /binary: a has 6 elements but offset 1 \+ shape \[2, 3\] with strides \[3, 1\] reaches index 6/,
    );
    throwsWith(
      () => native.kernels.binary(BinaryOp.Add, f32(6), 0, [3, 1], f32(3), 0, [1], f32(6), [2, 3]),
      /binary: bStrides has 1 entries but shape \[2, 3\] has rank 2/,
    );
    throwsWith(
      () => native.kernels.binaryInplace(BinaryOp.Mul, f32(6), 0, [1, 2], f32(3), 0, [0, 2], [2, 3]),
      /binaryInplace: b has 3 elements but offset 0 \+ shape \[2, 3\] with strides \[0, 2\] reaches index 4/,
    );
    throwsWith(
      () => native.kernels.copy(f32(6), 0, [3, 1], f32(5), 0, [3, 1], [2, 3]),
      /copy: dst has 5 elements but offset 0 \+ shape \[2, 3\] with strides \[3, 1\] reaches index 5/,
    );
    throwsWith(() => native.kernels.copy(f32(6), 0, [1], new Int32Array(6), 0, [1], [6]), /copy: src is a Float32Array but dst is a Int32Array/);
    throwsWith(() => native.kernels.sum(f32(23), 2, 3, 4, f32(8)), /sum: x has 23 elements but \[outer, n, inner\] = \[2, 3, 4\] needs 24/);
    throwsWith(() => native.kernels.reduceArg(ReduceOp.Max, f32(0), 2, 0, 4, f32(8), new Int32Array(8)), /reduceArg: Max over an empty axis \(n = 0\)/);
    throwsWith(() => native.kernels.reduceArg(2 as ReduceOp, f32(4), 1, 4, 1, f32(1), new Int32Array(1)), /reduceArg: unknown reduce op code 2/);
    throwsWith(() => native.kernels.softmax(f32(27 * 32), 32, 27, false, f32(27 * 31)), /softmax: out has 837 elements but \[rows, cols\] = \[32, 27\] needs 864/);
    throwsWith(
      () => native.kernels.batchNormForward(f32(32 * 200), 32, 200, f32(199), null, 1e-5, 1, true, f32(6400), f32(200), f32(200), f32(200)),
      /batchNormForward: gamma has 199 elements but c = 200 needs 200/,
    );
    throwsWith(
      () => native.kernels.batchNormForward(f32(10), 1, 10, null, null, 1e-5, 1, true, f32(10), f32(10), f32(10), f32(10)),
      /batchNormForward: training needs more than 1 rows per channel \(n = 1, correction = 1\)/,
    );
    throwsWith(
      () => native.kernels.batchNormForward(f32(20), 2, 10, null, null, -1, 0, true, f32(20), f32(10), f32(10), f32(10)),
      /batchNormForward: eps must be a finite number > 0 when training, got -1/,
    );
    // As torch.nn.functional.batch_norm: eps = 0 is refused when training, allowed in eval mode.
    throwsWith(
      () => native.kernels.batchNormForward(f32(20), 2, 10, null, null, 0, 0, true, f32(20), f32(10), f32(10), f32(10)),
      /^batchNormForward: eps must be a finite number > 0 when training, got 0$/,
    );
    throwsWith(
      () => native.kernels.batchNormForward(f32(20), 2, 10, null, null, -1e-5, 0, false, f32(20), f32(10), f32(10, 1), f32(10)),
      /^batchNormForward: eps must be a finite number >= 0, got -0.00001$/,
    );
    // No channels: nothing divides by n - correction, so n <= correction is accepted (as the
    // reference backend accepts it; the kernel used to assert, a panic caught as an Error).
    for (const be of [native.kernels, referenceBackend]) {
      expect(() => be.batchNormForward(f32(0), 1, 0, null, null, 1e-5, 1, true, f32(0), f32(0), f32(0), f32(0))).not.toThrow();
      expect(() => be.batchNormForward(f32(0), 0, 0, null, null, 1e-5, 1, true, f32(0), f32(0), f32(0), f32(0))).not.toThrow();
      expect(() => be.batchNormBackward(f32(0), f32(0), 1, 0, f32(0), f32(0), null, 1, f32(0), f32(0), f32(0))).not.toThrow();
    }
    throwsWith(
      () => native.kernels.conv1dForward(f32(2 * 3 * 8), 2, 3, 8, f32(4 * 3 * 2), 4, 2, 1, 1, null, f32(2 * 4 * 7), 7),
      /conv1dForward: tout is 7 but tin 8 \+ padLeft 1 - dilation 1 x \(k 2 - 1\) = 8/,
    );
    throwsWith(
      () => native.kernels.conv1dForward(f32(2), 1, 1, 2, f32(3), 1, 3, 4, 0, null, f32(0), 0),
      /conv1dForward: input too short/,
    );
  });

  it('a wrong array type names what was passed', () => {
    throwsWith(() => native.kernels.unary(UnaryOp.Neg, new Float64Array(4) as never, f32(4)), /unary: x must be a Float32Array, got a Float64Array/);
    throwsWith(() => native.kernels.unary(UnaryOp.Neg, [1, 2, 3, 4] as never, f32(4)), /unary: x must be a Float32Array, got a plain object or array/);
    throwsWith(() => native.kernels.putAdd(f32(2), new Float32Array(2) as never, f32(2)), /putAdd: flatIdx must be an Int32Array, got Float32Array/);
    throwsWith(() => native.kernels.unary(UnaryOp.Neg, f32(4), null as never), /unary: out must be a Float32Array, got null/);
  });
});

describe('sizes and codes arriving as JS numbers', () => {
  const mm = (m: number, k = 2, n = 2) => () => native.kernels.matmul(f32(16), 0, 0, false, f32(16), 0, 0, false, f32(16), 1, m, k, n);

  it('rejects negative, NaN, fractional and huge sizes (a -1 never becomes u32::MAX)', () => {
    throwsWith(mm(-1), /^matmul: m must be >= 0, got -1$/);
    throwsWith(mm(NaN), /matmul: m must be a non-negative integer, got NaN/);
    throwsWith(mm(2.5), /matmul: m must be a non-negative integer, got 2.5/);
    throwsWith(mm(Infinity), /matmul: m must be a non-negative integer, got Infinity/);
    throwsWith(mm(2 ** 60), /matmul: m is too large/);
    throwsWith(mm(2 ** 52, 2 ** 52, 4), /matmul: out size \(batch x m x n\) overflows|matmul: out has 16 elements/);
    throwsWith(() => native.kernels.sum(f32(4), 2 ** 40, 2 ** 40, 2 ** 40, f32(1)), /sum: outer x n x inner overflows/);
    throwsWith(() => native.kernels.indexSelect(f32(4), -1, new Int32Array(1), f32(1)), /indexSelect: rowSize must be >= 0, got -1/);
    throwsWith(() => native.kernels.copy(f32(4), -2, [1], f32(4), 0, [1], [2]), /copy: srcOff must be >= 0, got -2/);
    throwsWith(() => native.kernels.copy(f32(4), 0, [-1], f32(4), 0, [1], [2]), /copy: srcStrides\[0\] must be >= 0, got -1/);
    throwsWith(() => native.kernels.binary(BinaryOp.Add, f32(4), 0, [1], f32(4), 0, [1], f32(4), [NaN]), /binary: shape\[0\] must be a non-negative integer, got NaN/);
    throwsWith(() => native.kernels.setNumThreads(0), /setNumThreads: n must be in \[1, 1024\], got 0/);
    throwsWith(() => native.kernels.setNumThreads(-1), /setNumThreads: n must be >= 0, got -1/);
    throwsWith(() => native.kernels.conv1dForward(f32(4), 1, 1, 4, f32(1), 1, 0, 1, 0, null, f32(4), 4), /conv1dForward: k must be >= 1, got 0/);
  });

  it('rejects unknown op codes', () => {
    throwsWith(() => native.kernels.unary(10 as UnaryOp, f32(1), f32(1)), /unary: unknown unary op code 10/);
    throwsWith(() => native.kernels.unary(-1 as UnaryOp, f32(1), f32(1)), /unary: unknown unary op code -1/);
    throwsWith(() => native.kernels.binaryScalar(13 as BinaryOp, f32(1), 1, false, f32(1)), /binaryScalar: unknown binary op code 13/);
    throwsWith(() => native.kernels.reduceArg(-1 as ReduceOp, f32(1), 1, 1, 1, f32(1), new Int32Array(1)), /reduceArg: unknown reduce op code -1/);
    throwsWith(() => native.kernels.unary(1.5 as UnaryOp, f32(1), f32(1)), /unary: op must be an integer, got 1.5/);
  });
});

describe('arguments of the wrong JS type or missing', () => {
  it('numbers, booleans and dims name the kernel and the argument', () => {
    throwsWith(() => native.kernels.axpy('2' as never, f32(2), f32(2)), /^axpy: alpha must be a number, got a string$/);
    throwsWith(() => native.kernels.softmax(f32(4), 2, 2, 1 as never, f32(4)), /^softmax: log must be a boolean, got a number$/);
    throwsWith(() => native.kernels.copy(f32(4), 0, 1 as never, f32(4), 0, [1], [4]), /^copy: srcStrides must be an array of numbers, got a number$/);
    throwsWith(() => native.kernels.copy(f32(4), 0, ['1'] as never, f32(4), 0, [1], [4]), /^copy: srcStrides\[0\] must be a number, got a string$/);
    throwsWith(() => native.kernels.binary(BinaryOp.Add, f32(1), 0, new Array(33).fill(0), f32(1), 0, [1], f32(1), [1]), /binary: aStrides has 33 entries; at most 32/);
  });

  it('a shape whose getter detaches an array already passed is seen as that empty array, not read', () => {
    // Arrays are resolved to memory only after every argument is converted (a getter may run JS).
    const src = rand(1 << 16, 11);
    const evil: number[] = [];
    Object.defineProperty(evil, 0, {
      enumerable: true,
      get() {
        structuredClone(src.buffer, { transfer: [src.buffer] }); // detaches src
        return 1;
      },
    });
    evil.length = 1;
    throwsWith(() => native.kernels.copy(src, 0, evil, f32(1), 0, [1], [1]), /^copy: src has 0 elements but offset 0 \+ shape \[1\]/);
    expect(src.length).toBe(0);
  });

  it('a call with arguments missing says which', () => {
    throwsWith(() => (native.kernels.unary as (...a: unknown[]) => void)(UnaryOp.Exp, f32(2)), /^unary: out must be a Float32Array, got undefined$/);
    throwsWith(() => (native.kernels.matmul as (...a: unknown[]) => void)(f32(4), 0, 0, false, f32(4), 0, 0, false, f32(4), 1, 2, 2), /^matmul: n must be a number, got undefined$/);
    throwsWith(() => (native.kernels.setNumThreads as (...a: unknown[]) => void)(), /^setNumThreads: n must be a number, got undefined$/);
  });

  it('the addon exports exactly the Backend kernels', () => {
    const names = Object.keys(native.kernels).sort();
    expect(names).toEqual(Object.keys(referenceBackend).filter((k) => k !== 'name').sort());
    expect(names.every((k) => typeof (native.kernels as unknown as Record<string, unknown>)[k] === 'function')).toBe(true);
  });
});

describe('indices and targets', () => {
  it('out-of-range gather/scatter indices name the position and the value, and write nothing', () => {
    const src = rand(27 * 10, 1);
    const out = f32(3 * 10, 7);
    throwsWith(() => native.kernels.indexSelect(src, 10, Int32Array.from([0, 27, 3]), out), /^indexSelect: idx\[1\] = 27 is out of range for 27 rows \(valid: 0\.\.26\)$/);
    throwsWith(() => native.kernels.indexSelect(src, 10, Int32Array.from([0, 1, -1]), out), /indexSelect: idx\[2\] = -1 is out of range/);
    expect(out.every((v) => v === 7)).toBe(true);
    throwsWith(() => native.kernels.indexSelect(f32(25), 10, Int32Array.from([0]), f32(10)), /indexSelect: src has 25 elements, not a multiple of rowSize 10/);
    const dst = f32(27 * 10, 1);
    throwsWith(() => native.kernels.indexAdd(f32(20), 10, Int32Array.from([5, 99]), dst), /indexAdd: idx\[1\] = 99 is out of range for 27 rows/);
    expect(dst.every((v) => v === 1)).toBe(true);
    throwsWith(() => native.kernels.putAdd(f32(2), Int32Array.from([-3, 0]), f32(5)), /putAdd: flatIdx\[0\] = -3 is out of range for dst with 5 elements/);
  });

  it('cross-entropy targets must be classes or ignoreIndex', () => {
    const logits = rand(4 * 27, 2);
    const probs = f32(4 * 27);
    throwsWith(
      () => native.kernels.crossEntropyForward(logits, 4, 27, Int32Array.from([0, 26, 27, 3]), -100, probs),
      /^crossEntropyForward: targets\[2\] = 27 is out of range for 27 classes \(valid: 0\.\.26, or ignoreIndex -100\)$/,
    );
    throwsWith(() => native.kernels.crossEntropyForward(logits, 4, 27, Int32Array.from([0, -1, 2, 3]), -100, probs), /targets\[1\] = -1/);
    throwsWith(() => native.kernels.crossEntropyBackward(probs, 4, 27, Int32Array.from([0, 1, 2, 30]), -100, 1, f32(4 * 27)), /crossEntropyBackward: targets\[3\] = 30/);
    throwsWith(() => native.kernels.crossEntropyForward(logits, 4, 27, Int32Array.from([0, 1]), -100, probs), /crossEntropyForward: targets has 2 elements but rows = 4 needs 4/);
    // ignoreIndex rows are allowed and excluded from the sum.
    const all = native.kernels.crossEntropyForward(logits, 4, 27, Int32Array.from([0, 1, 2, 3]), -100, probs);
    const some = native.kernels.crossEntropyForward(logits, 4, 27, Int32Array.from([0, -100, 2, 3]), -100, probs);
    const row1 = native.kernels.crossEntropyForward(logits.subarray(27, 54), 1, 27, Int32Array.from([1]), -100, f32(27));
    expect(Number.isFinite(all) && all > 0).toBe(true);
    expect(Math.abs(all - some - row1)).toBeLessThan(1e-5);
  });
});

describe('aliasing between outputs and other arguments', () => {
  it('rejects the same array (or overlapping views) as input and output', () => {
    const x = rand(64, 3);
    throwsWith(() => native.kernels.unary(UnaryOp.Exp, x, x), /^unary: out and x share memory; the output must be a distinct array$/);
    throwsWith(() => native.kernels.unary(UnaryOp.Exp, x.subarray(0, 32), x.subarray(16, 48)), /unary: out and x share memory/);
    throwsWith(() => native.kernels.binary(BinaryOp.Add, x, 0, [1], f32(64), 0, [1], x, [64]), /binary: out and a share memory/);
    throwsWith(() => native.kernels.matmul(x, 0, 0, false, f32(64), 0, 0, false, x, 1, 8, 8, 8), /matmul: out and a share memory/);
    throwsWith(() => native.kernels.binaryInplace(BinaryOp.Add, x, 0, [1], x, 0, [1], [64]), /binaryInplace: a and b share memory/);
    throwsWith(() => native.kernels.copy(x, 0, [1], x.subarray(63), 0, [1], [1]), /copy: dst and src share memory/);
    throwsWith(() => native.kernels.axpy(2, x, x), /axpy: y and x share memory/);
    throwsWith(() => native.kernels.adamStep(x, x, f32(64), f32(64), null, 1, 0, 0.1, 0.999, 0.001, -0.01, 0.5, 1e-8, false), /adamStep: param and grad share memory/);
    throwsWith(() => native.kernels.sgdStep(x, f32(64), x, false, -0.1, 0, 0.9, 1, false, false, true), /sgdStep: momentumBuffer and param share memory|sgdStep: param and momentumBuffer share memory/);
    const st = f32(8);
    throwsWith(() => native.kernels.reduceArg(ReduceOp.Max, x, 8, 8, 1, st, new Int32Array(st.buffer)), /reduceArg: out and outIdx share memory/);
    throwsWith(
      () => native.kernels.batchNormBackward(x, x, 8, 8, f32(8), f32(8), null, 0, f32(64), st, st),
      /batchNormBackward: dgamma and dbeta share memory/,
    );
    // Disjoint views of one buffer are fine.
    const buf = rand(64, 4);
    native.kernels.unary(UnaryOp.Neg, buf.subarray(0, 32), buf.subarray(32, 64));
    expect(buf[32]).toBe(-buf[0]);
  });

  it('documented in-place arguments work', () => {
    const a = Float32Array.from([1, 2, 3]);
    native.kernels.scalarInplace(BinaryOp.Mul, a, 2);
    native.kernels.axpy(0.5, Float32Array.from([2, 2, 2]), a);
    native.kernels.binaryInplace(BinaryOp.Sub, a, 0, [1], Float32Array.from([1]), 0, [0], [3]);
    expect(Array.from(a)).toEqual([2, 4, 6]);
  });
});

describe('panics', () => {
  it('debugPanic throws a JS Error and the next call still works', () => {
    throwsWith(() => native.debugPanic(), /debugPanic: deliberate panic/);
    const out = f32(3);
    native.kernels.unary(UnaryOp.Square, Float32Array.from([1, 2, 3]), out);
    expect(Array.from(out)).toEqual([1, 4, 9]);
    throwsWith(() => native.debugPanic(), /deliberate panic/);
    expect(native.kernels.getNumThreads()).toBeGreaterThanOrEqual(1);
  });
});

describe('determinism across thread counts', () => {
  function withThreads<T>(n: number, fn: () => T): T {
    native.kernels.setNumThreads(n);
    expect(native.kernels.getNumThreads()).toBe(n);
    return fn();
  }

  it('setNumThreads changes the count', () => {
    withThreads(1, () => undefined);
    withThreads(2, () => undefined);
    withThreads(3, () => undefined);
  });

  it('a large sum gives identical bits with 1 and 2 threads', () => {
    const x = rand(3_000_001, 5);
    for (const [outer, n, inner] of [[1, 3_000_001, 1], [1, 1, 3_000_001], [3, 1_000_000, 1], [1000, 3000, 1]] as const) {
      const len = outer * n * inner;
      const run = (t: number) => withThreads(t, () => {
        const out = f32(outer * inner);
        native.kernels.sum(x.subarray(0, len), outer, n, inner, out);
        return out;
      });
      expect(sameBits(run(1), run(2)), `${outer}x${n}x${inner}`).toBe(true);
    }
  });

  it('a large matmul (each path, plain and transposed) gives identical bits with 1 and 2 threads', () => {
    for (const [m, k, n, ta, tb] of [
      [512, 512, 512, false, false],
      [1024, 256, 768, true, false],
      [300, 1000, 40, false, true],
      [256, 64, 1024, false, false],
    ] as const) {
      const a = rand(m * k, 6);
      const b = rand(k * n, 7);
      const run = (t: number) => withThreads(t, () => {
        const out = f32(m * n);
        native.kernels.matmul(a, 0, 0, ta, b, 0, 0, tb, out, 1, m, k, n);
        return out;
      });
      const one = run(1);
      expect(one.every(Number.isFinite)).toBe(true);
      expect(sameBits(one, run(2)), `${m}x${k}x${n} ta=${ta} tb=${tb}`).toBe(true);
    }
  });

  it('a large batch norm forward and backward give identical bits with 1 and 2 threads', () => {
    const [n, c] = [2048, 600];
    const x = rand(n * c, 8);
    const dy = rand(n * c, 9);
    const gamma = rand(c, 10);
    const run = (t: number) => withThreads(t, () => {
      const [out, mean, vr, inv] = [f32(n * c), f32(c), f32(c), f32(c)];
      native.kernels.batchNormForward(x, n, c, gamma, null, 1e-5, 1, true, out, mean, vr, inv);
      const [dx, dg, db] = [f32(n * c), f32(c), f32(c)];
      native.kernels.batchNormBackward(x, dy, n, c, mean, inv, gamma, 1, dx, dg, db);
      return [out, mean, vr, dx, dg, db];
    });
    const [r1, r2] = [run(1), run(2)];
    r1.forEach((arr, i) => expect(sameBits(arr, r2[i]), `output ${i}`).toBe(true));
  });
});
