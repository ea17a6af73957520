// indexAdd (torch.index_add): out = input with source's slices added at the positions `index`
// names along `dim`; repeated positions receive every contribution, in index order. It is the
// embedding gradient of makemore part 4 written in one call, `dC[ix] += demb[k, j]` for all k, j:
//   dC = indexAdd(zerosLike(C), 0, Xb.view(-1), demb.view(-1, nEmbd))
// Backward: the gradient flows to input unchanged and to source gathered at `index` (times alpha).
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { isFloat, type FloatDType } from '../tensor/dtype.js';
import { fmtShape, normDim, numel } from '../tensor/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import { record } from './record.js';
import { runHostWork } from '../compile/host-work.js';

export interface IndexAddOptions {
  /** Scale of the added slices: out = input + alpha · source (at index). Default 1. */
  alpha?: number;
}

function check(input: Tensor, dim: number, index: Tensor, source: Tensor, alpha: number): number {
  const op = 'indexAdd';
  if (!(input instanceof Tensor) || !(source instanceof Tensor)) throw new Error(`${op}: input and source must be Tensors`);
  if (!(index instanceof Tensor)) throw new Error(`${op}: index must be an int32 Tensor`);
  if (!isFloat(input.dtype)) throw new Error(`${op}: expected a floating point input, got ${input.dtype}`);
  if (source.dtype !== input.dtype) {
    throw new Error(`${op}: source has dtype ${source.dtype} but input has ${input.dtype} (they must match)`);
  }
  if (index.dtype !== 'int32') throw new Error(`${op}: index must hold int32 positions, got dtype ${index.dtype} (convert with .int())`);
  if (index.ndim > 1) throw new Error(`${op}: index must be a vector (1-D), got shape ${fmtShape(index.shape)}`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new Error(`${op}: alpha must be a finite number, got ${String(alpha)}`);
  if (input.ndim === 0) throw new Error(`${op}: input must have at least one dimension (got a 0-d tensor)`);
  if (!Number.isInteger(dim)) throw new Error(`${op}: dim must be an integer, got ${String(dim)}`);
  const d = normDim(op, dim, input.ndim);
  const k = index.numel();
  const expected = input.shape.map((s, i) => (i === d ? k : s));
  if (source.ndim !== input.ndim || source.shape.some((s, i) => s !== expected[i])) {
    throw new Error(
      `${op}: source of shape ${fmtShape(source.shape)} does not fit input ${fmtShape(input.shape)} at dim ${d} with ${k} indices ` +
        `(expected source shape ${fmtShape(expected)})`,
    );
  }
  const size = input.shape[d];
  // Host work: a compiled step checks each call's indices again, with this message.
  runHostWork({
    name: `${op} index check`,
    arrays: [index.contiguous().flat()],
    reads: [0],
    writes: [],
    signature: [size],
    run: ([ids]) => {
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] < 0 || ids[i] >= size) {
          throw new Error(`${op}: index ${ids[i]} at position ${i} is out of range for dimension ${d} of size ${size} (input ${fmtShape(input.shape)})`);
        }
      }
    },
  });
  return d;
}

/** torch.index_add(input, dim, index, source, alpha=1): a new tensor; input is not changed. */
export function indexAdd(input: Tensor, dim: number, index: Tensor, source: Tensor, opts: IndexAddOptions = {}): Tensor {
  const alpha = opts.alpha ?? 1;
  const d = check(input, dim, index, source, alpha);
  const idx = index.contiguous().flat() as Int32Array;
  const dtype = input.dtype as FloatDType;
  const out = noGrad(() => {
    // The kernel adds whole rows: bring dim to the front, so each index names one contiguous row.
    const front = (t: Tensor) => (d === 0 ? t : t.transpose(0, d)).contiguous();
    const base = front(input.detach());
    const data = base.clone().flat(); // a copy kernel (a compiled step replays it), not slice()
    let src = front(source.detach());
    if (alpha !== 1) src = src.mul(alpha);
    const rowSize = numel(base.shape.slice(1));
    if (idx.length * rowSize > 0) backendFor(dtype).indexAdd(src.flatFloat(), rowSize, idx, data as Float32Array);
    const moved = new Tensor(data, [...base.shape]);
    return d === 0 ? moved : moved.transpose(0, d).contiguous().detach();
  });
  return record(out, 'IndexAddBackward', [input, source], (g) => {
    let gs: Tensor | null = null;
    if (source.requiresGrad) {
      const at: (Tensor | null)[] = [...Array<null>(d).fill(null), index];
      gs = g.index(at);
      if (alpha !== 1) gs = gs.mul(alpha);
    }
    return [input.requiresGrad ? g : null, gs];
  }, [index]); // the source gradient gathers by `index`; input and source are never read
}
