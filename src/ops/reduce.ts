// Reductions: sum, mean, max/min (with indices), argmax/argmin, var/std; and sumToShape,
// which the autograd engine uses to undo broadcasting.
import { Tensor } from '../tensor/tensor.js';
import { ReduceOp } from '../backend/backend.js';
import { backendFor } from '../backend/index.js';
import { allocFloatUninit, isFloat, type FloatDType } from '../tensor/dtype.js';
import { fmtShape, normDim, numel } from '../tensor/shape.js';
import { record } from './record.js';
import { noGrad } from '../autograd/grad-mode.js';
import { asFloat } from './elementwise.js';
import { where } from './where.js';

/** Sorted, de-duplicated, normalised dims; undefined means all. */
function normDims(op: string, t: Tensor, dim: number | number[] | undefined): number[] {
  if (dim === undefined) return [...Array(t.ndim).keys()];
  const list = Array.isArray(dim) ? dim : [dim];
  const out = list.map((d) => normDim(op, d, t.ndim));
  if (new Set(out).size !== out.length) throw new Error(`${op}: dim ${JSON.stringify(list)} appears multiple times in the list of dims`);
  return out.sort((a, b) => a - b);
}

function reducedShape(shape: readonly number[], dims: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (dims.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(shape[i]);
  }
  return out;
}

/** Sum a contiguous float tensor over `dims` (sorted), keeping them as size-1 dims. Runs of
 *  adjacent dims become one kernel call over the merged axis. No graph. */
function rawSumKeep(x: Tensor, dims: number[]): Tensor {
  let cur = x;
  let shape = [...x.shape];
  // Walk runs of adjacent dims from the last to the first.
  let i = dims.length - 1;
  while (i >= 0) {
    let j = i;
    while (j > 0 && dims[j - 1] === dims[j] - 1) j--;
    const first = dims[j];
    const last = dims[i];
    const outer = numel(shape.slice(0, first));
    const n = numel(shape.slice(first, last + 1));
    const inner = numel(shape.slice(last + 1));
    const newShape = [...shape];
    for (let d = first; d <= last; d++) newShape[d] = 1;
    const dtype = cur.dtype as FloatDType;
    const out = new Tensor(allocFloatUninit(dtype, outer * inner), newShape);
    if (outer * inner > 0) backendFor(dtype).sum(cur.flatFloat(), outer, n, inner, out.flatFloat());
    cur = out;
    shape = newShape;
    i = j - 1;
  }
  return cur;
}

/** Expand a reduced gradient back over the reduced dims of `inShape`. */
function expandBack(g: Tensor, inShape: readonly number[], dims: number[], keepdim: boolean): Tensor {
  let gk = g;
  if (!keepdim) gk = g.reshape(reducedShape(inShape, dims, true));
  return gk.expand([...inShape]);
}

export function sum(t: Tensor, dim: number | number[] | undefined, keepdim: boolean): Tensor {
  // Integer sums stay exact: computed in float64, returned as int32 (PyTorch returns int64).
  if (t instanceof Tensor && t.dtype === 'int32') return sum(t.to('float64'), dim, keepdim).to('int32');
  const x = asFloat('sum', t).contiguous();
  const dims = normDims('sum', x, dim);
  const kept = dims.length === 0 ? x.clone() : rawSumKeep(x, dims);
  const out = keepdim ? kept : kept.reshape(reducedShape(x.shape, dims, false)).detach();
  const inShape = [...x.shape];
  return record(out, 'SumBackward', [x], (g) => [expandBack(g, inShape, dims, keepdim)], []);
}

export function mean(t: Tensor, dim: number | number[] | undefined, keepdim: boolean): Tensor {
  if (!isFloat(t.dtype)) {
    throw new Error(`mean: could not infer output dtype. Input dtype must be floating point, got ${t.dtype} (use .float())`);
  }
  const dims = normDims('mean', t, dim);
  let count = 1;
  for (const d of dims) count *= t.shape[d];
  // Mean of nothing is NaN in PyTorch too; keep that behaviour rather than dividing by zero silently elsewhere.
  return sum(t, dims, keepdim).div(count);
}

export function maxMin(kind: 'max' | 'min', t: Tensor, dim: number | undefined, keepdim: boolean): { values: Tensor; indices: Tensor } {
  if (t instanceof Tensor && t.dtype === 'int32') {
    const r = maxMin(kind, t.to('float64'), dim, keepdim);
    return { values: r.values.to('int32'), indices: r.indices };
  }
  const x = asFloat(kind, t).contiguous();
  if (dim === undefined) {
    if (x.numel() === 0) {
      throw new Error(`${kind}: expected a non-empty tensor: reducing an empty tensor (shape ${fmtShape(x.shape)}) over all dims has no identity`);
    }
    const flatX = x.reshape([x.numel()]).detach();
    const { values, indices } = maxMin(kind, flatX, 0, false);
    const out = values.detach();
    // Ties share the gradient evenly, as torch.max() without a dim does.
    return {
      values: record(out, kind === 'max' ? 'MaxBackward' : 'MinBackward', [x], (g) => {
        const mask = x.detach().eq(out);
        return [mask.mul(g.div(mask.sum()))];
      }, [x, out]),
      indices,
    };
  }
  const d = normDim(kind, dim, x.ndim);
  const n = x.ndim === 0 ? 1 : x.shape[d];
  if (n === 0) throw new Error(`${kind}: expected reduction dim ${d} to have non-zero size (shape ${fmtShape(x.shape)})`);
  const outer = numel(x.shape.slice(0, d));
  const inner = numel(x.shape.slice(d + 1));
  const dtype = x.dtype as FloatDType;
  const outShape = x.ndim === 0 ? [] : reducedShape(x.shape, [d], keepdim);
  const vals = allocFloatUninit(dtype, outer * inner);
  const idx = new Int32Array(outer * inner);
  if (outer * inner > 0) {
    backendFor(dtype).reduceArg(kind === 'max' ? ReduceOp.Max : ReduceOp.Min, x.flatFloat(), outer, n, inner, vals, idx);
  }
  const values = new Tensor(vals, outShape);
  const indices = new Tensor(idx, outShape);
  const inShape = [...x.shape];
  record(values, kind === 'max' ? 'MaxBackward' : 'MinBackward', [x], (g) => {
    // Route each gradient to the position that won (one kernel, reading the kept indices).
    const gc = g.contiguous();
    const gd = g.dtype as FloatDType;
    const gx = new Tensor(allocFloatUninit(gd, numel(inShape)), inShape);
    if (gx.numel() > 0) backendFor(gd).reduceArgBackward(gc.flatFloat(), outer, n, inner, idx, gx.flatFloat());
    return [gx];
  }, []); // reads only the winning positions, kept here
  return { values, indices };
}

export function argMaxMin(kind: 'argmax' | 'argmin', t: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const which = kind === 'argmax' ? 'max' : 'min';
  if (dim === undefined) {
    if (t.numel() === 0) throw new Error(`${kind}: expected a non-empty tensor (shape ${fmtShape(t.shape)})`);
    const idx = maxMin(which, t.detach().contiguous().reshape([t.numel()]), 0, false).indices;
    return keepdim ? idx.reshape(t.shape.map(() => 1)) : idx;
  }
  return maxMin(which, t.detach(), dim, keepdim).indices;
}

export interface VarOptions {
  keepdim?: boolean;
  unbiased?: boolean;
  correction?: number;
}

function correctionOf(op: string, opts: VarOptions): number {
  if (opts.correction !== undefined && opts.unbiased !== undefined) {
    throw new Error(`${op}: pass either correction or unbiased, not both`);
  }
  const c = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  if (!Number.isFinite(c) || c < 0) throw new Error(`${op}: correction must be a non-negative number, got ${c}`);
  return c;
}

/** Variance, unbiased by default as torch.var: Σ(x - mean)² / (N - correction). */
export function variance(t: Tensor, dim: number | number[] | undefined, opts: VarOptions): Tensor {
  const c = correctionOf('var', opts);
  const x = asFloat('var', t);
  const dims = normDims('var', x, dim);
  let n = 1;
  for (const d of dims) n *= x.shape[d];
  const mu = mean(x, dims, true);
  const diff = x.sub(mu);
  // N - correction <= 0 gives NaN/inf as in PyTorch (which also warns); keep that.
  return sum(diff.mul(diff), dims, opts.keepdim ?? false).div(Math.max(n - c, 0));
}

/** Standard deviation, sqrt(var). Where the spread is 0 the gradient is 0 (as PyTorch), not the
 *  0 · ∞ = NaN that the chain rule through sqrt would give; with no degrees of freedom left
 *  (N <= correction) std is NaN and so is its gradient. */
export function std(t: Tensor, dim: number | number[] | undefined, opts: VarOptions): Tensor {
  correctionOf('std', opts);
  const v = variance(t, dim, opts);
  const out = noGrad(() => v.sqrt());
  return record(out, 'StdBackward', [v], (g) => {
    // d sqrt(v)/dv = 1 / (2 sqrt(v)): g / (2 · out), one rounding (as sqrt's own backward and
    // PyTorch's), then 0 where out == 0: a where kernel, so a compiled step replays it too.
    return [noGrad(() => where(out.eq(0), 0, g.div(out.mul(2))))];
  }, [out]);
}

/** Sum a (broadcast) gradient down to `shape`: the engine's single place for undoing broadcasting. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumToShape: gradient of shape ${fmtShape(g.shape)} cannot reduce to ${fmtShape(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead) dims.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) dims.push(i);
    else if (shape[i - lead] !== g.shape[i]) {
      throw new Error(`sumToShape: gradient of shape ${fmtShape(g.shape)} does not broadcast from ${fmtShape(shape)}`);
    }
  }
  if (dims.length === 0) return g.reshape([...shape]);
  const x = g.contiguous();
  return rawSumKeep(x, dims).reshape([...shape]);
}
