// Which arguments of each Backend kernel it reads and which it writes (backend.ts documents the
// semantics). The recorder needs this to tell a buffer the step computes from one it only reads:
// an array read before any kernel (or replayed host op) wrote it in the step is either state kept
// between calls or a value made in JavaScript, and the two need different treatment on replay.
import type { Backend } from '../backend/backend.js';

export type KernelName = Exclude<keyof Backend, 'name' | 'setNumThreads' | 'getNumThreads'>;

export interface KernelEffects {
  /** Argument positions the kernel reads (array arguments only; null args are skipped). */
  readonly reads: readonly number[];
  /** Argument positions the kernel writes (overwrites or adds into). */
  readonly writes: readonly number[];
}

const e = (reads: number[], writes: number[]): KernelEffects => ({ reads, writes });

export const KERNEL_EFFECTS: Readonly<Record<KernelName, KernelEffects>> = {
  copy: e([0], [3]),
  unary: e([1], [2]),
  unaryBackward: e([1, 2, 3], [4]),
  binary: e([1, 4], [7]),
  binaryScalar: e([1], [4]),
  binaryInplace: e([1, 4], [1]),
  scalarInplace: e([1], [1]),
  axpy: e([1, 2], [2]),
  sum: e([0], [4]),
  reduceArg: e([1], [5, 6]),
  reduceArgBackward: e([0, 4], [5]),
  where: e([0, 3, 6], [9, 11]),
  whereBackward: e([0, 1], [2, 3]),
  gelu: e([0], [2]),
  geluBackward: e([0, 1], [3]),
  matmul: e([0, 4], [8]),
  indexSelect: e([0, 2], [3]),
  indexAdd: e([0, 2, 3], [3]),
  putAdd: e([0, 1, 2], [2]),
  softmax: e([0], [4]),
  softmaxBackward: e([0, 1], [5]),
  crossEntropyForward: e([0, 3], [5]),
  crossEntropyBackward: e([0, 3], [6]),
  // Eval mode reads the running statistics it is given (meanOut/varOut); training overwrites them.
  batchNormForward: e([0, 3, 4, 9, 10], [8, 9, 10, 11]),
  batchNormBackward: e([0, 1, 4, 5, 6], [8, 9, 10]),
  conv1dForward: e([0, 4, 9], [10]),
  conv1dBackward: e([0, 4, 9], [11, 12]),
  adamStep: e([0, 1, 2, 3, 4], [0, 2, 3, 4]),
  sgdStep: e([0, 1, 2], [0, 2]),
};

/** The array arguments a call reads: batch norm in training mode overwrites its statistics
 *  outputs without reading them. */
export function readsOf(name: KernelName, args: readonly unknown[]): readonly number[] {
  if (name === 'batchNormForward' && args[7] === true) return [0, 3, 4];
  return KERNEL_EFFECTS[name].reads;
}

export function isKernelName(name: string): name is KernelName {
  return Object.prototype.hasOwnProperty.call(KERNEL_EFFECTS, name);
}
