// Shape ops. view/transpose/permute/squeeze/unsqueeze/expand/slice/select share storage with
// their input (as in PyTorch); reshape, contiguous, clone and dtype conversion may copy.
import { Tensor } from '../tensor/tensor.js';
import { contiguousStrides, fmtShape, normDim, numel, checkShape, sameShape } from '../tensor/shape.js';
import { alloc, allocUninit, type DType, isFloat, checkDtype } from '../tensor/dtype.js';
import { backendFor } from '../backend/index.js';
import { record } from './record.js';
import { runHostWork } from '../compile/host-work.js';

/** Accept shape arguments as varargs (view(32, -1)) or one array (view([32, -1])). The result may
 *  be the caller's array: the ops that keep a shape copy it (inferShape, expand, permute). */
export function shapeArgs(args: (number | number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return args[0];
  return args as number[];
}

export function normDimFor(op: string, t: Tensor, d: number): number {
  return normDim(op, d, t.shape.length);
}

/** Resolve a single -1 and check the element count, as torch's infer_size. */
export function inferShape(op: string, t: Tensor, shape: readonly number[]): number[] {
  const n = t.numel();
  let inferred = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (s === -1) {
      if (inferred >= 0) throw new Error(`${op}: only one dimension can be inferred (shape ${fmtShape(shape)})`);
      inferred = i;
    } else if (!Number.isInteger(s) || s < 0) {
      throw new Error(`${op}: invalid shape dimension ${s} in ${fmtShape(shape)}`);
    } else known *= s;
  }
  const out = [...shape];
  if (inferred >= 0) {
    if (known === 0 || n % known !== 0) {
      throw new Error(`${op}: shape ${fmtShape(shape)} is invalid for input of size ${n}`);
    }
    out[inferred] = n / known;
  } else if (known !== n) {
    throw new Error(`${op}: shape ${fmtShape(shape)} is invalid for input of size ${n}`);
  }
  return out;
}

/** Strides for viewing (shape, strides) as newShape without copying, or null if impossible
 *  (the algorithm of ATen's computeStride: chunks of contiguous dims may be split/merged). */
function viewStrides(shape: readonly number[], strides: readonly number[], newShape: number[]): number[] | null {
  if (numel(shape) === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length).fill(0);
  let viewD = newShape.length - 1;
  let chunkBase = strides.length > 0 ? strides[strides.length - 1] : 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

export function view(t: Tensor, shape: readonly number[]): Tensor {
  const newShape = inferShape('view', t, shape);
  // A contiguous input gives a contiguous view: its strides are left to be computed on demand.
  const strides = t.isContiguous() ? undefined : viewStrides(t.shape, t.strides, newShape);
  if (strides === null) {
    throw new Error(
      `view: size ${fmtShape(newShape)} is not compatible with input tensor's size ${fmtShape(t.shape)} and stride ${fmtShape(t.strides)} ` +
        '(at least one dimension spans across two contiguous subspaces); use reshape() instead',
    );
  }
  const out = new Tensor(t.data, newShape, strides, t.offset);
  const inShape = t.shape;
  return record(out, 'ViewBackward', [t], (g) => [reshape(g, inShape)], []);
}

export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  const newShape = inferShape('reshape', t, shape);
  const strides = t.isContiguous() ? undefined : viewStrides(t.shape, t.strides, newShape);
  if (strides !== null) {
    const out = new Tensor(t.data, newShape, strides, t.offset);
    const inShape = t.shape;
    return record(out, 'ReshapeBackward', [t], (g) => [reshape(g, inShape)], []);
  }
  return view(contiguousCopy(t), newShape);
}

export function flatten(t: Tensor, startDim: number, endDim: number): Tensor {
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normDim('flatten', startDim, t.ndim);
  const e = normDim('flatten', endDim, t.ndim);
  if (s > e) throw new Error(`flatten: startDim (${startDim}) cannot come after endDim (${endDim})`);
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

export function permute(t: Tensor, dims: number[]): Tensor {
  if (dims.length !== t.ndim) {
    throw new Error(`permute: number of dims don't match (input has ${t.ndim} dims, permutation ${fmtShape(dims)} has ${dims.length})`);
  }
  const nd = dims.map((d) => normDim('permute', d, t.ndim));
  if (new Set(nd).size !== nd.length) throw new Error(`permute: repeated dim in permutation ${fmtShape(dims)}`);
  const out = new Tensor(t.data, nd.map((d) => t.shape[d]), nd.map((d) => t.strides[d]), t.offset);
  const inverse = new Array<number>(nd.length);
  nd.forEach((d, i) => (inverse[d] = i));
  return record(out, 'PermuteBackward', [t], (g) => [permute(g, inverse)], []);
}

export function transpose(t: Tensor, d0: number, d1: number): Tensor {
  if (t.ndim === 0) return t;
  const a = normDim('transpose', d0, t.ndim);
  const b = normDim('transpose', d1, t.ndim);
  const dims = [...Array(t.ndim).keys()];
  dims[a] = b;
  dims[b] = a;
  return permute(t, dims);
}

/** t.T: reverses the dims of a 0-2 d tensor (PyTorch deprecates .T on more dims; we refuse). */
export function matrixT(t: Tensor): Tensor {
  if (t.ndim > 2) throw new Error(`T: expected a tensor with 2 or fewer dimensions, got shape ${fmtShape(t.shape)}; use transpose(d0, d1) or permute`);
  return t.ndim < 2 ? t : transpose(t, 0, 1);
}

export function squeeze(t: Tensor, dim?: number): Tensor {
  let keep: number[];
  if (dim === undefined) keep = t.shape.map((_, i) => i).filter((i) => t.shape[i] !== 1);
  else {
    const d = normDim('squeeze', dim, t.ndim);
    keep = t.shape.map((_, i) => i).filter((i) => i !== d || t.shape[i] !== 1);
  }
  const out = new Tensor(t.data, keep.map((i) => t.shape[i]), keep.map((i) => t.strides[i]), t.offset);
  const inShape = [...t.shape];
  return record(out, 'SqueezeBackward', [t], (g) => [g.reshape(inShape)], []);
}

export function unsqueeze(t: Tensor, dim: number): Tensor {
  const d = normDim('unsqueeze', dim, t.ndim + 1);
  const shape = [...t.shape];
  const strides = [...t.strides];
  const stride = d < t.ndim ? t.strides[d] * t.shape[d] : 1;
  shape.splice(d, 0, 1);
  strides.splice(d, 0, stride);
  const out = new Tensor(t.data, shape, strides, t.offset);
  return record(out, 'UnsqueezeBackward', [t], (g) => [squeeze(g, d)], []);
}

export function expand(t: Tensor, shape: number[]): Tensor {
  if (shape.length < t.ndim) {
    throw new Error(`expand: the number of sizes provided (${shape.length}) must be greater or equal to the number of dimensions in the tensor (${t.ndim})`);
  }
  const lead = shape.length - t.ndim;
  const outShape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i];
    if (i < lead) {
      if (want < 0) throw new Error(`expand: -1 is not allowed in a leading, non-existing dimension (shape ${fmtShape(shape)})`);
      outShape.push(want);
      strides.push(0);
      continue;
    }
    const have = t.shape[i - lead];
    if (want === -1 || want === have) {
      outShape.push(have);
      strides.push(t.strides[i - lead]);
    } else if (have === 1) {
      outShape.push(want);
      strides.push(0);
    } else {
      throw new Error(
        `expand: the expanded size of the tensor (${want}) must match the existing size (${have}) at non-singleton dimension ${i}. Target sizes: ${fmtShape(shape)}. Tensor sizes: ${fmtShape(t.shape)}`,
      );
    }
  }
  checkShape('expand', outShape);
  const out = new Tensor(t.data, outShape, strides, t.offset);
  // The engine sums the gradient back to t's shape.
  return record(out, 'ExpandBackward', [t], (g) => [g], []);
}

export function slice(t: Tensor, dim: number, start: number | undefined, end: number | undefined, step: number): Tensor {
  const d = normDim('slice', dim, t.ndim);
  const size = t.shape[d];
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const clampIdx = (v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v)) throw new Error(`slice: indices must be integers, got ${v}`);
    const x = v < 0 ? v + size : v;
    return Math.min(Math.max(x, 0), size);
  };
  const s = clampIdx(start, 0);
  const e = Math.max(clampIdx(end, size), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...t.shape];
  const strides = [...t.strides];
  shape[d] = len;
  strides[d] = t.strides[d] * step;
  const out = new Tensor(t.data, shape, strides, t.offset + s * t.strides[d]);
  const inShape = [...t.shape];
  return record(out, 'SliceBackward', [t], (g) => {
    const full = zerosLikeShape(g.dtype, inShape);
    const target = slice(full, d, s, e, step);
    copyInto(target, g);
    return [full];
  }, []);
}

export function select(t: Tensor, dim: number, index: number): Tensor {
  if (t.ndim === 0) throw new Error('select: cannot be applied to a 0-dim tensor');
  const d = normDim('select', dim, t.ndim);
  const size = t.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new Error(`select: index ${index} is out of bounds for dimension ${d} with size ${size}`);
  }
  const i = index < 0 ? index + size : index;
  return squeeze(slice(t, d, i, i + 1, 1), d);
}

function zerosLikeShape(dtype: DType, shape: number[]): Tensor {
  return new Tensor(alloc(dtype, numel(shape)), shape);
}

/** Copy src's elements into dst (same shape; dst may be a strided view). No autograd. */
export function copyInto(dst: Tensor, src: Tensor): void {
  if (!sameShape(dst.shape, src.shape)) {
    throw new Error(`copy_: shapes ${fmtShape(dst.shape)} and ${fmtShape(src.shape)} differ`);
  }
  if (dst.numel() === 0) return;
  let s = src;
  if (s.dtype !== dst.dtype) s = convert(s, dst.dtype);
  if (s.data === dst.data) s = contiguousCopy(s.detach());
  backendFor(dst.dtype).copy(s.data, s.offset, [...s.strides], dst.data, dst.offset, [...dst.strides], [...dst.shape]);
}

/** A contiguous copy of t's elements (no graph). */
function rawContiguous(t: Tensor): Tensor {
  const out = new Tensor(allocUninit(t.dtype, t.numel()), [...t.shape]); // the copy writes every element
  if (t.numel() > 0) {
    backendFor(t.dtype).copy(t.data, t.offset, [...t.strides], out.data, 0, [...out.strides], [...t.shape]);
  }
  return out;
}

export function contiguousCopy(t: Tensor): Tensor {
  const out = rawContiguous(t);
  return record(out, 'ContiguousBackward', [t], (g) => [g], []);
}

export function clone(t: Tensor): Tensor {
  const out = rawContiguous(t);
  return record(out, 'CloneBackward', [t], (g) => [g], []);
}

function convert(t: Tensor, dtype: DType): Tensor {
  const src = t.contiguous().flat();
  const out = allocUninit(dtype, src.length); // every element written below
  const truncate = dtype === 'int32' && isFloat(t.dtype);
  // Host work: a compiled step converts each call's values again (no kernel does it).
  runHostWork({
    name: `to(${dtype})`,
    arrays: [src, out],
    reads: [0],
    writes: [1],
    signature: [t.dtype, dtype],
    run: ([from, to]) => {
      if (!truncate) {
        to.set(from);
        return;
      }
      // Truncation toward zero, as PyTorch's float -> int conversion; refuse what has no int value.
      for (let i = 0; i < from.length; i++) {
        const v = from[i];
        if (!Number.isFinite(v)) throw new Error(`to(int32): cannot convert non-finite value ${v} at element ${i}`);
        to[i] = Math.trunc(v);
      }
    },
  });
  return new Tensor(out, [...t.shape]);
}

export function toDtype(t: Tensor, dtype: DType): Tensor {
  checkDtype('to', dtype);
  if (t.dtype === dtype) return t;
  const out = convert(t, dtype);
  if (!isFloat(dtype)) return out;
  const inDtype = t.dtype;
  return record(out, 'ToCopyBackward', [isFloat(inDtype) ? t : null], (g) => [convert(g, inDtype)], []);
}
