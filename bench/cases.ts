// Case names shared by ferrograd's measurements and the peers' parsed output: a row of each side
// with the same case name is compared in the table, so both sides must build names here.

/** The GEMMs a makemore step runs (emb 10 x block 3 = 30 inputs, hidden 200, vocabulary 27).
 *  Backward products read one operand transposed; ferrograd passes a transpose flag to the kernel,
 *  and numpy a transposed view to OpenBLAS (bench/np_matmul_layouts.py times those). The peers'
 *  np_matmul.py times contiguous products of the same m x k x n: their rows are the
 *  `contiguous` cases, which ferrograd also times, so that each layout is compared with itself. */
export function backwardKind(m: number, k: number, n: number): string | null {
  if (m === 30 && n === 200) return 'A^T·G, dW1 = embcat^T·dh';
  if (m === 200 && n === 27) return 'A^T·G, dW2 = h^T·dlogits';
  if (k === 27 && n === 200) return 'G·B^T, dh = dlogits·W2^T';
  if (k === 200 && n === 30) return 'G·B^T, dembcat = dh·W1^T';
  return null;
}

/** The case name of an m x k x n product: a backward shape with its backward layout, or with
 *  `contiguous` operands (np_matmul.py's layout). Forward shapes are contiguous either way. */
export function matmulCase(m: number, k: number, n: number, threads: number, contiguous = false): string {
  const kind = backwardKind(m, k, n);
  const t = `${threads} thread${threads === 1 ? '' : 's'}`;
  const label = kind === null ? '' : contiguous ? ' (contiguous operands)' : ` (${kind})`;
  return `${m}x${k} @ ${k}x${n}${label}, ${t}`;
}

export function mlp3Case(batch: number): string {
  return `part 3 MLP (BatchNorm), batch ${batch}`;
}

export function mlp2Case(batch: number): string {
  return `part 2 MLP (no BatchNorm), batch ${batch}`;
}

/** Per-op overhead cases, as the peer scripts time them (one op on small float32 operands). */
export const OP_CASES = ['add, 1 element', 'add 32x200', 'tanh 32x200', 'sum(dim 0) 32x200'] as const;
