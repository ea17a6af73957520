// Checks shared by the lecture models that read context windows (parts 3 and 5): X int32
// [n, blockSize] of token ids, Y int32 [n]. A split that passed once is remembered by the caller's
// WeakMap, so a training loop scans a 180k-row split once, not at every step.
import { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/shape.js';
import type { MlpSplit } from './mlp.js';

export function checkContexts(op: string, X: Tensor, blockSize: number, V: number): void {
  if (!(X instanceof Tensor)) throw new TypeError(`${op}: X must be an int32 tensor of contexts [n, ${blockSize}]`);
  if (X.dtype !== 'int32') throw new TypeError(`${op}: X must hold int32 token ids, got dtype ${X.dtype}`);
  if (X.ndim !== 2 || X.shape[1] !== blockSize) throw new RangeError(`${op}: X must have shape [n, ${blockSize}] (blockSize ${blockSize}), got ${fmtShape(X.shape)}`);
  const d = X.contiguous().flat();
  for (let i = 0; i < d.length; i++) {
    if (d[i]! < 0 || d[i]! >= V) {
      throw new RangeError(`${op}: X[${Math.floor(i / blockSize)}, ${i % blockSize}] = ${d[i]} is not a token id of a ${V}-token vocabulary (valid: 0..${V - 1})`);
    }
  }
}

export function checkSplit(op: string, data: MlpSplit, blockSize: number, V: number, checked: WeakMap<Tensor, Tensor>): void {
  if (data === null || typeof data !== 'object' || !(data.X instanceof Tensor) || !(data.Y instanceof Tensor)) {
    throw new TypeError(`${op}: expected a split { X, Y } of int32 tensors (see lectureSplits)`);
  }
  if (checked.get(data.X) === data.Y) return; // a 180k-row split is checked once, not every call
  checkContexts(op, data.X, blockSize, V);
  const { Y } = data;
  const n = data.X.shape[0]!;
  if (Y.dtype !== 'int32' || Y.ndim !== 1 || Y.shape[0] !== n) {
    throw new RangeError(`${op}: Y must be int32 of shape [${n}] to match X's ${n} rows, got ${Y.dtype} ${fmtShape(Y.shape)}`);
  }
  const d = Y.contiguous().flat();
  for (let i = 0; i < d.length; i++) {
    if (d[i]! < 0 || d[i]! >= V) throw new RangeError(`${op}: Y[${i}] = ${d[i]} is not a token id of a ${V}-token vocabulary (valid: 0..${V - 1})`);
  }
  checked.set(data.X, data.Y);
}
