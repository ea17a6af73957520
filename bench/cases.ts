// Case names shared by ferrograd's measurements and the peers' parsed output: a row of each side
// with the same case name is compared in the table, so both sides must build names here.

/** The GEMMs a makemore step runs (emb 10 x block 3 = 30 inputs, hidden 200, vocabulary 27).
 *  Backward products read one operand transposed; ferrograd passes a transpose flag to the kernel,
 *  while the peers' np_matmul.py times a contiguous product of the same m x k x n. */
export function backwardKind(m: number, k: number, n: number): string | null {
  if (m === 30 && n === 200) return 'A^T·G, dW1 = embcat^T·dh';
  if (m === 200 && n === 27) return 'A^T·G, dW2 = h^T·dlogits';
  if (k === 27 && n === 200) return 'G·B^T, dh = dlogits·W2^T';
  if (k === 200 && n === 30) return 'G·B^T, dembcat = dh·W1^T';
  return null;
}

export function matmulCase(m: number, k: number, n: number, threads: number): string {
  const kind = backwardKind(m, k, n);
  const t = `${threads} thread${threads === 1 ? '' : 's'}`;
  return `${m}x${k} @ ${k}x${n}${kind ? ` (${kind})` : ''}, ${t}`;
}

export function mlp3Case(batch: number): string {
  return `part 3 MLP (BatchNorm), batch ${batch}`;
}

export function mlp2Case(batch: number): string {
  return `part 2 MLP (no BatchNorm), batch ${batch}`;
}

/** Per-op overhead cases, as the peer scripts time them (one op on small float32 operands). */
export const OP_CASES = ['add, 1 element', 'add 32x200', 'tanh 32x200', 'sum(dim 0) 32x200'] as const;
