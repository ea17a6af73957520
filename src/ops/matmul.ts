// Matrix products with PyTorch's matmul rules (1-D, 2-D, batched, broadcast batch dims).
// Transposed views go to the kernel as transpose flags, so backward passes never copy.
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { allocFloat, allocFloatUninit, isFloat, type FloatDType } from '../tensor/dtype.js';
import { broadcastShapes, fmtShape, numel } from '../tensor/shape.js';
import { record } from './record.js';

interface MatrixOperand {
  t: Tensor; // [batch, rows, cols] (possibly a strided view)
  trans: boolean; // stored as cols x rows row-major
  batchStride: number;
}

/** How the kernel reads an r x c matrix with strides (sr, sc): row-major (false), as the
 *  transpose of a row-major matrix (true), or not at all (null: it must be copied first). */
function layout(r: number, c: number, sr: number, sc: number): boolean | null {
  if ((sc === 1 || c <= 1) && (sr === c || r <= 1)) return false;
  if ((sr === 1 || r <= 1) && (sc === r || c <= 1)) return true;
  return null;
}

/** How the kernel can read the last two dims of a 3-D tensor without copying, or null. */
function operand(t: Tensor): MatrixOperand | null {
  const trans = layout(t.shape[1], t.shape[2], t.strides[1], t.strides[2]);
  return trans === null ? null : { t, trans, batchStride: t.shape[0] <= 1 ? 0 : t.strides[0] };
}

function readable(t: Tensor): MatrixOperand {
  return operand(t) ?? (operand(t.contiguous()) as MatrixOperand);
}

/** out[b] = A[b] @ B[b] for 3-D operands with equal batch (a batch of 1 broadcasts). No graph. */
function rawBmm(a: Tensor, b: Tensor): Tensor {
  const batch = Math.max(a.shape[0], b.shape[0]);
  const [, m, k] = a.shape;
  const n = b.shape[2];
  const dtype = a.dtype as FloatDType;
  // An empty inner dimension makes the product all zeros; otherwise the kernel writes every element.
  if (batch * m * n === 0 || k === 0) return new Tensor(allocFloat(dtype, batch * m * n), [batch, m, n]);
  const out = new Tensor(allocFloatUninit(dtype, batch * m * n), [batch, m, n]);
  const A = readable(a);
  const B = readable(b);
  backendFor(dtype).matmul(
    A.t.data as Float32Array, A.t.offset, a.shape[0] === 1 ? 0 : A.batchStride, A.trans,
    B.t.data as Float32Array, B.t.offset, b.shape[0] === 1 ? 0 : B.batchStride, B.trans,
    out.data as Float32Array, batch, m, k, n,
  );
  return out;
}

/** The differentiable batched product of two 3-D tensors. `savedA`/`savedB` are the caller's
 *  operands that a and b view (same storage), named in the in-place check's message. */
function bmm(a: Tensor, b: Tensor, savedA: Tensor = a, savedB: Tensor = b): Tensor {
  const out = rawBmm(a, b);
  // Each operand's gradient reads the other operand only.
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  return record(out, 'MmBackward', [a, b], (g) => {
    const ga = needA ? rawBmm(g, b.transpose(1, 2)) : null;
    let gb: Tensor | null = null;
    if (needB) {
      if (b.shape[0] === 1 && a.shape[0] > 1) {
        // A shared right operand: Σ_b A[b]^T G[b] = (A as [B·m, k])^T (G as [B·m, n]), one product.
        const a2 = a.contiguous().reshape([1, a.shape[0] * a.shape[1], a.shape[2]]);
        const g2 = g.contiguous().reshape([1, g.shape[0] * g.shape[1], g.shape[2]]);
        gb = rawBmm(a2.transpose(1, 2), g2);
      } else {
        gb = rawBmm(a.transpose(1, 2), g);
      }
    }
    return [ga, gb];
  }, [needA ? savedB : null, needB ? savedA : null]);
}

/** The kernel's transpose flag for reading 2-D t as t (or as its transpose, `transposed`), or
 *  null when t must be copied first. */
function flagFor(t: Tensor, transposed: boolean): boolean | null {
  return transposed ? layout(t.shape[1], t.shape[0], t.strides[1], t.strides[0]) : layout(t.shape[0], t.shape[1], t.strides[0], t.strides[1]);
}

/** out = op(A) @ op(B) for 2-D tensors read as [m, k] and [k, n], where `tA`/`tB` ask for the
 *  operand's transpose (a backward's Gᵀ·A or G·Bᵀ) without building the transposed view. No graph. */
export function rawMm(a: Tensor, tA: boolean, b: Tensor, tB: boolean): Tensor {
  const m = tA ? a.shape[1] : a.shape[0];
  const k = tA ? a.shape[0] : a.shape[1];
  const n = tB ? b.shape[0] : b.shape[1];
  const dtype = a.dtype as FloatDType;
  // An empty inner dimension makes the product all zeros; otherwise the kernel writes every element.
  if (m * n === 0 || k === 0) return new Tensor(allocFloat(dtype, m * n), [m, n]);
  let ta = flagFor(a, tA);
  if (ta === null) {
    a = a.contiguous();
    ta = flagFor(a, tA)!;
  }
  let tb = flagFor(b, tB);
  if (tb === null) {
    b = b.contiguous();
    tb = flagFor(b, tB)!;
  }
  const out = new Tensor(allocFloatUninit(dtype, m * n), [m, n]);
  backendFor(dtype).matmul(
    a.data as Float32Array, a.offset, 0, ta,
    b.data as Float32Array, b.offset, 0, tb,
    out.data as Float32Array, 1, m, k, n,
  );
  return out;
}

/** The differentiable product of two 2-D tensors [m, k] @ [k, n]: one node, whose backward reads
 *  the operands through transpose flags (G·Bᵀ and Aᵀ·G) rather than transposed views. `savedA` is
 *  the caller's operand that a views (same storage), named in the in-place check's message. */
function mm(a: Tensor, b: Tensor, savedA: Tensor = a): Tensor {
  const out = rawMm(a, false, b, false);
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  // Nothing to record (record would return out too): skip building the backward closure.
  if (!needA && !needB) return out;
  return record(out, 'MmBackward', [a, b], (g) => [
    needA ? rawMm(g, false, b, true) : null,
    needB ? rawMm(a, true, g, false) : null,
  ], [needA ? b : null, needB ? savedA : null]);
}

function checkOperands(a: Tensor, b: Tensor): void {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new Error('matmul: both operands must be Tensors');
  if (!isFloat(a.dtype) || !isFloat(b.dtype)) {
    throw new Error(`matmul: expected floating point tensors, got ${a.dtype} and ${b.dtype} (convert with .float())`);
  }
  if (a.dtype !== b.dtype) {
    throw new Error(`matmul: expected both operands to have the same dtype, but got ${a.dtype} and ${b.dtype}`);
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: both arguments need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`);
  }
}

function mismatch(a: Tensor, b: Tensor): Error {
  if (a.ndim <= 2 && b.ndim <= 2) {
    const as = a.ndim === 1 ? `1x${a.shape[0]}` : `${a.shape[0]}x${a.shape[1]}`;
    const bs = b.ndim === 1 ? `${b.shape[0]}x1` : `${b.shape[0]}x${b.shape[1]}`;
    return new Error(`matmul: mat1 and mat2 shapes cannot be multiplied (${as} and ${bs})`);
  }
  return new Error(
    `matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (inner dimensions ${a.shape[a.ndim - 1]} and ${b.shape[Math.max(b.ndim - 2, 0)]} differ)`,
  );
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  checkOperands(a, b);
  const k = a.shape[a.ndim - 1];
  const kb = b.ndim === 1 ? b.shape[0] : b.shape[b.ndim - 2];
  if (k !== kb) throw mismatch(a, b);

  if (a.ndim === 1 && b.ndim === 1) return bmm(a.reshape([1, 1, k]), b.reshape([1, k, 1]), a, b).reshape([]);
  if (a.ndim === 1 && b.ndim === 2) return bmm(a.reshape([1, 1, k]), b.unsqueeze(0), a, b).reshape([b.shape[1]]);
  if (a.ndim === 2 && b.ndim === 1) return bmm(a.unsqueeze(0), b.reshape([1, k, 1]), a, b).reshape([a.shape[0]]);
  if (a.ndim === 2 && b.ndim === 2) return mm(a, b);
  if (b.ndim === 2) {
    // [..., m, k] @ [k, n]: fold the batch into rows, one product (the lectures' emb @ W case).
    const lead = a.shape.slice(0, -1);
    return mm(a.reshape([numel(lead), k]), b, a).reshape([...lead, b.shape[1]]);
  }
  if (b.ndim === 1) {
    const lead = a.shape.slice(0, -1);
    return bmm(a.reshape([1, numel(lead), k]), b.reshape([1, k, 1]), a, b).reshape(lead);
  }
  // Batched with broadcast batch dims.
  const a3 = a.ndim === 1 ? a.reshape([1, k]) : a;
  const m = a3.shape[a3.ndim - 2];
  const n = b.shape[b.ndim - 1];
  const batch = broadcastShapes('matmul', a3.shape.slice(0, -2), b.shape.slice(0, -2));
  const nb = numel(batch);
  const ae = a3.expand([...batch, m, k]).reshape([nb, m, k]);
  const be = b.expand([...batch, k, n]).reshape([nb, k, n]);
  const out = bmm(ae, be).reshape([...batch, m, n]);
  return a.ndim === 1 ? out.squeeze(-2) : out;
}
