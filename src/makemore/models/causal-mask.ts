// The lower-triangular ones that makemore.py registers as the `bias` buffer of its attention and
// bag-of-words layers (a buffer, so it is in the state dict), and the -inf fill it drives.
import { Tensor } from '../../tensor/tensor.js';

export function trilOnes(n: number, leading: number[]): Tensor {
  const d = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) d[i * n + j] = 1;
  return new Tensor(d, [...leading, n, n]);
}

/** 1 above the diagonal of a [T, T] block (the masked positions: keys after the query). */
export function futureMask(T: number): Tensor {
  const d = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) d[i * T + j] = 1;
  return new Tensor(d, [T, T]);
}

/** 0 on and below the diagonal, -inf above: added to attention scores before the softmax. */
export function additiveCausalMask(T: number): Tensor {
  const d = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) d[i * T + j] = -Infinity;
  return new Tensor(d, [T, T]);
}
