// cat and stack: copy each input into its slice of a new tensor; backward hands each input its slice.
import { Tensor } from '../tensor/tensor.js';
import { alloc, promote, type DType } from '../tensor/dtype.js';
import { fmtShape, normDim, numel } from '../tensor/shape.js';
import { record } from './record.js';
import { copyInto } from './views.js';

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('cat: expected a non-empty list of Tensors');
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`cat: element ${i} is not a Tensor`);
  });
  // PyTorch skips 1-D empty tensors in cat (legacy behaviour that users rely on); they still take
  // part in the dtype and get an (empty) gradient.
  const isSkipped = (t: Tensor): boolean => t.ndim === 1 && t.shape[0] === 0;
  const parts = tensors.filter((t) => !isSkipped(t));
  if (parts.length === 0) {
    // Only empty parts: a new empty tensor, never one of the inputs itself (as torch.cat).
    const dtype = tensors.reduce<DType>((acc, t) => promote(acc, t.dtype), tensors[0].dtype);
    const out = new Tensor(alloc(dtype, 0), [0]);
    return record(out, 'CatBackward', tensors, (g) => tensors.map(() => g), []);
  }
  const ref = parts[0];
  if (ref.ndim === 0) throw new Error('cat: zero-dimensional tensor (at position 0) cannot be concatenated');
  const d = normDim('cat', dim, ref.ndim);
  let total = 0;
  let dtype: DType = ref.dtype;
  for (const t of tensors) if (isSkipped(t)) dtype = promote(dtype, t.dtype);
  parts.forEach((t, i) => {
    if (t.ndim !== ref.ndim) {
      throw new Error(`cat: tensors must have the same number of dimensions: got ${ref.ndim} and ${t.ndim} (shapes ${fmtShape(ref.shape)} and ${fmtShape(t.shape)})`);
    }
    for (let j = 0; j < ref.ndim; j++) {
      if (j !== d && t.shape[j] !== ref.shape[j]) {
        throw new Error(
          `cat: sizes of tensors must match except in dimension ${d}. Expected size ${ref.shape[j]} but got size ${t.shape[j]} for tensor number ${i} in the list (shapes ${fmtShape(ref.shape)} and ${fmtShape(t.shape)})`,
        );
      }
    }
    total += t.shape[d];
    dtype = promote(dtype, t.dtype);
  });
  const shape = [...ref.shape];
  shape[d] = total;
  const out = new Tensor(alloc(dtype, numel(shape)), shape);
  const starts: number[] = []; // per entry of `tensors` (unused for skipped ones)
  let at = 0;
  for (const t of tensors) {
    starts.push(at);
    if (isSkipped(t)) continue;
    copyInto(out.slice(d, at, at + t.shape[d]), t);
    at += t.shape[d];
  }
  return record(out, 'CatBackward', tensors, (g) =>
    tensors.map((t, i) => (isSkipped(t) ? new Tensor(alloc(g.dtype, 0), [0]) : g.slice(d, starts[i], starts[i] + t.shape[d]))), []);
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('stack: expected a non-empty list of Tensors');
  const ref = tensors[0];
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`stack: element ${i} is not a Tensor`);
    if (t.ndim !== ref.ndim || t.shape.some((s, j) => s !== ref.shape[j])) {
      throw new Error(`stack: expects each tensor to be equal size, but got ${fmtShape(ref.shape)} at entry 0 and ${fmtShape(t.shape)} at entry ${i}`);
    }
  });
  const d = normDim('stack', dim, ref.ndim + 1);
  return cat(tensors.map((t) => t.unsqueeze(d)), d);
}
