// The n-dimensional tensor: a view (shape, strides, offset) over a JavaScript-owned typed array.
// Views share storage; the garbage collector frees it (no dispose/tidy). Methods are thin
// forwards to the op families in src/ops, so that every op keeps its checks, forward and
// backward in one place.
import type { AnyArray, FloatArray } from '../backend/backend.js';
import { contiguousStrides, numel, type Shape } from './shape.js';
import { alloc, dtypeOfArray, isFloat, type DType } from './dtype.js';
import type { GradFn } from '../autograd/engine.js';
import { runBackward } from '../autograd/engine.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { formatTensor } from './print.js';
import { TypedStorage, UntypedStorage, addressOf } from './storage.js';
import * as V from '../ops/views.js';
import * as U from '../ops/elementwise.js';
import * as B from '../ops/binary.js';
import * as R from '../ops/reduce.js';
import * as M from '../ops/matmul.js';
import * as I from '../ops/indexing.js';
import * as S from '../ops/softmax.js';
import * as H from '../ops/histogram.js';
import * as W from '../ops/where.js';

export type Scalar = number;
export type TensorOrScalar = Tensor | number;
export type NestedArray = number | boolean | NestedArray[];

let creationHook: ((t: Tensor) => void) | null = null;

/** Internal (compile): `hook` sees every tensor constructed until called again with null. */
export function _setTensorCreationHook(hook: ((t: Tensor) => void) | null): void {
  creationHook = hook;
}

export class Tensor {
  /** The storage this tensor views (shared with other views). */
  data: AnyArray;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Gradient accumulated by backward() (leaves, and intermediates that called retainGrad()). */
  grad: Tensor | null = null;
  /** The operation that produced this tensor, when it was recorded for autograd. */
  gradFn: GradFn | null = null;
  private _requiresGrad = false;
  private _retainsGrad = false;
  /** Optional name, shown when printing and in graph drawings. */
  name: string | undefined;
  /** Internal (autograd/engine.ts): the backward pass that last reached this tensor, and its
   *  position in that pass's topological order. */
  _bwPass = 0;
  _bwSlot = 0;

  /** The strides, or null for a tensor made without them: contiguous, strides computed on demand
   *  (most tensors are fresh outputs whose strides nothing reads). */
  private _strides: readonly number[] | null;
  /** isContiguous(), once known (true from the start for a tensor made without strides). */
  private _contiguous: boolean | undefined;

  constructor(data: AnyArray, shape: Shape, strides?: readonly number[], offset = 0) {
    this.data = data;
    this.shape = shape;
    this._strides = strides ?? null;
    this._contiguous = strides === undefined ? true : undefined;
    this.offset = offset;
    this.dtype = dtypeOfArray(data);
    if (creationHook !== null) creationHook(this);
  }

  /** Elements to step in storage per index of each dim (row-major for a contiguous tensor). */
  get strides(): readonly number[] {
    if (this._strides === null) this._strides = contiguousStrides(this.shape);
    return this._strides;
  }

  // ---- properties -------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(on: boolean) {
    if (on && !isFloat(this.dtype)) {
      throw new Error(`requiresGrad: only floating point tensors can require gradients (got dtype ${this.dtype})`);
    }
    if (!on && this.gradFn !== null) {
      throw new Error(
        'requiresGrad: you can only change requiresGrad of leaf tensors; use detach() to get a tensor that does not require grad',
      );
    }
    this._requiresGrad = on;
  }

  /** In-place setter returning this, like torch's requires_grad_(). */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  get retainsGrad(): boolean {
    return this._retainsGrad;
  }

  /** Keep .grad for this non-leaf tensor after backward (as torch's retain_grad). */
  retainGrad(): this {
    if (!this._requiresGrad) {
      throw new Error("retainGrad: can't retain the gradient of a tensor that does not require grad");
    }
    if (this.gradFn !== null) this._retainsGrad = true;
    return this;
  }

  /** Used by ops to record how this tensor was made. */
  _setGradFn(fn: GradFn): this {
    this._requiresGrad = true;
    this.gradFn = fn;
    return this;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get ndim(): number {
    return this.shape.length;
  }

  dim(): number {
    return this.shape.length;
  }

  numel(): number {
    return numel(this.shape);
  }

  /** size() is the shape; size(d) one dimension (negative d counts from the end). */
  size(): number[];
  size(d: number): number;
  size(d?: number): number[] | number {
    if (d === undefined) return [...this.shape];
    return this.shape[V.normDimFor('size', this, d)];
  }

  /** The shared one-dimensional storage this tensor views (torch's storage()): views such as
   *  view(9, 2) of arange(18) show the same 18 elements, in the same order. */
  storage(): TypedStorage {
    return new TypedStorage(this.data);
  }

  /** The storage's bytes (torch's untyped_storage()); its dataPtr() is equal for all views of it. */
  untypedStorage(): UntypedStorage {
    return new UntypedStorage(this.data);
  }

  /** Index of this tensor's first element in its storage (torch's storage_offset()). */
  storageOffset(): number {
    return this.offset;
  }

  /** Address-like identity of the first element, as torch's data_ptr(): storage + offset · itemsize. */
  dataPtr(): number {
    return addressOf(this.data) + this.offset * this.data.BYTES_PER_ELEMENT;
  }

  isContiguous(): boolean {
    if (this._contiguous === undefined) {
      // Shape and strides never change, so the answer is computed once.
      const strides = this.strides;
      let expected = 1;
      let contiguous = true;
      for (let i = this.shape.length - 1; i >= 0; i--) {
        if (this.shape[i] !== 1 && strides[i] !== expected) {
          contiguous = false;
          break;
        }
        expected *= this.shape[i];
      }
      this._contiguous = contiguous;
    }
    return this._contiguous;
  }

  // ---- reading values ---------------------------------------------------------------------

  /** The value of a one-element tensor as a JS number. */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(`item: a Tensor with ${this.numel()} elements cannot be converted to a number (shape ${JSON.stringify(this.shape)})`);
    }
    return this.data[this.offset];
  }

  /** The elements in row-major order, as a fresh contiguous typed array of this dtype. */
  toArray(): AnyArray {
    return this.contiguous().flat().slice();
  }

  /** Nested JS arrays (a number for a 0-d tensor), as torch's tolist(). */
  tolist(): NestedArray {
    const flatData = this.contiguous().flat();
    const shape = this.shape;
    if (shape.length === 0) return flatData[0];
    const build = (d: number, off: number): NestedArray[] => {
      const out: NestedArray[] = [];
      const step = numel(shape.slice(d + 1));
      for (let i = 0; i < shape[d]; i++) {
        out.push(d === shape.length - 1 ? flatData[off + i] : build(d + 1, off + i * step));
      }
      return out;
    };
    return build(0, 0);
  }

  /** The contiguous storage segment of a contiguous tensor (a subarray when offset/size differ).
   *  Callers that write into it write into the tensor. */
  flat(): AnyArray {
    if (!this.isContiguous()) throw new Error('flat: tensor is not contiguous (call contiguous() first)');
    const n = this.numel();
    if (this.offset === 0 && this.data.length === n) return this.data;
    return this.data.subarray(this.offset, this.offset + n);
  }

  /** flat() for a float tensor. */
  flatFloat(): FloatArray {
    return this.flat() as FloatArray;
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return formatTensor(this);
  }

  // ---- autograd -------------------------------------------------------------------------

  /** Backpropagate from this tensor. Without `gradient` the tensor must hold one element
   *  (the gradient is 1), as in PyTorch. */
  backward(gradient?: Tensor): void {
    if (!this._requiresGrad) {
      throw new Error('backward: element 0 of tensors does not require grad and does not have a grad_fn');
    }
    let g: Tensor;
    if (gradient === undefined) {
      if (this.numel() !== 1) {
        throw new Error(
          `backward: grad can be implicitly created only for scalar outputs (this tensor has shape ${JSON.stringify(this.shape)}); pass a gradient of the same shape`,
        );
      }
      g = new Tensor(alloc(this.dtype, 1).fill(1), this.shape);
    } else {
      if (!(gradient instanceof Tensor)) throw new Error('backward: gradient must be a Tensor');
      if (gradient.shape.length !== this.shape.length || gradient.shape.some((s, i) => s !== this.shape[i])) {
        throw new Error(
          `backward: mismatch in shape: grad_output has a shape of ${JSON.stringify(gradient.shape)} and output has a shape of ${JSON.stringify(this.shape)}`,
        );
      }
      g = gradient.dtype === this.dtype ? gradient : gradient.to(this.dtype);
    }
    runBackward(this, g);
  }

  /** A view of the same storage that is cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this._strides ?? undefined, this.offset);
  }

  // ---- views and copies (src/ops/views.ts) ---------------------------------------------
  view(...shape: (number | number[])[]): Tensor { return V.view(this, V.shapeArgs(shape)); }
  reshape(...shape: (number | number[])[]): Tensor { return V.reshape(this, V.shapeArgs(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return V.flatten(this, startDim, endDim); }
  transpose(d0: number, d1: number): Tensor { return V.transpose(this, d0, d1); }
  permute(...dims: (number | number[])[]): Tensor { return V.permute(this, V.shapeArgs(dims)); }
  get T(): Tensor { return V.matrixT(this); }
  squeeze(dim?: number): Tensor { return V.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return V.unsqueeze(this, dim); }
  expand(...shape: (number | number[])[]): Tensor { return V.expand(this, V.shapeArgs(shape)); }
  /** Python-style slice along one dim: start/end may be negative or omitted; step > 0. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor { return V.slice(this, dim, start, end, step); }
  narrow(dim: number, start: number, length: number): Tensor { return V.slice(this, dim, start, start + length, 1); }
  /** Select index i along dim, removing that dim (t[i] in PyTorch for dim 0). */
  select(dim: number, index: number): Tensor { return V.select(this, dim, index); }
  contiguous(): Tensor { return this.isContiguous() ? this : V.contiguousCopy(this); }
  clone(): Tensor { return V.clone(this); }
  to(dtype: DType): Tensor { return V.toDtype(this, dtype); }
  float(): Tensor { return V.toDtype(this, 'float32'); }
  double(): Tensor { return V.toDtype(this, 'float64'); }
  int(): Tensor { return V.toDtype(this, 'int32'); }

  // ---- elementwise (src/ops/elementwise.ts, src/ops/binary.ts) ---------------------------
  neg(): Tensor { return U.neg(this); }
  exp(): Tensor { return U.exp(this); }
  log(): Tensor { return U.log(this); }
  tanh(): Tensor { return U.tanh(this); }
  relu(): Tensor { return U.relu(this); }
  sqrt(): Tensor { return U.sqrt(this); }
  abs(): Tensor { return U.abs(this); }
  sigmoid(): Tensor { return U.sigmoid(this); }
  square(): Tensor { return U.square(this); }
  sign(): Tensor { return U.sign(this); }
  add(other: TensorOrScalar, alpha?: number): Tensor { return B.add(this, other, alpha); }
  sub(other: TensorOrScalar, alpha?: number): Tensor { return B.sub(this, other, alpha); }
  mul(other: TensorOrScalar): Tensor { return B.mul(this, other); }
  div(other: TensorOrScalar): Tensor { return B.div(this, other); }
  pow(exponent: TensorOrScalar): Tensor { return B.pow(this, exponent); }
  /** other - this (number operands on the left, as Python's __rsub__). */
  rsub(other: TensorOrScalar): Tensor { return B.sub(B.asTensor(other, this), this); }
  /** other / this. */
  rdiv(other: TensorOrScalar): Tensor { return B.div(B.asTensor(other, this), this); }
  maximum(other: TensorOrScalar): Tensor { return B.maximum(this, other); }
  minimum(other: TensorOrScalar): Tensor { return B.minimum(this, other); }
  clamp(min?: number, max?: number): Tensor { return B.clamp(this, min, max); }
  eq(other: TensorOrScalar): Tensor { return B.compare('eq', this, other); }
  ne(other: TensorOrScalar): Tensor { return B.compare('ne', this, other); }
  lt(other: TensorOrScalar): Tensor { return B.compare('lt', this, other); }
  le(other: TensorOrScalar): Tensor { return B.compare('le', this, other); }
  gt(other: TensorOrScalar): Tensor { return B.compare('gt', this, other); }
  ge(other: TensorOrScalar): Tensor { return B.compare('ge', this, other); }

  // ---- in place (optimizer steps; refused on leaves that require grad while recording) ----
  add_(other: TensorOrScalar, alpha?: number): this { B.inplace('add_', this, other, alpha); return this; }
  sub_(other: TensorOrScalar, alpha?: number): this { B.inplace('sub_', this, other, alpha); return this; }
  mul_(other: TensorOrScalar): this { B.inplace('mul_', this, other); return this; }
  div_(other: TensorOrScalar): this { B.inplace('div_', this, other); return this; }
  zero_(): this { B.fill_(this, 0, 'zero_'); return this; }
  fill_(value: number): this { B.fill_(this, value, 'fill_'); return this; }
  copy_(src: Tensor): this { B.copy_(this, src); return this; }

  // ---- reductions (src/ops/reduce.ts) ----------------------------------------------------
  sum(dim?: number | number[], keepdim = false): Tensor { return R.sum(this, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return R.mean(this, dim, keepdim); }
  /** max() over everything, or max(dim) → values (use maxWithIndices for the indices too). */
  max(dim?: number, keepdim = false): Tensor { return R.maxMin('max', this, dim, keepdim).values; }
  min(dim?: number, keepdim = false): Tensor { return R.maxMin('min', this, dim, keepdim).values; }
  maxWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } { return R.maxMin('max', this, dim, keepdim); }
  minWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } { return R.maxMin('min', this, dim, keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return R.argMaxMin('argmax', this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return R.argMaxMin('argmin', this, dim, keepdim); }
  /** Variance; unbiased (Bessel's correction) by default, as torch.var. */
  var(dim?: number | number[], opts: { keepdim?: boolean; unbiased?: boolean; correction?: number } = {}): Tensor {
    return R.variance(this, dim, opts);
  }
  std(dim?: number | number[], opts: { keepdim?: boolean; unbiased?: boolean; correction?: number } = {}): Tensor {
    return R.std(this, dim, opts);
  }

  // ---- linear algebra, indexing, softmax -------------------------------------------------
  matmul(other: Tensor): Tensor { return M.matmul(this, other); }
  /** Integer-array indexing: t.index(ix) gathers along dim 0 for an int tensor ix of any shape
   *  (embedding lookup C[X]); t.index([i0, i1, ...]) pairs index tensors over the leading dims
   *  (probs[arange(n), Y]); numbers select, null keeps a dim. */
  index(indices: I.IndexArg | I.IndexArg[]): Tensor { return I.index(this, indices); }
  softmax(dim = -1): Tensor { return S.softmax(this, dim, false); }
  logSoftmax(dim = -1): Tensor { return S.softmax(this, dim, true); }
  histogram(opts?: H.HistogramOptions): H.Histogram { return H.histogram(this, opts); }
  /** value where mask is nonzero, this elsewhere (torch's masked_fill; the mask broadcasts). */
  maskedFill(mask: Tensor, value: number): Tensor { return W.maskedFill(this, mask, value); }
  /** this where condition is nonzero, other elsewhere (torch's Tensor.where). */
  where(condition: Tensor, other: TensorOrScalar): Tensor { return W.where(condition, this, other); }

  /** Internal: whether results of an op on these inputs should be recorded. */
  static needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
    if (!isGradEnabled()) return false;
    for (const t of inputs) if (t && t._requiresGrad) return true;
    return false;
  }
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
