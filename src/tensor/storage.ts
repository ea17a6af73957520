// The one-dimensional storage behind tensors, as torch.TypedStorage / torch.UntypedStorage: what
// t.storage() shows a learner is that view() reuses the same elements in the same order and only
// changes shape and strides. The memory is the tensor's typed array; nothing is copied.
import type { AnyArray } from '../backend/backend.js';
import { dtypeOfArray, type DType } from './dtype.js';

// A stable, address-like number per ArrayBuffer (JavaScript has no pointers): equal for two
// tensors exactly when they share memory, as data_ptr() in PyTorch.
const addresses = new WeakMap<ArrayBufferLike, number>();
let nextAddress = 0x10000;

function baseAddress(buffer: ArrayBufferLike): number {
  let a = addresses.get(buffer);
  if (a === undefined) {
    a = nextAddress;
    // Keep addresses 64-byte aligned and apart, as an allocator would.
    nextAddress += Math.ceil((buffer.byteLength + 1) / 64) * 64;
    addresses.set(buffer, a);
  }
  return a;
}

/** The address-like identity of the first byte of a typed array. */
export function addressOf(data: ArrayBufferView): number {
  return baseAddress(data.buffer) + data.byteOffset;
}

/** Python's repr of a float (what PyTorch prints for each element of a float storage). */
export function pyFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  // The shortest round-trip digits (the same in JavaScript and Python), laid out as Python's
  // repr: scientific when the decimal exponent is < -4 or >= 16.
  const [mant, expStr] = v.toExponential().split('e');
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}.${frac || '0'}`;
}

/** A tensor's storage: a contiguous one-dimensional array of elements of one dtype. */
export class TypedStorage {
  /** The typed array itself (shared with every tensor viewing it). */
  readonly data: AnyArray;

  constructor(data: AnyArray) {
    this.data = data;
  }

  get dtype(): DType {
    return dtypeOfArray(this.data);
  }

  get device(): 'cpu' {
    return 'cpu';
  }

  /** Number of elements. */
  size(): number {
    return this.data.length;
  }

  get length(): number {
    return this.data.length;
  }

  elementSize(): number {
    return this.data.BYTES_PER_ELEMENT;
  }

  nbytes(): number {
    return this.data.byteLength;
  }

  /** Address-like identity of the first element: equal for views of the same storage. */
  dataPtr(): number {
    return addressOf(this.data);
  }

  /** The same memory as bytes (torch's untyped_storage()). */
  untyped(): UntypedStorage {
    return new UntypedStorage(this.data);
  }

  /** Element i (negative counts from the end). */
  get(i: number): number {
    const n = this.data.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new Error(`storage: index ${i} out of range for storage of size ${n}`);
    return this.data[i < 0 ? i + n : i];
  }

  tolist(): number[] {
    return Array.from(this.data);
  }

  /** As PyTorch prints a storage: one element per line, then the type and size. */
  toString(): string {
    const fmt = this.dtype === 'int32' ? (v: number) => String(v) : pyFloatRepr;
    const lines = Array.from(this.data, (v) => ` ${fmt(v)}`);
    lines.push(`[ferrograd.TypedStorage(dtype=${this.dtype}, device=cpu) of size ${this.size()}]`);
    return lines.join('\n');
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** The bytes behind a storage (torch.UntypedStorage). */
export class UntypedStorage {
  private readonly bytes: Uint8Array;

  constructor(data: AnyArray) {
    this.bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  /** Number of bytes. */
  size(): number {
    return this.bytes.length;
  }

  nbytes(): number {
    return this.bytes.length;
  }

  get device(): 'cpu' {
    return 'cpu';
  }

  dataPtr(): number {
    return addressOf(this.bytes);
  }

  tolist(): number[] {
    return Array.from(this.bytes);
  }

  toString(): string {
    const lines = Array.from(this.bytes, (v) => ` ${v}`);
    lines.push(`[ferrograd.UntypedStorage(device=cpu) of size ${this.size()}]`);
    return lines.join('\n');
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
