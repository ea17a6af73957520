// Integer-array ("advanced") indexing: C.index(X) for an embedding lookup with an index tensor of
// any shape, and probs.index([arange(n), Y]) to pick one element per row. Backward scatters the
// gradient back with an index-add (rows looked up twice get both contributions).
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { allocFloat, allocFloatUninit, allocInt32, isFloat, type FloatDType } from '../tensor/dtype.js';
import { broadcastShapes, fmtShape, numel } from '../tensor/shape.js';
import { record } from './record.js';

/** One entry of an index list: an int32 tensor or plain integer array (advanced index),
 *  a number (a single position), or null (keep the whole dim; only before the advanced entries). */
export type IndexArg = Tensor | number[] | Int32Array | number | null;

function toIndexTensor(arg: Exclude<IndexArg, null>, pos: number): Tensor {
  if (arg instanceof Tensor) {
    if (arg.dtype !== 'int32') {
      throw new Error(`index: tensors used as indices must be int32 tensors, but index ${pos} has dtype ${arg.dtype} (convert with .int())`);
    }
    return arg;
  }
  if (typeof arg === 'number') {
    if (!Number.isInteger(arg)) throw new Error(`index: index ${pos} must be an integer, got ${arg}`);
    return new Tensor(Int32Array.of(arg), []);
  }
  if (arg instanceof Int32Array) return new Tensor(arg, [arg.length]);
  if (Array.isArray(arg)) {
    const data = new Int32Array(arg.length);
    for (let i = 0; i < arg.length; i++) {
      const v = arg[i];
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new Error(`index: index ${pos} must hold integers, but element ${i} is ${String(v)}`);
      }
      data[i] = v;
    }
    return new Tensor(data, [arg.length]);
  }
  throw new Error(`index: unsupported index type at position ${pos} (${typeof arg}); use int32 tensors, integer arrays, numbers or null`);
}

/** Row ids into t viewed as [Π shape[0..L), rest]: validated, negative indices wrapped. */
function rowIds(t: Tensor, idx: Tensor[], shape: number[]): Int32Array {
  if (idx.length === 1 && idx[0].isContiguous()) return rowIdsDim0(t.shape[0], idx[0]);
  const n = numel(shape);
  const rows = allocInt32(n, false);
  const L = idx.length;
  // Read each index tensor through broadcast strides.
  const views = idx.map((ix) => ix.expand(shape));
  const counters = new Array<number>(shape.length).fill(0);
  const offs = views.map((v) => v.offset);
  for (let p = 0; p < n; p++) {
    let row = 0;
    for (let k = 0; k < L; k++) {
      const size = t.shape[k];
      let v = views[k].data[offs[k]];
      if (v < -size || v >= size) {
        throw new Error(`index: index ${v} is out of bounds for dimension ${k} with size ${size}`);
      }
      if (v < 0) v += size;
      row = row * size + v;
    }
    rows[p] = row;
    // Advance the multi-index (row-major) and the per-tensor offsets.
    for (let d = shape.length - 1; d >= 0; d--) {
      counters[d]++;
      for (let k = 0; k < L; k++) offs[k] += views[k].strides[d];
      if (counters[d] < shape[d]) break;
      for (let k = 0; k < L; k++) offs[k] -= views[k].strides[d] * counters[d];
      counters[d] = 0;
    }
  }
  return rows;
}

/** The lectures' case (C[X], Xtr[ix]): one contiguous index tensor into dim 0, validated and
 *  wrapped in one tight loop over its Int32Array (the general loop above is several times slower). */
function rowIdsDim0(size: number, ix: Tensor): Int32Array {
  const src = ix.data as Int32Array;
  const off = ix.offset;
  const n = ix.numel();
  const rows = allocInt32(n, false);
  for (let p = 0; p < n; p++) {
    let v = src[off + p];
    if (v < 0) v += size;
    if (v < 0 || v >= size) {
      throw new Error(`index: index ${src[off + p]} is out of bounds for dimension 0 with size ${size}`);
    }
    rows[p] = v;
  }
  return rows;
}

/** Gather rows of a contiguous [numRows, rowSize] tensor. */
function gatherRows(t: Tensor, rows: Int32Array, outShape: number[], rowSize: number): Tensor {
  const src = t.contiguous();
  if (!isFloat(src.dtype)) {
    // Integer rows (Xtr[ix]): a plain loop; one set(subarray) per row costs far more for short rows.
    const out = allocInt32(rows.length * rowSize, false);
    const s = src.flat() as Int32Array;
    for (let i = 0, o = 0; i < rows.length; i++) {
      const r = rows[i] * rowSize;
      for (let j = 0; j < rowSize; j++) out[o++] = s[r + j];
    }
    return new Tensor(out, outShape);
  }
  const dtype = src.dtype as FloatDType;
  const out = new Tensor(allocFloatUninit(dtype, rows.length * rowSize), outShape);
  if (rows.length * rowSize > 0) backendFor(dtype).indexSelect(src.flatFloat(), rowSize, rows, out.flatFloat());
  const inShape = src.shape;
  return record(out, 'IndexBackward', [src], (g) => {
    const gc = g.contiguous();
    const gx = new Tensor(allocFloat(g.dtype as FloatDType, numel(inShape)), inShape);
    if (rows.length * rowSize > 0) backendFor(g.dtype).indexAdd(gc.flatFloat(), rowSize, rows, gx.flatFloat());
    return [gx];
  }, []); // reads only the row ids, copied at forward time
}

export function index(t: Tensor, indices: IndexArg | IndexArg[]): Tensor {
  if (!(t instanceof Tensor)) throw new Error('index: expected a Tensor');
  if (indices instanceof Tensor && t.ndim > 0) return indexDim0(t, indices);
  // An array of plain numbers is one advanced index (C.index([1, 2, 3])); any other array is a list
  // of per-dimension indices (probs.index([rows, Y]), t.index([0, ix]), t.index([null, ix])).
  const allNumbers = Array.isArray(indices) && indices.length > 0 && indices.every((v) => typeof v === 'number');
  const list: IndexArg[] = Array.isArray(indices) && !allNumbers ? (indices as IndexArg[]) : [indices as IndexArg];
  if (list.length > t.ndim) {
    throw new Error(`index: too many indices for tensor of dimension ${t.ndim} (got ${list.length})`);
  }
  let lead = 0;
  while (lead < list.length && list[lead] === null) lead++;
  const adv = list.slice(lead);
  if (adv.some((a) => a === null)) {
    throw new Error('index: null (a full slice) is only supported before the integer indices, e.g. [null, ix]');
  }
  if (adv.length === 0) return t;
  const idx = adv.map((a, i) => toIndexTensor(a as Exclude<IndexArg, null>, lead + i));
  const bshape = idx.reduce<number[]>((s, ix) => broadcastShapes('index', s, ix.shape), []);
  // Bring the indexed dims to the front.
  let x = t;
  if (lead > 0) {
    const order = [...Array(t.ndim).keys()];
    const moved = [...order.slice(lead, lead + adv.length), ...order.slice(0, lead), ...order.slice(lead + adv.length)];
    x = t.permute(moved);
  }
  const L = adv.length;
  const rest = x.shape.slice(L);
  const rowSize = numel(rest);
  const rows = rowIds(x, idx, bshape);
  const numRows = numel(x.shape.slice(0, L));
  const flat2 = x.reshape([numRows, rowSize]);
  let out = gatherRows(flat2, rows, [...bshape, ...rest], rowSize);
  if (lead > 0) {
    // Result layout is [...bshape, ...keptLeading, ...after]; torch puts bshape where the indices were.
    const nb = bshape.length;
    const order = [...Array(out.ndim).keys()];
    const perm = [...order.slice(nb, nb + lead), ...order.slice(0, nb), ...order.slice(nb + lead)];
    out = out.permute(perm);
  }
  return out;
}

/** t[ix] for one index tensor: rows of dim 0 (the lectures' C[X], Xtr[ix], Ytr[ix]), the general
 *  path below without its list handling; a 1-D or 2-D t is gathered from as it is. */
function indexDim0(t: Tensor, ix: Tensor): Tensor {
  const idx = toIndexTensor(ix, 0);
  let rowSize = 1;
  for (let i = 1; i < t.ndim; i++) rowSize *= t.shape[i];
  const rows = rowIds(t, [idx], idx.shape as number[]);
  const rows2 = t.ndim <= 2 ? t : t.reshape([t.shape[0], rowSize]);
  const outShape = idx.shape.length === 0 ? t.shape.slice(1) : [...idx.shape, ...t.shape.slice(1)];
  return gatherRows(rows2, rows, outShape, rowSize);
}

/** Check that an index tensor holds valid class ids for `classes` (used by losses and oneHot). */
export function checkClassIndices(op: string, target: Tensor, classes: number, ignoreIndex?: number): void {
  if (target.dtype !== 'int32') throw new Error(`${op}: expected target of dtype int32, got ${target.dtype} (convert with .int())`);
  const d = target.contiguous().flat();
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v === ignoreIndex) continue;
    if (v < 0 || v >= classes) {
      throw new Error(`${op}: target ${v} at position ${i} is out of bounds for ${classes} classes (shape ${fmtShape(target.shape)})`);
    }
  }
}
