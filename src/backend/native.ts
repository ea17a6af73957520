// The native backend: the Rust addon (native/ferrograd.node, built by `npm run build:native`).
//
// A thin layer: one addon call per Backend method, no copies and no allocation of its own. The
// addon validates every argument again (lengths against shapes/offsets/strides, index ranges,
// aliasing of outputs) and throws a JS Error naming the kernel and the bad values, so a bug in the
// tensor layer surfaces as an exception rather than memory corruption.
//
// The addon is loaded on first use, not at import: importing the library must work on machines
// where the addon was never built (everything then runs on the reference backend).

import { createRequire } from 'node:module';
import type { AnyArray, Backend, BinaryOp, FloatArray, IndexArray, ReduceOp, UnaryOp } from './backend.js';
import { loadBinding } from './native-binding.js';

/** The raw addon's exports (see crates/node/src/ops.rs; native/index.d.ts is generated from it). */
export interface NativeAddon {
  copy(src: AnyArray, srcOff: number, srcStrides: number[], dst: AnyArray, dstOff: number, dstStrides: number[], shape: number[]): void;
  unary(op: number, x: FloatArray, out: FloatArray): void;
  unaryBackward(op: number, x: FloatArray, y: FloatArray, dy: FloatArray, dx: FloatArray): void;
  binary(op: number, a: FloatArray, aOff: number, aStrides: number[], b: FloatArray, bOff: number, bStrides: number[], out: FloatArray, shape: number[]): void;
  binaryScalar(op: number, x: FloatArray, s: number, reversed: boolean, out: FloatArray): void;
  binaryInplace(op: number, a: FloatArray, aOff: number, aStrides: number[], b: FloatArray, bOff: number, bStrides: number[], shape: number[]): void;
  scalarInplace(op: number, a: FloatArray, s: number): void;
  axpy(alpha: number, x: FloatArray, y: FloatArray): void;
  reduce(op: number, x: FloatArray, outer: number, n: number, inner: number, out: FloatArray): void;
  reduceArg(op: number, x: FloatArray, outer: number, n: number, inner: number, out: FloatArray, outIdx: IndexArray): void;
  matmul(a: FloatArray, aOff: number, aBatchStride: number, transA: boolean, b: FloatArray, bOff: number, bBatchStride: number, transB: boolean, out: FloatArray, batch: number, m: number, k: number, n: number, beta: number): void;
  indexSelect(src: FloatArray, rowSize: number, idx: IndexArray, out: FloatArray): void;
  indexAdd(src: FloatArray, rowSize: number, idx: IndexArray, dst: FloatArray): void;
  take(src: FloatArray, flatIdx: IndexArray, out: FloatArray): void;
  putAdd(src: FloatArray, flatIdx: IndexArray, dst: FloatArray): void;
  softmax(x: FloatArray, rows: number, cols: number, log: boolean, out: FloatArray): void;
  softmaxBackward(y: FloatArray, dy: FloatArray, rows: number, cols: number, log: boolean, dx: FloatArray): void;
  crossEntropyForward(logits: FloatArray, rows: number, cols: number, targets: IndexArray, ignoreIndex: number, probs: FloatArray): number;
  crossEntropyBackward(probs: FloatArray, rows: number, cols: number, targets: IndexArray, ignoreIndex: number, scale: number, dx: FloatArray): void;
  batchNormForward(x: FloatArray, n: number, c: number, gamma: FloatArray | null, beta: FloatArray | null, eps: number, correction: number, training: boolean, out: FloatArray, meanOut: FloatArray, varOut: FloatArray, invstdOut: FloatArray): void;
  batchNormBackward(x: FloatArray, dy: FloatArray, n: number, c: number, mean: FloatArray, invstd: FloatArray, gamma: FloatArray | null, correction: number, dx: FloatArray | null, dgamma: FloatArray | null, dbeta: FloatArray | null): void;
  conv1dForward(x: FloatArray, batch: number, cin: number, tin: number, w: FloatArray, cout: number, k: number, dilation: number, padLeft: number, bias: FloatArray | null, out: FloatArray, tout: number): void;
  conv1dBackward(x: FloatArray, batch: number, cin: number, tin: number, w: FloatArray, cout: number, k: number, dilation: number, padLeft: number, dy: FloatArray, tout: number, dx: FloatArray | null, dw: FloatArray | null): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cpuFeatures(): string;
  debugPanic(): void;
}

// From src/backend/ (tsx, vitest) the addon is two levels up; from dist/src/backend/ three.
const CANDIDATES = ['../../native/ferrograd.node', '../../../native/ferrograd.node'];

let addon: NativeAddon | null = null;
let loadErrors: string | null = null;

function load(): NativeAddon | null {
  if (addon !== null || loadErrors !== null) return addon;
  const found = loadBinding<NativeAddon>(createRequire(import.meta.url), CANDIDATES);
  addon = found.addon;
  if (addon === null) loadErrors = found.errors.join('; ');
  return addon;
}

function need(): NativeAddon {
  const a = load();
  if (a === null) {
    throw new Error(
      `the native addon (native/ferrograd.node) could not be loaded; build it with \`npm run build:native\` ` +
        `(needs a Rust toolchain), or use the reference backend. Tried: ${loadErrors}`,
    );
  }
  return a;
}

/** True when the addon loads on this machine. */
export function nativeAvailable(): boolean {
  return load() !== null;
}

/** The raw addon, for tests and benchmarks; any use throws a clear error when it is not built. */
export const native: NativeAddon = new Proxy({} as NativeAddon, {
  get(_t, prop) {
    return (need() as unknown as Record<string | symbol, unknown>)[prop];
  },
});

export const nativeBackend: Backend = {
  name: 'native',
  copy(src, srcOff, srcStrides, dst, dstOff, dstStrides, shape) {
    (addon ?? need()).copy(src, srcOff, srcStrides, dst, dstOff, dstStrides, shape);
  },
  unary(op: UnaryOp, x, out) {
    (addon ?? need()).unary(op, x, out);
  },
  unaryBackward(op: UnaryOp, x, y, dy, dx) {
    (addon ?? need()).unaryBackward(op, x, y, dy, dx);
  },
  binary(op: BinaryOp, a, aOff, aStrides, b, bOff, bStrides, out, shape) {
    (addon ?? need()).binary(op, a, aOff, aStrides, b, bOff, bStrides, out, shape);
  },
  binaryScalar(op: BinaryOp, x, s, reversed, out) {
    (addon ?? need()).binaryScalar(op, x, s, reversed, out);
  },
  binaryInplace(op: BinaryOp, a, aOff, aStrides, b, bOff, bStrides, shape) {
    (addon ?? need()).binaryInplace(op, a, aOff, aStrides, b, bOff, bStrides, shape);
  },
  scalarInplace(op: BinaryOp, a, s) {
    (addon ?? need()).scalarInplace(op, a, s);
  },
  axpy(alpha, x, y) {
    (addon ?? need()).axpy(alpha, x, y);
  },
  reduce(op: ReduceOp, x, outer, n, inner, out) {
    (addon ?? need()).reduce(op, x, outer, n, inner, out);
  },
  reduceArg(op, x, outer, n, inner, out, outIdx) {
    (addon ?? need()).reduceArg(op, x, outer, n, inner, out, outIdx);
  },
  matmul(a, aOff, aBatchStride, transA, b, bOff, bBatchStride, transB, out, batch, m, k, n, beta) {
    (addon ?? need()).matmul(a, aOff, aBatchStride, transA, b, bOff, bBatchStride, transB, out, batch, m, k, n, beta);
  },
  indexSelect(src, rowSize, idx, out) {
    (addon ?? need()).indexSelect(src, rowSize, idx, out);
  },
  indexAdd(src, rowSize, idx, dst) {
    (addon ?? need()).indexAdd(src, rowSize, idx, dst);
  },
  take(src, flatIdx, out) {
    (addon ?? need()).take(src, flatIdx, out);
  },
  putAdd(src, flatIdx, dst) {
    (addon ?? need()).putAdd(src, flatIdx, dst);
  },
  softmax(x, rows, cols, log, out) {
    (addon ?? need()).softmax(x, rows, cols, log, out);
  },
  softmaxBackward(y, dy, rows, cols, log, dx) {
    (addon ?? need()).softmaxBackward(y, dy, rows, cols, log, dx);
  },
  crossEntropyForward(logits, rows, cols, targets, ignoreIndex, probs) {
    return (addon ?? need()).crossEntropyForward(logits, rows, cols, targets, ignoreIndex, probs);
  },
  crossEntropyBackward(probs, rows, cols, targets, ignoreIndex, scale, dx) {
    (addon ?? need()).crossEntropyBackward(probs, rows, cols, targets, ignoreIndex, scale, dx);
  },
  batchNormForward(x, n, c, gamma, beta, eps, correction, training, out, meanOut, varOut, invstdOut) {
    (addon ?? need()).batchNormForward(x, n, c, gamma, beta, eps, correction, training, out, meanOut, varOut, invstdOut);
  },
  batchNormBackward(x, dy, n, c, mean, invstd, gamma, correction, dx, dgamma, dbeta) {
    (addon ?? need()).batchNormBackward(x, dy, n, c, mean, invstd, gamma, correction, dx, dgamma, dbeta);
  },
  conv1dForward(x, batch, cin, tin, w, cout, k, dilation, padLeft, bias, out, tout) {
    (addon ?? need()).conv1dForward(x, batch, cin, tin, w, cout, k, dilation, padLeft, bias, out, tout);
  },
  conv1dBackward(x, batch, cin, tin, w, cout, k, dilation, padLeft, dy, tout, dx, dw) {
    (addon ?? need()).conv1dBackward(x, batch, cin, tin, w, cout, k, dilation, padLeft, dy, tout, dx, dw);
  },
  setNumThreads(n) {
    (addon ?? need()).setNumThreads(n);
  },
  getNumThreads() {
    return (addon ?? need()).getNumThreads();
  },
};
