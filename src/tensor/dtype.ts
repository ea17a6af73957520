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
      return allocFloat32(n, true);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return allocInt32(n, true);
  }
}

/** Storage of any dtype whose contents are undefined (see allocFloatUninit). */
export function allocUninit(dtype: DType, n: number): AnyArray {
  return dtype === 'int32' ? allocInt32(n, false) : allocFloatUninit(dtype, n);
}

/** Zero-filled float storage. */
export function allocFloat(dtype: FloatDType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : allocFloat32(n, true);
}

/** Float storage whose contents are undefined: only for outputs that a kernel overwrites
 *  entirely before anyone reads them (skips the zero fill; see allocFloat32). */
export function allocFloatUninit(dtype: FloatDType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : allocFloat32(n, false);
}

// ---- float32 and int32 storage -----------------------------------------------------------------
// `new Float32Array(n)` above 64 bytes costs a separate zero-filled ArrayBuffer per tensor (about
// 3-4 µs for a 32x200 activation, more than most kernels on it), and every such buffer is external
// memory that the garbage collector must track and free. So, for float32 and int32 storage alike:
//   - up to 64 bytes: `new Float32Array(n)` (V8 keeps these on its own heap, already cheap);
//   - up to CARVE_MAX_BYTES: a view carved, 64-byte aligned, from a shared slab of SLAB_BYTES
//     (uninitialised memory from Buffer.allocUnsafeSlow; zeroed by fill(0) when asked). Slabs
//     are never reused: the memory belongs to JavaScript and the GC frees a slab once no view
//     of it is alive, so every view stays valid as long as it is reachable. The cost is that
//     one live small tensor keeps its whole slab alive (at most SLAB_BYTES for a tensor of 65
//     bytes; tensors allocated together, such as a model's parameters, share slabs);
//   - larger: its own ArrayBuffer, uninitialised (Buffer.allocUnsafeSlow) unless zeroed.
// Consequence for callers: `t.data.buffer` may hold other tensors' elements; always use
// `byteOffset`/`byteLength` (or the typed array itself), never the whole `.buffer`.
const ON_HEAP_BYTES = 64;
const CARVE_MAX_BYTES = 32 * 1024;
const SLAB_BYTES = 256 * 1024;
let slab: ArrayBuffer | null = null;
let slabUsed = SLAB_BYTES;

/** Storages allocated while the autograd engine is collecting them (see trackFreshStorage). */
let fresh: AnyArray[] | null = null;

/** While `list` is non-null, every float32 storage allocated is appended to it: the engine uses
 *  this to know which gradients a backward allocated (so no one else holds them). */
export function trackFreshStorage(list: AnyArray[] | null): void {
  fresh = list;
}

/** Byte offset of `bytes` fresh bytes in the current slab (a new slab when it is full). */
function carve(bytes: number): number {
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES).buffer as ArrayBuffer;
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += (bytes + 63) & ~63;
  return at;
}

// ---- recycled gradient buffers ----------------------------------------------------------------
// The autograd engine knows when a gradient it allocated has been consumed by the node it was for
// and is held by no one else (engine.ts): such buffers come back here and serve the next float32
// allocation of the same length, forward or backward, instead of a fresh buffer. At batch 1024 a
// makemore step's activations and their gradients are 800 KB apiece: fresh ones cost an
// ArrayBuffer each (malloc, page faults), and the garbage collector is pushed into a scavenge
// every few steps by the external memory they add up to. The pool is small and bounded (a few
// buffers per length), so memory stays flat; a pooled buffer keeps its slab alive (see below).
// While compile() records a step, recycling is off (setStorageRecycling): its planner tells the
// step's own buffers from persistent state by when they were created.
const POOL_PER_LENGTH = 4;
const POOL_MAX_BUFFERS = 32;
const POOL_MAX_BYTES = 64 * 1024 * 1024;
const pool = new Map<number, Float32Array[]>();
let pooledBuffers = 0;
let pooledBytes = 0;
let recycling = true;

/** Internal: turn recycling off (emptying the pool) or back on. */
export function setStorageRecycling(on: boolean): void {
  recycling = on;
  if (!on) {
    pool.clear();
    pooledBuffers = 0;
    pooledBytes = 0;
  }
}

/** Internal (autograd engine): `a` is dead (nothing can read or write it any more) and may be
 *  handed out again by a later allocation of its length. Only the engine can know that. */
export function recycleStorage(a: AnyArray): void {
  if (!recycling || !(a instanceof Float32Array) || a.length * 4 <= ON_HEAP_BYTES) return;
  const bytes = a.length * 4;
  if (pooledBuffers >= POOL_MAX_BUFFERS || pooledBytes + bytes > POOL_MAX_BYTES) return;
  let list = pool.get(a.length);
  if (list === undefined) {
    list = [];
    pool.set(a.length, list);
  } else if (list.length >= POOL_PER_LENGTH) return;
  list.push(a);
  pooledBuffers++;
  pooledBytes += bytes;
}

/** Internal (tests): how many recycled buffers of `length` elements wait in the pool. */
export function _pooledBuffers(length: number): number {
  return pool.get(length)?.length ?? 0;
}

function fromPool(n: number): Float32Array | undefined {
  const list = pool.get(n);
  if (list === undefined || list.length === 0) return undefined;
  pooledBuffers--;
  pooledBytes -= n * 4;
  return list.pop();
}

function allocFloat32(n: number, zero: boolean): Float32Array {
  const bytes = n * 4;
  let a: Float32Array | undefined;
  if (pooledBuffers > 0 && bytes > ON_HEAP_BYTES && (a = fromPool(n)) !== undefined) {
    if (zero) a.fill(0);
  } else if (bytes <= ON_HEAP_BYTES) {
    a = new Float32Array(n);
  } else if (bytes <= CARVE_MAX_BYTES) {
    const at = carve(bytes);
    a = new Float32Array(slab!, at, n);
    if (zero) a.fill(0);
  } else if (zero) {
    a = new Float32Array(n);
  } else {
    const b = Buffer.allocUnsafeSlow(bytes);
    a = new Float32Array(b.buffer, b.byteOffset, n);
  }
  if (fresh !== null) fresh.push(a);
  return a;
}

/** int32 storage (indices, row ids), carved as float32 storage is; zero-filled when `zero`. */
export function allocInt32(n: number, zero = true): Int32Array {
  const bytes = n * 4;
  if (bytes <= ON_HEAP_BYTES) return new Int32Array(n);
  if (bytes <= CARVE_MAX_BYTES) {
    const at = carve(bytes);
    const a = new Int32Array(slab!, at, n);
    if (zero) a.fill(0);
    return a;
  }
  if (zero) return new Int32Array(n);
  const b = Buffer.allocUnsafeSlow(bytes);
  return new Int32Array(b.buffer, b.byteOffset, n);
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
