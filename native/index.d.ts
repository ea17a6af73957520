/**
 * Panics on purpose: the tests check that this surfaces as a JS Error and later calls still work.
 * `resume_unwind` unwinds exactly like `panic!` but skips the panic hook, so test logs stay free
 * of a backtrace for a panic that is expected.
 */
export declare function debugPanic(): void

/** One tensor of a safetensors file. */
export interface SafetensorsEntry {
  name: string
  /** The format's dtype name: "F32", "I64", "BF16", ... */
  dtype: string
  shape: Array<number>
  /** Byte offsets relative to the start of the data section (after the header). */
  begin: number
  end: number
}

/** A validated header. */
export interface SafetensorsHeader {
  /** Tensors in the order of their data in the file. */
  tensors: Array<SafetensorsEntry>
  /** The `__metadata__` strings sorted by key; `null` when the file has none. */
  metadata?: Array<SafetensorsMetadataEntry>
}

/** One `__metadata__` entry. */
export interface SafetensorsMetadataEntry {
  key: string
  value: string
}

/**
 * Validates the JSON header of a safetensors file whose data section (everything after the
 * header) holds `dataLen` bytes, and returns its tensors and metadata. Errors name the fault
 * and the tensor; the caller adds the file name.
 */
export declare function safetensorsParseHeader(header: Uint8Array, dataLen: number): SafetensorsHeader

/**
 * Builds a native tape from step descriptions (src/compile/native-tape.ts): kernel steps
 * `{ kernel, args, dynArg?, dynArray?, dynIndex?, dynLoss?, dynArgs? }` and crossEntropy loss steps
 * `{ loss, targets, rows, ignoreIndex, out, mean, count0, staticBackward }`. The arrays must stay
 * alive, attached and of the same size while the tape is used (the caller keeps them).
 */
export declare function tapeCreate(steps: Array<object>): object

/** Stores step `at` of a native tape again from a new description (same form as tapeCreate's). */
export declare function tapeReplace(tape: object, at: number, step: object): void

/** Runs steps [from, to) of a native tape; an error names the kernel, its `code` is the step. */
export declare function tapeRun(tape: object, from: number, to: number): void

export declare namespace kernels {
  export function adamStep(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, maxExpAvgSq: Float32Array | null, decay: number, l2: number, weight: number, beta2: number, oneMinusBeta2: number, negStepSize: number, bc2Sqrt: number, eps: number, maximize: boolean): void
  export function axpy(alpha: number, x: Float32Array, y: Float32Array): void
  export function batchNormBackward(x: Float32Array, dy: Float32Array, n: number, c: number, mean: Float32Array, invstd: Float32Array, gamma: Float32Array | null, correction: number, dx: Float32Array | null, dgamma: Float32Array | null, dbeta: Float32Array | null): void
  export function batchNormForward(x: Float32Array, n: number, c: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number, correction: number, training: boolean, out: Float32Array, meanOut: Float32Array, varOut: Float32Array, invstdOut: Float32Array): void
  export function binary(op: number, a: Float32Array, aOff: number, aStrides: number[], b: Float32Array, bOff: number, bStrides: number[], out: Float32Array, shape: number[]): void
  export function binaryInplace(op: number, a: Float32Array, aOff: number, aStrides: number[], b: Float32Array, bOff: number, bStrides: number[], shape: number[]): void
  export function binaryScalar(op: number, x: Float32Array, s: number, reversed: boolean, out: Float32Array): void
  export function conv1dBackward(x: Float32Array, batch: number, cin: number, tin: number, w: Float32Array, cout: number, kw: number, dilation: number, padLeft: number, dy: Float32Array, tout: number, dx: Float32Array | null, dw: Float32Array | null): void
  export function conv1dForward(x: Float32Array, batch: number, cin: number, tin: number, w: Float32Array, cout: number, kw: number, dilation: number, padLeft: number, bias: Float32Array | null, out: Float32Array, tout: number): void
  export function copy(src: Float32Array | Int32Array, srcOff: number, srcStrides: number[], dst: Float32Array | Int32Array, dstOff: number, dstStrides: number[], shape: number[]): void
  export function crossEntropyBackward(probs: Float32Array, rows: number, cols: number, targets: Int32Array, ignoreIndex: number, scale: number, dx: Float32Array): void
  export function crossEntropyForward(logits: Float32Array, rows: number, cols: number, targets: Int32Array, ignoreIndex: number, probs: Float32Array): number
  export function gelu(x: Float32Array, tanh: boolean, out: Float32Array): void
  export function geluBackward(x: Float32Array, dy: Float32Array, tanh: boolean, dx: Float32Array): void
  export function getNumThreads(): number
  export function indexAdd(src: Float32Array, rowSize: number, idx: Int32Array, dst: Float32Array): void
  export function indexSelect(src: Float32Array, rowSize: number, idx: Int32Array, out: Float32Array): void
  export function matmul(a: Float32Array, aOff: number, aBatchStride: number, transA: boolean, b: Float32Array, bOff: number, bBatchStride: number, transB: boolean, out: Float32Array, batch: number, m: number, k: number, n: number): void
  export function putAdd(src: Float32Array, flatIdx: Int32Array, dst: Float32Array): void
  export function reduceArg(op: number, x: Float32Array, outer: number, n: number, inner: number, out: Float32Array, outIdx: Int32Array): void
  export function reduceArgBackward(g: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, dx: Float32Array): void
  export function scalarInplace(op: number, a: Float32Array, s: number): void
  export function setNumThreads(n: number): void
  export function sgdStep(param: Float32Array, grad: Float32Array, momentumBuffer: Float32Array | null, first: boolean, negLr: number, weightDecay: number, momentum: number, keep: number, nesterov: boolean, maximize: boolean, fused: boolean): void
  export function softmax(x: Float32Array, rows: number, cols: number, log: boolean, out: Float32Array): void
  export function softmaxBackward(y: Float32Array, dy: Float32Array, rows: number, cols: number, log: boolean, dx: Float32Array): void
  export function sum(x: Float32Array, outer: number, n: number, inner: number, out: Float32Array): void
  export function unary(op: number, x: Float32Array, out: Float32Array): void
  export function unaryBackward(op: number, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void
  export function where(cond: Float32Array | Int32Array, condOff: number, condStrides: number[], a: Float32Array, aOff: number, aStrides: number[], b: Float32Array, bOff: number, bStrides: number[], out: Float32Array, shape: number[], mask: Float32Array | null): void
  export function whereBackward(mask: Float32Array, g: Float32Array, ga: Float32Array | null, gb: Float32Array | null): void
}
