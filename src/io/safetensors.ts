// Safetensors checkpoints: the format PyTorch users load with `safetensors.torch.load_file`.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON (`{"name": {"dtype", "shape",
// "data_offsets": [begin, end]}, ..., "__metadata__": {string: string}}`, padded with spaces), then
// the tensors' raw little-endian bytes in row-major order, back to back.
//
// Reading: the header length is checked against the file size and the 100 MB cap before anything
// is allocated; the header itself is validated by the reference implementation (the `safetensors`
// crate, in the native addon: crates/node/src/safetensors.rs), so ferrograd accepts and refuses the
// same files Python's `safetensors` does; then each tensor's bytes are read from the file straight
// into its typed array (aligned by construction, whatever the offsets in the file).
// Writing: the header is composed here (the format is a JSON object; keys are laid out as the
// reference serializer does: by descending dtype alignment, then by name), and the file is replaced
// atomically (./atomic-write.ts).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { Tensor, isTensor } from '../tensor/tensor.js';
import type { AnyArray } from '../backend/backend.js';
import { headerParser, type HeaderEntry, type ParsedHeader } from './header-parser.js';
import { fmtShape, numel } from '../tensor/shape.js';
import { writeAll, writeFileAtomic } from './atomic-write.js';

/** The largest header the reference implementation accepts (its MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The file dtypes ferrograd reads and writes. I64 loads as int32 (ferrograd's integer dtype),
 *  with a range check; it is written only when asked for (`intDtype: 'I64'`). */
export type SafetensorsDtype = 'F32' | 'F64' | 'I32' | 'I64';

export interface SaveSafetensorsOptions {
  /** File dtype of int32 tensors: 'I32' (default, exact) or 'I64' (what PyTorch writes for its
   *  int64 tensors, e.g. BatchNorm's num_batches_tracked; torch's load_state_dict takes either). */
  intDtype?: 'I32' | 'I64';
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F64: 8, I32: 4, I64: 8 };
// Positions in the reference implementation's Dtype enum, which is ordered by alignment; its
// serializer lays tensors out by descending position, then by name.
const ALIGNMENT_RANK: Record<SafetensorsDtype, number> = { I32: 15, F32: 17, F64: 19, I64: 20 };
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const READ_CHUNK = 1 << 30;

/** A failure in one file, reported as `op: file: what is wrong`. */
class FileFault extends Error {}

// ---- reading ------------------------------------------------------------------------------

/** Loads every tensor of a safetensors file, keyed by name in the order of their data in the
 *  file, as safetensors.torch.load_file does. F32 → float32, F64 → float64, I32 → int32, and I64 →
 *  int32 when every value fits (otherwise an error names the tensor, the value and its index).
 *  The metadata is read by readSafetensorsMetadata. */
export function loadSafetensors(path: string): Record<string, Tensor> {
  return withFile('loadSafetensors', path, (fd, size) => {
    const { header, dataStart } = readHeader(fd, size);
    const out: Record<string, Tensor> = {};
    for (const entry of header.tensors) {
      // defineProperty: a tensor named "__proto__" stays an ordinary key.
      Object.defineProperty(out, entry.name, {
        value: readTensor(fd, dataStart, entry),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  });
}

/** The `__metadata__` strings of a safetensors file ({} when it has none), as
 *  `safe_open(path, 'np').metadata()`. The whole header is validated; tensor data is not read. */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  return withFile('readSafetensorsMetadata', path, (fd, size) => {
    const { header } = readHeader(fd, size);
    const out: Record<string, string> = {};
    for (const { key, value } of header.metadata ?? []) {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  });
}

function withFile<T>(op: string, path: string, body: (fd: number, size: number) => T): T {
  if (typeof path !== 'string' || path === '') throw new Error(`${op}: path must be a non-empty string, got ${describe(path)}`);
  requireLittleEndian(op);
  let fd: number;
  try {
    // Non-blocking open: a FIFO given by mistake must be refused below, not wait for a writer.
    fd = openSync(path, constants.O_NONBLOCK === undefined ? 'r' : constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new Error(`${op}: ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : 'a device';
      throw new FileFault(`not a regular file (${kind})`);
    }
    return body(fd, stat.size);
  } catch (e) {
    if (e instanceof FileFault) throw new Error(`${op}: ${path}: ${e.message}`);
    throw new Error(`${op}: ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

function readHeader(fd: number, size: number): { header: ParsedHeader; dataStart: number } {
  if (size < 8) throw new FileFault(`file is ${size} bytes, too short for the 8-byte header length (truncated?)`);
  const prefix = new Uint8Array(8);
  readExactly(fd, prefix, 0);
  const n = Buffer.from(prefix.buffer).readBigUInt64LE(0);
  if (n > BigInt(size - 8)) {
    throw new FileFault(`header length ${n} bytes is larger than the file (${size} bytes, ${size - 8} after the length)`);
  }
  const headerLen = Number(n);
  if (headerLen > MAX_HEADER_BYTES) {
    throw new FileFault(`header length ${headerLen} bytes is above the ${MAX_HEADER_BYTES / 1e6} MB limit of the format`);
  }
  const headerBytes = new Uint8Array(headerLen);
  readExactly(fd, headerBytes, 8);
  const dataStart = 8 + headerLen;
  let header: ParsedHeader;
  try {
    header = headerParser()(headerBytes, size - dataStart);
  } catch (e) {
    throw new FileFault((e as Error).message);
  }
  return { header, dataStart };
}

function readTensor(fd: number, dataStart: number, e: HeaderEntry): Tensor {
  if (!(e.dtype in BYTES)) {
    throw new FileFault(`tensor "${e.name}" has dtype ${e.dtype}; ferrograd loads F32, F64, I32 and I64`);
  }
  const dtype = e.dtype as SafetensorsDtype;
  const count = numel(e.shape);
  const at = dataStart + e.begin;
  let data: AnyArray;
  try {
    if (dtype === 'I64') {
      const pairs = new Int32Array(2 * count);
      readExactly(fd, bytesOf(pairs), at);
      data = narrowInt64(e, pairs);
    } else {
      data = dtype === 'F32' ? new Float32Array(count) : dtype === 'F64' ? new Float64Array(count) : new Int32Array(count);
      readExactly(fd, bytesOf(data), at);
    }
  } catch (err) {
    if (err instanceof RangeError) {
      throw new FileFault(`tensor "${e.name}" (${e.dtype}, shape ${fmtShape(e.shape)}, ${e.end - e.begin} bytes) could not be allocated: ${err.message}`);
    }
    throw err;
  }
  return new Tensor(data, e.shape);
}

/** int64 values (little-endian [low, high] int32 pairs) as int32, refusing any that do not fit. */
function narrowInt64(e: HeaderEntry, pairs: Int32Array): Int32Array {
  const out = new Int32Array(pairs.length / 2);
  for (let i = 0; i < out.length; i++) {
    const lo = pairs[2 * i];
    const hi = pairs[2 * i + 1];
    // A value fits in int32 exactly when its high word is the sign extension of its low word.
    if (hi !== lo >> 31) {
      const value = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
      throw new FileFault(
        `tensor "${e.name}" (I64, shape ${fmtShape(e.shape)}) holds ${value} at flat index ${i}, outside int32's range ` +
          `[${INT32_MIN}, ${INT32_MAX}]; ferrograd keeps integers as int32`,
      );
    }
    out[i] = lo;
  }
  return out;
}

function readExactly(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, Math.min(READ_CHUNK, into.length - done), position + done);
    if (n === 0) throw new FileFault(`file ended at byte ${position + done} while reading (was it truncated during the read?)`);
    done += n;
  }
}

// ---- writing ------------------------------------------------------------------------------

/** Writes `tensors` (e.g. a module's stateDict()) and optional `metadata` strings to a safetensors
 *  file that safetensors.torch.load_file reads. Non-contiguous tensors are written in row-major
 *  order; float32 → F32, float64 → F64, int32 → I32 (or I64 with `intDtype: 'I64'`). The file is
 *  replaced atomically: a reader, or a crash, sees the old file or the complete new one. */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string> | null,
  options: SaveSafetensorsOptions = {},
): void {
  const op = 'saveSafetensors';
  if (typeof path !== 'string' || path === '') throw new Error(`${op}: path must be a non-empty string, got ${describe(path)}`);
  requireLittleEndian(op);
  const intDtype = options.intDtype ?? 'I32';
  if (intDtype !== 'I32' && intDtype !== 'I64') {
    throw new Error(`${op}: intDtype must be 'I32' or 'I64', got ${describe(intDtype)}`);
  }
  const entries = tensorEntries(op, tensors, intDtype);
  const header = encodeHeader(op, entries, metadataEntries(op, metadata));
  try {
    writeFileAtomic(path, (fd) => {
      writeAll(fd, header);
      for (const e of entries) writeAll(fd, e.bytes);
    });
  } catch (e) {
    throw new Error(`${op}: ${path}: ${(e as Error).message}`, { cause: e });
  }
}

interface OutEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}

function tensorEntries(op: string, tensors: Record<string, Tensor>, intDtype: 'I32' | 'I64'): OutEntry[] {
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors) || isTensor(tensors)) {
    throw new Error(`${op}: tensors must be an object of named Tensors (like a stateDict()), got ${describe(tensors)}`);
  }
  const out: OutEntry[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error(`${op}: "__metadata__" is reserved by the format and cannot name a tensor`);
    checkText(op, 'tensor name', name);
    if (!isTensor(t)) throw new Error(`${op}: tensors["${name}"] is not a Tensor (got ${describe(t)})`);
    const flat = t.detach().contiguous().flat();
    let dtype: SafetensorsDtype;
    let bytes: Uint8Array;
    if (t.dtype === 'int32' && intDtype === 'I64') {
      dtype = 'I64';
      const pairs = new Int32Array(2 * flat.length);
      for (let i = 0; i < flat.length; i++) {
        pairs[2 * i] = flat[i];
        pairs[2 * i + 1] = flat[i] >> 31; // sign extension: the high word of the int64
      }
      bytes = bytesOf(pairs);
    } else {
      dtype = t.dtype === 'float32' ? 'F32' : t.dtype === 'float64' ? 'F64' : 'I32';
      bytes = bytesOf(flat);
    }
    out.push({ name, dtype, shape: [...t.shape], bytes });
  }
  out.sort((a, b) => ALIGNMENT_RANK[b.dtype] - ALIGNMENT_RANK[a.dtype] || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return out;
}

function metadataEntries(op: string, metadata: Record<string, string> | null | undefined): [string, string][] | null {
  if (metadata === undefined || metadata === null) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata) || isTensor(metadata)) {
    throw new Error(`${op}: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  const out = Object.entries(metadata);
  for (const [k, v] of out) {
    checkText(op, 'metadata key', k);
    if (typeof v !== 'string') {
      throw new Error(`${op}: metadata["${k}"] must be a string (the format stores only strings), got ${describe(v)}`);
    }
    checkText(op, `metadata["${k}"]`, v);
  }
  return out;
}

/** The 8-byte length and the JSON header, padded with spaces to a multiple of 8 bytes as the
 *  reference serializer does (so the data section starts 8-byte aligned). */
function encodeHeader(op: string, entries: OutEntry[], metadata: [string, string][] | null): Uint8Array {
  // Composed by hand: a JS object would move integer-like keys ("0", "1") to the front.
  const parts: string[] = [];
  if (metadata !== null) {
    parts.push(`"__metadata__":{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const e of entries) {
    const info = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`);
    offset += e.bytes.length;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) {
    throw new Error(`${op}: the header would be ${padded} bytes, above the ${MAX_HEADER_BYTES / 1e6} MB limit of the format (too many tensors or too much metadata)`);
  }
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

// ---- shared -------------------------------------------------------------------------------

function bytesOf(a: AnyArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Strings become UTF-8 JSON; a lone surrogate has no UTF-8 form and would make the header unreadable. */
function checkText(op: string, what: string, s: string): void {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)) {
    throw new Error(`${op}: ${what} ${JSON.stringify(s)} contains a lone UTF-16 surrogate, which has no UTF-8 form`);
  }
}

function requireLittleEndian(op: string): void {
  if (endianness() !== 'LE') throw new Error(`${op}: safetensors data is little-endian and this machine is big-endian, which ferrograd does not support`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (isTensor(v)) return `a Tensor of shape ${fmtShape(v.shape)}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'no prototype'})`;
  return `${typeof v} ${String(v)}`;
}
