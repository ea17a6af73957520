// Backend selection: which implementation of the kernel interface the tensor layer calls.
//
// float32 (and int32) tensors run on the current backend: native when the Rust addon loads,
// otherwise reference (with a one-time warning). FERROGRAD_BACKEND=native|reference overrides the
// default; setBackend() overrides both at run time. float64 tensors always run on reference,
// because the addon has float32 kernels only.

import type { Backend } from './backend.js';
import { nativeAvailable as addonLoads, nativeBackend } from './native.js';
import { referenceBackend } from './reference.js';
import { setStorageRecycling } from '../tensor/dtype.js';

export * from './backend.js';
export { referenceBackend } from './reference.js';

export type BackendName = 'native' | 'reference';
export type BackendDType = 'float32' | 'float64' | 'int32';

const BUILD_HINT = 'build it with `npm run build:native` (needs a Rust toolchain)';

// Resolved on first use, not at import, so that importing the library never loads the addon
// or reads the environment before it is needed.
let current: Backend | null = null;
let warnedFallback = false;

/** True when the native addon (native/ferrograd.node) loads on this machine. */
export function nativeAvailable(): boolean {
  return addonLoads();
}

function requireNative(why: string): Backend {
  if (!addonLoads()) {
    throw new Error(`${why}, but the native addon (native/ferrograd.node) could not be loaded; ${BUILD_HINT}`);
  }
  return nativeBackend;
}

function defaultBackend(): Backend {
  const env = process.env.FERROGRAD_BACKEND;
  if (env !== undefined && env !== '') {
    if (env === 'reference') return referenceBackend;
    if (env === 'native') return requireNative('FERROGRAD_BACKEND=native was requested');
    throw new Error(`FERROGRAD_BACKEND must be 'native' or 'reference', got '${env}'`);
  }
  if (addonLoads()) return nativeBackend;
  if (!warnedFallback) {
    warnedFallback = true;
    process.stderr.write(
      'ferrograd: the native addon (native/ferrograd.node) could not be loaded, so float32 kernels ' +
        `run on the slow TypeScript reference backend; ${BUILD_HINT}, or set FERROGRAD_BACKEND=reference ` +
        'to silence this warning.\n',
    );
  }
  return referenceBackend;
}

// While compile() records a step, every kernel call goes through its recording wrapper
// (src/compile/recording.ts); null otherwise, so the eager path pays one comparison.
let intercept: ((be: Backend) => Backend) | null = null;

/** Internal (compile): route the kernels through `wrap` until called again with null. */
export function _setKernelInterceptor(wrap: ((be: Backend) => Backend) | null): void {
  intercept = wrap;
  // A recording classifies arrays by when they were created: no recycled buffers meanwhile.
  setStorageRecycling(wrap === null);
}

/** The backend float32 tensors currently run on. */
export function getBackend(): Backend {
  if (current === null) current = defaultBackend();
  return intercept === null ? current : intercept(current);
}

/** Selects the backend for float32 tensors from now on. */
export function setBackend(name: BackendName): void {
  if (name === 'reference') current = referenceBackend;
  else if (name === 'native') current = requireNative("setBackend('native') was called");
  else throw new Error(`setBackend: unknown backend '${String(name)}'; expected 'native' or 'reference'`);
}

/** Runs fn with `name` as the current backend and restores the previous choice afterwards
 *  (also when fn throws). Convenient for running one test body on both backends. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const saved = current;
  setBackend(name);
  try {
    return fn();
  } finally {
    current = saved;
  }
}

/** The backend that computes on tensors of `dtype`: float64 always runs on reference. */
export function backendFor(dtype: BackendDType): Backend {
  if (dtype === 'float64') return intercept === null ? referenceBackend : intercept(referenceBackend);
  if (dtype === 'float32' || dtype === 'int32') return getBackend();
  throw new Error(`backendFor: unknown dtype '${String(dtype)}'; expected 'float32', 'float64' or 'int32'`);
}
