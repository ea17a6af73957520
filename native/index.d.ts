/** y[i] += alpha·x[i]. */
export declare function axpy(alpha: number, x: Float32Array, y: Float32Array): void

/** Closed-form backward of training-mode batch norm. */
export declare function batchNormBackward(x: Float32Array, dy: Float32Array, n: number, c: number, mean: Float32Array, invstd: Float32Array, gamma: Float32Array | null, correction: number, dx?: Float32Array | null, dgamma?: Float32Array | null, dbeta?: Float32Array | null): void

/** Batch norm of x [n, c] per column (training: batch stats; eval: the given running stats). */
export declare function batchNormForward(x: Float32Array, n: number, c: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number, correction: number, training: boolean, out: Float32Array, meanOut: Float32Array, varOut: Float32Array, invstdOut: Float32Array): void

/** Broadcasting binary op into a contiguous out of `shape`. */
export declare function binary(op: number, a: Float32Array, aOff: number, aStrides: number[], b: Float32Array, bOff: number, bStrides: number[], out: Float32Array, shape: number[]): void

/** a[view] = a[view] op b[view], b broadcast by 0 strides; a and b distinct. */
export declare function binaryInplace(op: number, a: Float32Array, aOff: number, aStrides: number[], b: Float32Array, bOff: number, bStrides: number[], shape: number[]): void

/** out[i] = x[i] op s (or s op x[i] when reversed). */
export declare function binaryScalar(op: number, x: Float32Array, s: number, reversed: boolean, out: Float32Array): void

/** Gradients of conv1dForward w.r.t. x and w. */
export declare function conv1dBackward(x: Float32Array, batch: number, cin: number, tin: number, w: Float32Array, cout: number, kw: number, dilation: number, padLeft: number, dy: Float32Array, tout: number, dx?: Float32Array | null, dw?: Float32Array | null): void

/** 1-D convolution (cross-correlation) with dilation and left padding. */
export declare function conv1dForward(x: Float32Array, batch: number, cin: number, tin: number, w: Float32Array, cout: number, kw: number, dilation: number, padLeft: number, bias: Float32Array | null, out: Float32Array, tout: number): void

/** Strided copy between two distinct arrays of the same element type (Float32Array or Int32Array). */
export declare function copy(src: Float32Array | Int32Array, srcOff: number, srcStrides: number[], dst: Float32Array | Int32Array, dstOff: number, dstStrides: number[], shape: number[]): void

/** SIMD level detected at run time: "avx512f", "avx2+fma" or "scalar". */
export declare function cpuFeatures(): string

/** dx = scale·(probs − onehot(target)), 0 on ignored rows. */
export declare function crossEntropyBackward(probs: Float32Array, rows: number, cols: number, targets: Int32Array, ignoreIndex: number, scale: number, dx: Float32Array): void

/** Fused softmax + NLL: writes probs and returns the summed loss of non-ignored rows. */
export declare function crossEntropyForward(logits: Float32Array, rows: number, cols: number, targets: Int32Array, ignoreIndex: number, probs: Float32Array): number

/**
 * Panics on purpose: the tests check that this surfaces as a JS Error and later calls still work.
 * `resume_unwind` unwinds exactly like `panic!` but skips the panic hook, so test logs stay free
 * of a backtrace for a panic that is expected.
 */
export declare function debugPanic(): void

/** Number of threads parallel kernels use. */
export declare function getNumThreads(): number

/** dst[idx[i], :] += src[i, :]. */
export declare function indexAdd(src: Float32Array, rowSize: number, idx: Int32Array, dst: Float32Array): void

/** out[i, :] = src[idx[i], :]. */
export declare function indexSelect(src: Float32Array, rowSize: number, idx: Int32Array, out: Float32Array): void

/** Batched matmul: out[b] = beta·out[b] + op(A[b]) @ op(B[b]). */
export declare function matmul(a: Float32Array, aOff: number, aBatchStride: number, transA: boolean, b: Float32Array, bOff: number, bBatchStride: number, transB: boolean, out: Float32Array, batch: number, m: number, k: number, n: number, beta: number): void

/** dst[flatIdx[i]] += src[i]. */
export declare function putAdd(src: Float32Array, flatIdx: Int32Array, dst: Float32Array): void

/** Reduce x [outer, n, inner] over the middle axis into out [outer, inner]. */
export declare function reduce(op: number, x: Float32Array, outer: number, n: number, inner: number, out: Float32Array): void

/** Max/min over the middle axis with the index of the first extreme element. */
export declare function reduceArg(op: number, x: Float32Array, outer: number, n: number, inner: number, out: Float32Array, outIdx: Int32Array): void

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

/** a[i] = a[i] op s. */
export declare function scalarInplace(op: number, a: Float32Array, s: number): void

/** Sets the number of threads parallel kernels use (1..=1024). */
export declare function setNumThreads(n: number): void

/** Softmax or log-softmax of each row of x [rows, cols]. */
export declare function softmax(x: Float32Array, rows: number, cols: number, log: boolean, out: Float32Array): void

/** Backward of softmax / log-softmax from its output y. */
export declare function softmaxBackward(y: Float32Array, dy: Float32Array, rows: number, cols: number, log: boolean, dx: Float32Array): void

/** out[i] = src[flatIdx[i]]. */
export declare function take(src: Float32Array, flatIdx: Int32Array, out: Float32Array): void

/** out[i] = op(x[i]). */
export declare function unary(op: number, x: Float32Array, out: Float32Array): void

/** dx[i] = dy[i]·op'(x[i]) using x and y = op(x). */
export declare function unaryBackward(op: number, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void
