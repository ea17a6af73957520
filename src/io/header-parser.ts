// The reference safetensors header parser: the `safetensors` crate, compiled into the native addon
// (crates/node/src/safetensors.rs). Loaded through the same binding search as the kernels
// (src/backend/native-binding.ts: a local build, then a prebuilt platform package); require()
// caches the module, so this is the very addon the native backend uses.
import { createRequire } from 'node:module';
import { loadBinding } from '../backend/native-binding.js';

export interface HeaderEntry {
  name: string;
  /** The format's dtype name ("F32", "I64", "BF16", ...). */
  dtype: string;
  shape: number[];
  /** Byte offsets into the data section (which starts right after the header). */
  begin: number;
  end: number;
}

export interface ParsedHeader {
  /** In the order of their data in the file. */
  tensors: HeaderEntry[];
  /** Sorted by key; absent when the file has no __metadata__. */
  metadata?: { key: string; value: string }[] | null;
}

/** Validates `header` (the JSON bytes) of a file whose data section holds `dataLen` bytes;
 *  throws an Error naming the fault (and the tensor) otherwise. */
export type ParseHeader = (header: Uint8Array, dataLen: number) => ParsedHeader;

// From src/io/ (tsx, vitest) the addon is two levels up; from dist/src/io/ three.
const CANDIDATES = ['../../native/ferrograd.node', '../../../native/ferrograd.node'];

let parser: ParseHeader | null = null;
let failure: string | null = null;

/** The parser, or an Error saying why it is unavailable and how to fix that. */
export function headerParser(): ParseHeader {
  if (parser !== null) return parser;
  if (failure === null) {
    const found = loadBinding<{ safetensorsParseHeader?: unknown }>(createRequire(import.meta.url), CANDIDATES);
    if (found.addon === null) {
      failure = `reading safetensors needs the native addon, whose reference parser validates the header; build it with \`npm run build:native\` (tried: ${found.errors.join('; ')})`;
    } else if (typeof found.addon.safetensorsParseHeader !== 'function') {
      failure = `the native addon (${found.from}) was built without safetensors support; rebuild it with \`npm run build:native\``;
    } else {
      parser = found.addon.safetensorsParseHeader as ParseHeader;
      return parser;
    }
  }
  throw new Error(failure);
}
