// The narrow boundary between the tensor library and the loops that do the arithmetic: this file
// declares every kernel once (the Backend interface below), and both sides derive from it.
//
// How to add a kernel (say `foo`):
//   1. Rust: write the loop in crates/kernels (plain slices, with a cargo test), and add its checked
//      export `"foo" |k| fn foo(...)` to the `kernels!` block in crates/node/src/ops.rs (validate
//      every argument with the Checker `k`, then call the kernel). That one definition is also the
//      fast N-API entry point (crates/node/src/fast.rs needs no change).
//   2. Declare `foo` here, on Backend, with its semantics in the doc comment; op codes, if any,
//      go in the enums below and in the Rust enums (a cargo test checks they agree).
//   3. Write the reference twin in reference.ts (plain float64 loops, the same argument checks).
//   4. `npm run build:native` regenerates native/index.d.ts; `npm run typecheck` then checks that
//      the Rust export and this declaration agree (names, argument counts and types; native.ts),
//      and native.ts needs no change: the addon's functions become nativeBackend's methods.
//   5. Tests: backend-conformance (native vs reference on random shapes), native-errors (messages),
//      backend-reference (the reference on hand-computed cases), and a generator of valid calls in
//      __test__/native-fuzz.child.ts (native-fuzz fails for an export that has none).
//
// Everything here works on flat typed arrays owned by JavaScript. Kernels never allocate their
// outputs: the caller passes `out` arrays of the right length, and kernels overwrite them (or add
// into them where a method says so). Two implementations exist:
//   - `native`    (src/backend/native.ts): the Rust addon, float32 only, SIMD + rayon;
//   - `reference` (src/backend/reference.ts): plain TypeScript loops in float64, obviously right.
// Tensors of dtype float64 always run on `reference` (the addon has no f64 kernels); float32
// tensors run on whichever backend is selected (native by default when the addon loads).
//
// Shapes, strides and offsets are element counts (not bytes). A stride of 0 broadcasts.
// The tensor layer validates every argument before calling a kernel and reports errors with
// PyTorch-quality messages; kernels re-check lengths and throw on anything out of bounds.

export type FloatArray = Float32Array | Float64Array;
export type IndexArray = Int32Array;
export type AnyArray = FloatArray | IndexArray;

/** Elementwise unary operations. Numeric codes cross the native boundary unchanged; the Rust enums
 *  (crates/kernels/src/elementwise.rs, reduce.rs) are the source and crates/kernels/tests/op_codes.rs
 *  checks that these three enums spell them identically. */
export enum UnaryOp {
  Neg = 0,
  Exp = 1,
  Log = 2,
  Tanh = 3,
  Relu = 4,
  Sqrt = 5,
  Abs = 6,
  Sigmoid = 7,
  Square = 8,
  Sign = 9,
}

/** Elementwise binary operations. Comparisons produce 1.0 (true) or 0.0 (false). */
export enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  Pow = 4,
  Max = 5,
  Min = 6,
  Eq = 7,
  Ne = 8,
  Lt = 9,
  Le = 10,
  Gt = 11,
  Ge = 12,
}

/** The extreme reductions of reduceArg (sums have their own kernel, `sum`). */
export enum ReduceOp {
  Max = 0,
  Min = 1,
}

export interface Backend {
  readonly name: 'native' | 'reference';

  /** Strided copy: dst[dstOff + Σ i_k·dstStrides_k] = src[srcOff + Σ i_k·srcStrides_k] over `shape`.
   *  Used by contiguous(), cat, stack, slicing assignment. src and dst are distinct arrays. */
  copy(
    src: AnyArray, srcOff: number, srcStrides: number[],
    dst: AnyArray, dstOff: number, dstStrides: number[],
    shape: number[],
  ): void;

  /** out[i] = op(x[i]) for i < out.length; x and out contiguous, same length.
   *  Sign gives 1, -1, or +0 for both zeros (as torch.sign); NaN stays NaN (torch gives 0). */
  unary(op: UnaryOp, x: FloatArray, out: FloatArray): void;

  /** The backward of a unary op: dx[i] = dy[i] · op'(x[i]) expressed with x (input) and y (output).
   *  Neg: -dy; Exp: dy·y; Log: dy/x; Tanh: dy·(1-y²); Relu: x>0 ? dy : 0; Sqrt: dy·0.5/y;
   *  Abs: dy·sign(x); Sigmoid: dy·y·(1-y); Square: 2·x·dy; Sign: 0. dx is overwritten. */
  unaryBackward(op: UnaryOp, x: FloatArray, y: FloatArray, dy: FloatArray, dx: FloatArray): void;

  /** Broadcasting binary op into a contiguous `out` of `shape`:
   *  out[i] = a[aOff + Σ i_k·aStrides_k] op b[bOff + Σ i_k·bStrides_k]. Strides have shape's rank. */
  binary(
    op: BinaryOp,
    a: FloatArray, aOff: number, aStrides: number[],
    b: FloatArray, bOff: number, bStrides: number[],
    out: FloatArray, shape: number[],
  ): void;

  /** out[i] = x[i] op s (or s op x[i] when `reversed`); x and out contiguous, same length. */
  binaryScalar(op: BinaryOp, x: FloatArray, s: number, reversed: boolean, out: FloatArray): void;

  /** In place, a[aOff + Σ i_k·aStrides_k] = a[...] op b[bOff + Σ i_k·bStrides_k] over `shape`
   *  (b broadcast by 0 strides). a and b are distinct arrays. */
  binaryInplace(
    op: BinaryOp,
    a: FloatArray, aOff: number, aStrides: number[],
    b: FloatArray, bOff: number, bStrides: number[],
    shape: number[],
  ): void;

  /** In place, a[i] = a[i] op s for contiguous a. */
  scalarInplace(op: BinaryOp, a: FloatArray, s: number): void;

  /** y[i] += alpha · x[i]; contiguous, same length. Gradient accumulation and SGD. */
  axpy(alpha: number, x: FloatArray, y: FloatArray): void;

  /** One Adam/AdamW step over a parameter, in place, in torch.optim's float32 operation order
   *  (src/optim/adam.ts computes the scalars). Per element, with r() rounding to the arrays'
   *  precision after every operation, and each `a + b·c` rounded once (a fused multiply-add):
   *    p = r(p·decay) (decay = 1 - lr·weightDecay for AdamW, else 1); g = maximize ? -grad : grad;
   *    if l2 != 0: g = g + l2·p;  m = weight < 0.5 ? m + weight·(g - m) : g - (g - m)·(1 - weight);
   *    v = r(v·beta2) + (oneMinusBeta2·g)·g;  u = maxExpAvgSq ? (maxExpAvgSq = max(maxExpAvgSq, v), NaN wins) : v;
   *    p = p + (negStepSize·m) / (sqrt(u) / bc2Sqrt + eps).
   *  param, expAvg, expAvgSq (and maxExpAvgSq) are updated; all have grad's length and are distinct. */
  adamStep(
    param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, maxExpAvgSq: FloatArray | null,
    decay: number, l2: number, weight: number, beta2: number, oneMinusBeta2: number,
    negStepSize: number, bc2Sqrt: number, eps: number, maximize: boolean,
  ): void;

  /** One SGD step over a parameter, in place, in torch.optim's float32 operation order. Per element
   *  (r() as for adamStep; `a ⊕ b·c` is one rounding when `fused`, else the product is rounded first,
   *  as the lectures' `p.data += -lr * p.grad`):
   *    g = maximize ? -grad : grad;  if weightDecay != 0: g = g ⊕ weightDecay·p;
   *    with a momentumBuffer b: b = first ? g : r(b·momentum) ⊕ keep·g, then g = nesterov ? g ⊕ momentum·b : b;
   *    p = p ⊕ negLr·g.  (keep = 1 - dampening; `first`: torch's first step, which sets the buffer.) */
  sgdStep(
    param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray | null, first: boolean,
    negLr: number, weightDecay: number, momentum: number, keep: number,
    nesterov: boolean, maximize: boolean, fused: boolean,
  ): void;

  /** Sum of x viewed as [outer, n, inner] over the middle axis into out [outer, inner].
   *  Computed in fixed-size chunks combined in index order (same bits with any thread count).
   *  With n = 0 the sums are 0. */
  sum(x: FloatArray, outer: number, n: number, inner: number, out: FloatArray): void;

  /** Max or min of x viewed as [outer, n, inner] over the middle axis into out [outer, inner],
   *  and into outIdx the index (0..n-1) of the first extreme element; NaN counts as the extreme
   *  (as torch.max). n = 0 is refused unless the output is empty. */
  reduceArg(
    op: ReduceOp.Max | ReduceOp.Min, x: FloatArray, outer: number, n: number, inner: number,
    out: FloatArray, outIdx: IndexArray,
  ): void;

  /** The backward of reduceArg: dx, viewed as [outer, n, inner], is overwritten with zeros except
   *  dx[o, idx[o, j], j] = g[o, j] (each gradient goes to the position that won). Every idx must
   *  be in [0, n). */
  reduceArgBackward(g: FloatArray, outer: number, n: number, inner: number, idx: IndexArray, dx: FloatArray): void;

  /** Elementwise selection into a contiguous `out` of `shape` (torch.where):
   *  out[i] = cond[cOff + Σ i_k·condStrides_k] != 0 ? a[...] : b[...] (NaN counts as true), with
   *  broadcasting strides as `binary`. When `mask` is given (contiguous, shape's size) it receives
   *  1 where the condition held and 0 elsewhere: what whereBackward reads. */
  where(
    cond: FloatArray | IndexArray, condOff: number, condStrides: number[],
    a: FloatArray, aOff: number, aStrides: number[],
    b: FloatArray, bOff: number, bStrides: number[],
    out: FloatArray, shape: number[], mask: FloatArray | null,
  ): void;

  /** The backward of where from its mask: ga[i] = mask[i] != 0 ? g[i] : 0, gb[i] = mask[i] != 0 ? 0 : g[i].
   *  Either output may be null (not needed); both are overwritten. */
  whereBackward(mask: FloatArray, g: FloatArray, ga: FloatArray | null, gb: FloatArray | null): void;

  /** out[i] = gelu(x[i]): x·Φ(x), or with `tanh` 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); each
   *  element computed in float64 and rounded once (src/backend/gelu-math.ts). */
  gelu(x: FloatArray, tanh: boolean, out: FloatArray): void;

  /** dx[i] = dy[i] · gelu'(x[i]) (the closed-form derivative), in float64, rounded once. */
  geluBackward(x: FloatArray, dy: FloatArray, tanh: boolean, dx: FloatArray): void;

  /** Batched matrix product, row-major contiguous matrices:
   *  out[b] = op(A[b]) @ op(B[b]), op(A) is m×k, op(B) is k×n, out[b] is m×n (overwritten).
   *  With transA, A[b] is stored k×m (row-major); with transB, B[b] is stored n×k.
   *  A[b] starts at aOff + b·aBatchStride, B[b] at bOff + b·bBatchStride (0 broadcasts), out[b] at b·m·n. */
  matmul(
    a: FloatArray, aOff: number, aBatchStride: number, transA: boolean,
    b: FloatArray, bOff: number, bBatchStride: number, transB: boolean,
    out: FloatArray, batch: number, m: number, k: number, n: number,
  ): void;

  /** Row gather (embedding lookup): out[i, :] = src[idx[i], :], rows of `rowSize` elements.
   *  Every idx[i] must be in [0, numRows) where numRows = src.length / rowSize. */
  indexSelect(src: FloatArray, rowSize: number, idx: IndexArray, out: FloatArray): void;

  /** Row scatter-add (embedding backward): dst[idx[i], :] += src[i, :]. Deterministic order. */
  indexAdd(src: FloatArray, rowSize: number, idx: IndexArray, dst: FloatArray): void;

  /** Flat scatter-add: dst[flatIdx[i]] += src[i], in index order. */
  putAdd(src: FloatArray, flatIdx: IndexArray, dst: FloatArray): void;

  /** Softmax (or log-softmax when `log`) over the last axis of x viewed as [rows, cols]. Stable (max-shifted). */
  softmax(x: FloatArray, rows: number, cols: number, log: boolean, out: FloatArray): void;

  /** Backward of softmax from its output y: dx = y·(dy - Σ dy·y); log-softmax: dx = dy - exp(y)·Σ dy. */
  softmaxBackward(y: FloatArray, dy: FloatArray, rows: number, cols: number, log: boolean, dx: FloatArray): void;

  /** Fused softmax + negative log-likelihood over [rows, cols] logits and int targets.
   *  Writes the softmax probabilities into `probs` (saved for backward) and returns Σ over the rows
   *  whose target != ignoreIndex of -log softmax(logits)[row, target]. Targets other than
   *  ignoreIndex must lie in [0, cols). */
  crossEntropyForward(
    logits: FloatArray, rows: number, cols: number, targets: IndexArray, ignoreIndex: number,
    probs: FloatArray,
  ): number;

  /** dx[r, c] = scale · (probs[r, c] - [c == target[r]]), and 0 for rows whose target is ignoreIndex. */
  crossEntropyBackward(
    probs: FloatArray, rows: number, cols: number, targets: IndexArray, ignoreIndex: number,
    scale: number, dx: FloatArray,
  ): void;

  /** Batch normalisation of x [n, c] over its rows, per column (channel).
   *  training: mean/var from the batch (var with `correction`: 0 biased, 1 unbiased), written to
   *    meanOut/varOut; the normalisation uses that var.
   *  !training: uses meanOut/varOut as given (running statistics), and leaves them unchanged.
   *  out = gamma · (x - mean) · invstd + beta with invstd = 1/sqrt(var + eps); invstdOut receives invstd.
   *  gamma/beta may be null (identity affine). eps must be finite, > 0 when training and >= 0 in
   *  eval mode (as torch.nn.functional.batch_norm). */
  batchNormForward(
    x: FloatArray, n: number, c: number, gamma: FloatArray | null, beta: FloatArray | null,
    eps: number, correction: number, training: boolean,
    out: FloatArray, meanOut: FloatArray, varOut: FloatArray, invstdOut: FloatArray,
  ): void;

  /** Closed-form backward of training-mode batchNormForward (the "backprop ninja" formula):
   *  xhat = (x - mean)·invstd,
   *  dx = gamma·invstd/n · (n·dy - Σ_rows dy - n/(n - correction) · xhat · Σ_rows dy·xhat),
   *  dgamma = Σ_rows dy·xhat, dbeta = Σ_rows dy. Any of dx/dgamma/dbeta may be null (not needed);
   *  all are overwritten. gamma null means 1. */
  batchNormBackward(
    x: FloatArray, dy: FloatArray, n: number, c: number, mean: FloatArray, invstd: FloatArray,
    gamma: FloatArray | null, correction: number,
    dx: FloatArray | null, dgamma: FloatArray | null, dbeta: FloatArray | null,
  ): void;

  /** 1-D convolution (cross-correlation, as torch.nn.functional.conv1d), stride 1:
   *  x [batch, cin, tin], w [cout, cin, k], bias [cout] or null, out [batch, cout, tout] with
   *  tout = tin + padLeft - dilation·(k-1) (positions before the start read as 0: causal padding
   *  when padLeft = dilation·(k-1)).
   *  out[b, o, t] = bias[o] + Σ_{i,j} w[o, i, j] · x[b, i, t - padLeft + j·dilation]. */
  conv1dForward(
    x: FloatArray, batch: number, cin: number, tin: number,
    w: FloatArray, cout: number, k: number, dilation: number, padLeft: number,
    bias: FloatArray | null, out: FloatArray, tout: number,
  ): void;

  /** Backward of conv1dForward: dx [batch, cin, tin] and dw [cout, cin, k] are overwritten (either
   *  may be null). The bias gradient is Σ dy over batch and time, computed by the caller. */
  conv1dBackward(
    x: FloatArray, batch: number, cin: number, tin: number,
    w: FloatArray, cout: number, k: number, dilation: number, padLeft: number,
    dy: FloatArray, tout: number, dx: FloatArray | null, dw: FloatArray | null,
  ): void;

  /** Number of worker threads used by the parallel kernels (native: rayon pool; reference: 1). */
  setNumThreads(n: number): void;
  getNumThreads(): number;
}
