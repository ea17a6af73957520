// Creating tensors: from JS data, constant fills, ranges, random draws (through an explicit or
// the global Generator, reproducing PyTorch's CPU streams), and one-hot encodings.
import { Tensor, type NestedArray } from './tensor.js';
import { alloc, allocUninit, checkDtype, getDefaultDtype, isFloat, type DType, type FloatDType } from './dtype.js';
import { checkShape, fmtShape, numel } from './shape.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import type { AnyArray } from '../backend/backend.js';
import { checkClassIndices } from '../ops/indexing.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

type ShapeArg = number | readonly number[];

function shapeOf(op: string, s: ShapeArg): number[] {
  const shape = typeof s === 'number' ? [s] : [...s];
  checkShape(op, shape);
  return shape;
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function floatDtype(op: string, opts: CreateOptions): DType {
  const d = opts.dtype === undefined ? getDefaultDtype() : checkDtype(op, opts.dtype);
  return d;
}

/** A tensor from nested arrays of numbers/booleans, or a typed array (shared, not copied) with an
 *  optional shape. Numbers become the default float dtype unless `dtype` says otherwise. */
export function tensor(data: NestedArray | AnyArray, opts: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as AnyArray;
    if (!(arr instanceof Float32Array || arr instanceof Float64Array || arr instanceof Int32Array)) {
      throw new Error('tensor: typed arrays must be Float32Array, Float64Array or Int32Array');
    }
    const shape = opts.shape ? [...opts.shape] : [arr.length];
    checkShape('tensor', shape);
    if (numel(shape) !== arr.length) throw new Error(`tensor: shape ${fmtShape(shape)} needs ${numel(shape)} elements, but the array has ${arr.length}`);
    let t = new Tensor(arr, shape);
    if (opts.dtype !== undefined && opts.dtype !== t.dtype) t = t.to(checkDtype('tensor', opts.dtype));
    return finish(t, opts);
  }
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const dtype = opts.dtype === undefined ? getDefaultDtype() : checkDtype('tensor', opts.dtype);
  const out = alloc(dtype, numel(shape));
  let k = 0;
  const walk = (v: NestedArray, d: number, path: number[]): void => {
    if (d === shape.length) {
      if (Array.isArray(v)) throw new Error(`tensor: ragged nested array: too deep at [${path.join('][')}] (expected shape ${fmtShape(shape)})`);
      const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      if (typeof x !== 'number') throw new Error(`tensor: element at [${path.join('][')}] is ${typeof v}, expected a number`);
      if (dtype === 'int32' && !Number.isInteger(x)) throw new Error(`tensor: element ${x} at [${path.join('][')}] is not an integer (dtype int32)`);
      out[k++] = x;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new Error(
        `tensor: ragged nested array: expected a sequence of length ${shape[d]} at dim ${d} ([${path.join('][')}]), got ${Array.isArray(v) ? `length ${v.length}` : typeof v}`,
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], d + 1, [...path, i]);
  };
  walk(data, 0, []);
  return finish(new Tensor(out, shape), opts);
}

function filled(op: string, shape: ShapeArg, value: number, opts: CreateOptions): Tensor {
  const s = shapeOf(op, shape);
  if (typeof value !== 'number') throw new Error(`${op}: fill value must be a number, got ${typeof value}`);
  const dtype = floatDtype(op, opts);
  const data = alloc(dtype, numel(s));
  if (value !== 0) data.fill(value);
  return finish(new Tensor(data, s), opts);
}

export const full = (shape: ShapeArg, value: number, opts: CreateOptions = {}): Tensor => filled('full', shape, value, opts);
export const zeros = (shape: ShapeArg, opts: CreateOptions = {}): Tensor => filled('zeros', shape, 0, opts);
export const ones = (shape: ShapeArg, opts: CreateOptions = {}): Tensor => filled('ones', shape, 1, opts);
export const zerosLike = (t: Tensor, opts: CreateOptions = {}): Tensor => filled('zerosLike', t.shape, 0, { dtype: t.dtype, ...opts });
export const onesLike = (t: Tensor, opts: CreateOptions = {}): Tensor => filled('onesLike', t.shape, 1, { dtype: t.dtype, ...opts });

/** arange(end), arange(start, end), arange(start, end, step). Integers give int32 (as PyTorch's
 *  integer arange), fractions give the default float dtype. */
export function arange(a: number, b?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [start, end] = b === undefined ? [0, a] : [a, b];
  for (const v of [start, end, step]) if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`arange: arguments must be finite numbers, got ${v}`);
  if (step === 0) throw new Error('arange: step must be nonzero');
  if ((end - start) / step < 0) throw new Error(`arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (allInt ? 'int32' : getDefaultDtype());
  const data = alloc(checkDtype('arange', dtype), n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(new Tensor(data, [n]), opts);
}

export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`linspace: number of steps must be a non-negative integer, got ${steps}`);
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new Error(`linspace: start and end must be finite, got ${start} and ${end}`);
  const dtype = floatDtype('linspace', opts);
  const data = alloc(dtype, steps);
  // Same symmetric formula as PyTorch: the first half from start, the second half from end.
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) data[i] = i < half || steps === 1 ? start + step * i : end - step * (steps - i - 1);
  return finish(new Tensor(data, [steps]), opts);
}

function checkGenerator(op: string, g: unknown): Generator {
  if (g === undefined) return defaultGenerator;
  if (!(g instanceof Generator)) throw new Error(`${op}: generator must be a Generator (e.g. new Generator().manualSeed(42))`);
  return g;
}

function randomFloat(op: string, shape: ShapeArg, opts: RandomOptions): { t: Tensor; g: Generator; dtype: FloatDType } {
  const s = shapeOf(op, shape);
  const dtype = floatDtype(op, opts);
  if (!isFloat(dtype)) throw new Error(`${op}: dtype must be float32 or float64, got ${dtype}`);
  const g = checkGenerator(op, opts.generator);
  return { t: new Tensor(alloc(dtype, numel(s)), s), g, dtype: dtype as FloatDType };
}

/** Uniform [0, 1) draws, the same stream as torch.rand with the same seed. */
export function rand(shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  const { t, g, dtype } = randomFloat('rand', shape, opts);
  g.fillRand(t.data as Float32Array, 0, 1, dtype);
  return finish(t, opts);
}

/** Standard normal draws, the same stream as torch.randn with the same seed (16 or more float32
 *  elements follow PyTorch's scalar recipe: within 1e-6 of its AVX-512 kernel, see generator.ts). */
export function randn(shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  const { t, g, dtype } = randomFloat('randn', shape, opts);
  g.fillRandn(t.data as Float32Array, 0, 1, dtype);
  return finish(t, opts);
}

/** Integers in [low, high), the same stream as torch.randint. int32 unless dtype says otherwise. */
export function randint(low: number, high: number, shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  const s = shapeOf('randint', shape);
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new Error(`randint: low and high must be integers, got ${low} and ${high}`);
  if (high <= low) throw new Error(`randint: random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
  const dtype = checkDtype('randint', opts.dtype ?? 'int32');
  const g = checkGenerator('randint', opts.generator);
  const t = new Tensor(allocUninit(dtype, numel(s)), s); // fillRandint writes every element
  g.fillRandint(low, high, t.data);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** torch.multinomial: draw indices from each row of non-negative weights `probs` ([C] or [N, C]). */
export function multinomial(probs: Tensor, numSamples: number, opts: { replacement?: boolean; generator?: Generator } = {}): Tensor {
  if (!(probs instanceof Tensor)) throw new Error('multinomial: probs must be a Tensor');
  if (probs.ndim !== 1 && probs.ndim !== 2) throw new Error(`multinomial: prob_dist must be 1 or 2 dim, got ${fmtShape(probs.shape)}`);
  if (!Number.isInteger(numSamples) || numSamples <= 0) throw new Error(`multinomial: numSamples must be a positive integer, got ${numSamples}`);
  const g = checkGenerator('multinomial', opts.generator);
  const p = probs.detach().contiguous();
  const cols = p.shape[p.ndim - 1];
  const rows = p.ndim === 1 ? 1 : p.shape[0];
  const flatP = p.flat();
  const out = new Int32Array(rows * numSamples);
  for (let r = 0; r < rows; r++) {
    out.set(g.multinomial(flatP.subarray(r * cols, (r + 1) * cols), numSamples, opts.replacement ?? false), r * numSamples);
  }
  return new Tensor(out, p.ndim === 1 ? [numSamples] : [rows, numSamples]);
}

/** F.one_hot: int class ids of any shape → [..., numClasses] (float by default, unlike PyTorch's
 *  int64, because the lectures immediately call .float() on it). */
export function oneHot(indices: Tensor, numClasses = -1, opts: { dtype?: DType } = {}): Tensor {
  if (!(indices instanceof Tensor)) throw new Error('oneHot: indices must be an int32 Tensor');
  if (indices.dtype !== 'int32') throw new Error(`oneHot: expected an int32 tensor of class indices, got ${indices.dtype}`);
  const ids = indices.contiguous().flat() as Int32Array;
  let classes = numClasses;
  if (classes === -1) {
    if (ids.length === 0) throw new Error('oneHot: can not infer the total number of classes from an empty tensor');
    classes = 0;
    for (const v of ids) classes = Math.max(classes, v + 1);
  }
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  checkClassIndices('oneHot', indices, classes);
  const dtype = checkDtype('oneHot', opts.dtype ?? getDefaultDtype());
  const data = alloc(dtype, ids.length * classes);
  for (let i = 0; i < ids.length; i++) data[i * classes + ids[i]] = 1;
  return new Tensor(data, [...indices.shape, classes]);
}

/** Identity matrix. */
export function eye(n: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new Error(`eye: n must be a non-negative integer, got ${n}`);
  const t = filled('eye', [n, n], 0, opts);
  for (let i = 0; i < n; i++) t.data[i * n + i] = 1;
  return t;
}
