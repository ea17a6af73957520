// Data types. Floats are float32 (the default, native kernels) or float64 (reference backend,
// used for gradient checks); int32 holds indices and counts.
import type { AnyArray, FloatArray } from '../backend/backend.js';

export type DType = 'float32' | 'float64' | 'int32';
export type FloatDType = 'float32' | 'float64';

let defaultFloat: FloatDType = 'float32';

export function getDefaultDtype(): FloatDType {
  return defaultFloat;
}

/** Like torch.set_default_dtype: the dtype of floats created without an explicit dtype. */
export function setDefaultDtype(d: FloatDType): void {
  if (d !== 'float32' && d !== 'float64') {
    throw new Error(`setDefaultDtype: only float32 and float64 can be the default, got ${String(d)}`);
  }
  defaultFloat = d;
}

export function isFloat(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float64';
}

export function alloc(dtype: DType, n: number): AnyArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
  }
}

export function allocFloat(dtype: FloatDType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

export function dtypeOfArray(a: AnyArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  return 'int32';
}

/** The dtype two operands compute in (PyTorch's promotion, restricted to our three types). */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  return 'float32';
}

export function checkDtype(op: string, d: unknown): DType {
  if (d === 'float32' || d === 'float64' || d === 'int32') return d;
  throw new Error(`${op}: unsupported dtype ${String(d)} (expected 'float32', 'float64' or 'int32')`);
}
