// The native backend: the Rust addon (native/ferrograd.node, built by `npm run build:native`).
//
// Nothing here is written per kernel. The addon exports one function per Backend method in its
// `kernels` namespace (crates/node/src/ops.rs, declared there once with `kernels!`), with the
// Backend's signature; once loaded, those functions *are* the native backend's methods (no
// wrapper, no copies). The addon validates every argument again (lengths against
// shapes/offsets/strides, index ranges, aliasing of outputs) and throws a JS Error naming the
// kernel and the bad values, so a bug in the tensor layer surfaces as an exception rather than
// memory corruption.
//
// The generated declarations of those exports (native/index.d.ts) are checked against the Backend
// interface below, at compile time: a kernel missing on either side, or a signature that differs,
// fails `npm run typecheck` with the kernel's name.
//
// The addon is loaded on first use, not at import: importing the library must work on machines
// where the addon was never built (everything then runs on the reference backend).

import { createRequire } from 'node:module';
import type { Backend } from './backend.js';
import { loadBinding } from './native-binding.js';
import { tuneArrayBufferSweeping } from './v8-sweeping.js';
import { referenceBackend } from './reference.js';
import type * as Generated from '../../native/index.js';

/** The kernel methods of the Backend interface (all of it but its name). */
export type Kernels = Omit<Backend, 'name'>;

/** What the addon exports: the kernels, a deliberate panic for the tests, and the executor of
 *  compiled steps (crates/node/src/tape.rs; used by src/compile/native-tape.ts). */
export interface NativeAddon {
  kernels: Kernels;
  debugPanic(): void;
  /** Stores a list of kernel calls (and crossEntropy loss steps) once; the handle runs them. */
  tapeCreate(steps: object[]): NativeTapeHandle;
  /** Runs steps [from, to) of a tape; an error's `code` is the index of the step that failed. */
  tapeRun(tape: NativeTapeHandle, from: number, to: number): void;
  /** Stores step `at` again from a new description (its arrays rebound to new arguments). */
  tapeReplace(tape: NativeTapeHandle, at: number, step: object): void;
}

/** An opaque handle of a native tape (freed by the garbage collector with the JS tape). */
export type NativeTapeHandle = object & { readonly __nativeTape: unique symbol };

// ---------------------------------------------------------------------------------------------
// Compile-time check of the generated declarations against Backend. The native side takes
// float32 arrays only (float64 tensors run on reference), and op enums cross as numbers.

type GeneratedKernels = typeof Generated.kernels;
type Float32Only<P> = { [I in keyof P]: Exclude<P[I], Float64Array> };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Fits<K extends keyof Kernels & keyof GeneratedKernels> =
  Float32Only<Parameters<Kernels[K]>> extends Parameters<GeneratedKernels[K]>
    ? Same<Parameters<Kernels[K]>['length'], Parameters<GeneratedKernels[K]>['length']> extends true
      ? ReturnType<GeneratedKernels[K]> extends ReturnType<Kernels[K]> ? true : false
      : false
    : false;
type Common = keyof Kernels & keyof GeneratedKernels;
/** Fails to compile, naming the kernels, unless T is never. */
type NoneOf<T extends never> = T;
/** Backend methods that the addon does not export (add the kernel to ops.rs, rebuild). */
type _MissingInAddon = NoneOf<Exclude<keyof Kernels, keyof GeneratedKernels>>;
/** Addon kernels that the Backend interface does not declare. */
type _MissingInBackend = NoneOf<Exclude<keyof GeneratedKernels, keyof Kernels>>;
/** Kernels whose parameters or result differ between ops.rs and backend.ts. */
type _SignatureDiffers = NoneOf<{ [K in Common]: Fits<K> extends true ? never : K }[Common]>;

// ---------------------------------------------------------------------------------------------
// Loading.

// From src/backend/ (tsx, vitest) the addon is two levels up; from dist/src/backend/ three.
const CANDIDATES = ['../../native/ferrograd.node', '../../../native/ferrograd.node'];

let addon: NativeAddon | null = null;
let loadErrors: string | null = null;

function load(): NativeAddon | null {
  if (addon !== null || loadErrors !== null) return addon;
  const found = loadBinding<NativeAddon>(createRequire(import.meta.url), CANDIDATES);
  if (found.addon !== null && typeof found.addon.kernels !== 'object') {
    loadErrors = `${found.from}: an addon from an older build (no \`kernels\` export); rebuild it`;
    return null;
  }
  addon = found.addon;
  if (addon === null) {
    loadErrors = found.errors.join('; ');
    return null;
  }
  // From now on the kernels are own properties of nativeBackend: calls go straight to the addon.
  Object.assign(nativeBackend, addon.kernels);
  tuneArrayBufferSweeping();
  return addon;
}

function need(): NativeAddon {
  const a = load();
  if (a === null) {
    throw new Error(
      `the native addon (native/ferrograd.node) could not be loaded; build it with \`npm run build:native\` ` +
        `(needs a Rust toolchain), or use the reference backend. Tried: ${loadErrors}`,
    );
  }
  return a;
}

/** True when the addon loads on this machine. */
export function nativeAvailable(): boolean {
  return load() !== null;
}

type AnyFn = (...args: unknown[]) => unknown;

/** A plain object (fast property loads at the tensor layer's call sites, which also see the
 *  reference backend). Until the addon is loaded each kernel is a stub that loads it (or throws
 *  the clear error above) and calls the real kernel; load() then replaces the stubs by the
 *  addon's functions. The kernel names are the Backend's: the reference backend implements them
 *  all (the compiler checks both), and the tests check the addon exports exactly these. */
export const nativeBackend: Backend = { name: 'native' } as Backend;
for (const name of Object.keys(referenceBackend)) {
  if (name === 'name') continue;
  (nativeBackend as unknown as Record<string, AnyFn>)[name] = (...args) => {
    need();
    return (nativeBackend as unknown as Record<string, AnyFn>)[name](...args);
  };
}

/** The raw addon, for tests and benchmarks; any use throws a clear error when it is not built. */
export const native: NativeAddon = {
  get kernels(): Kernels {
    return need().kernels;
  },
  debugPanic(): void {
    need().debugPanic();
  },
  tapeCreate(steps: object[]): NativeTapeHandle {
    return need().tapeCreate(steps);
  },
  tapeRun(tape: NativeTapeHandle, from: number, to: number): void {
    need().tapeRun(tape, from, to);
  },
  tapeReplace(tape: NativeTapeHandle, at: number, step: object): void {
    need().tapeReplace(tape, at, step);
  },
};

/** The loaded addon's tape executor, or null (no addon, or one built before it had a tape). */
export function nativeTapeExecutor(): Pick<NativeAddon, 'tapeCreate' | 'tapeRun' | 'tapeReplace'> | null {
  const a = load();
  return a !== null && typeof a.tapeCreate === 'function' && typeof a.tapeRun === 'function' && typeof a.tapeReplace === 'function' ? a : null;
}
