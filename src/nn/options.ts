// Options every module constructor accepts (torch's factory kwargs), and their checks.
import { getDefaultDtype, type FloatDType } from '../tensor/dtype.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { Tensor } from '../tensor/tensor.js';
import { alloc } from '../tensor/dtype.js';

export interface FactoryOptions {
  /** Parameter dtype (default: the default float dtype, float32). */
  dtype?: FloatDType;
  /** Where the default initialisation draws from (default: the global generator). */
  generator?: Generator;
}

export function factoryDtype(op: string, opts: FactoryOptions): FloatDType {
  const d = opts.dtype ?? getDefaultDtype();
  if (d !== 'float32' && d !== 'float64') throw new Error(`${op}: dtype must be 'float32' or 'float64', got ${String(d)}`);
  return d;
}

export function factoryGenerator(op: string, g: Generator | undefined): Generator {
  if (g === undefined) return defaultGenerator;
  if (!(g instanceof Generator)) throw new Error(`${op}: generator must be a Generator (e.g. new Generator().manualSeed(42))`);
  return g;
}

export function checkSize(op: string, name: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

export function checkBool(op: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new Error(`${op}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

/** Uninitialised (zero) storage of a shape, to be filled by an initialiser. */
export function emptyTensor(shape: number[], dtype: FloatDType): Tensor {
  return new Tensor(alloc(dtype, shape.reduce((a, b) => a * b, 1)), shape);
}

export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}
