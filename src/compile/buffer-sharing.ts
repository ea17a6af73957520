// Buffer sharing between the intermediates of a tape: each recorded step buffer keeps its own
// memory otherwise, so a compiled step held one buffer per intermediate (and one set per argument
// shape). Here the step buffers that only kernels touch are laid out in one arena, and two whose
// lifetimes over the tape do not overlap (the last step that uses one comes before the first that
// uses the other) get the same bytes. Every such buffer is written in full before it is read in a
// replay (the recording refuses or snapshots anything else: see recording.ts, constants), so what
// a buffer held before its first use never matters; the verification replay (over scrambled
// buffers) checks the shared layout like any other.
//
// Not shared (they keep their memory): constants of the step, buffers a host op reads or writes
// (its closures may hold them: gradients passed to the optimizer, index rows, draws), what the
// result is built from (tensors returned, values read with item()), 0-d operands read as scalars,
// and every gradient left in a tensor's .grad (read after the step).
import type { AnyArray } from '../backend/backend.js';

/** One contiguous byte range of a recording's memory that the tape uses: the union of the views
 *  over it, with the steps that first and last use any of them. */
interface Region {
  readonly buffer: ArrayBufferLike;
  start: number;
  end: number;
  first: number;
  last: number;
  excluded: boolean;
  offset: number;
}

const ALIGN = 64;

export interface SharedLayout {
  /** Old array -> its view into the arena. */
  readonly moved: Map<AnyArray, AnyArray>;
  /** Bytes of the shareable buffers laid end to end, and of the arena part they occupy. */
  readonly separateBytes: number;
  readonly arenaBytes: number;
  /** The arena (the one passed in when it was large enough). */
  readonly memory: ArrayBuffer | null;
}

/**
 * `uses[i]` lists the arrays step i uses; `shareable(a)` says whether an array is one of the
 * step's own buffers (not state, not an argument). Arrays in `keep` (and anything overlapping
 * them) stay where they are. `arena` is reused when it is large enough: the tapes of one compiled
 * function never run at the same time, and nothing in the arena lives from one replay to the next.
 */
export function shareBuffers(
  uses: readonly (readonly unknown[])[], shareable: (a: AnyArray) => boolean, keep: Iterable<AnyArray>, arena0: ArrayBuffer | null,
): SharedLayout {
  type Use = { a: AnyArray; at: number };
  const byBuffer = new Map<ArrayBufferLike, Use[]>();
  const add = (a: AnyArray, at: number) => {
    let list = byBuffer.get(a.buffer);
    if (list === undefined) byBuffer.set(a.buffer, (list = []));
    list.push({ a, at });
  };
  uses.forEach((list, at) => {
    for (const v of list) if (ArrayBuffer.isView(v) && (v as AnyArray).byteLength > 0 && shareable(v as AnyArray)) add(v as AnyArray, at);
  });
  const kept = new Map<ArrayBufferLike, [number, number][]>();
  for (const a of keep) {
    if (!byBuffer.has(a.buffer)) continue;
    let list = kept.get(a.buffer);
    if (list === undefined) kept.set(a.buffer, (list = []));
    list.push([a.byteOffset, a.byteOffset + a.byteLength]);
  }
  // Regions: overlapping views of one buffer merged (aligned down so that every view keeps its
  // element alignment when moved).
  const regions: Region[] = [];
  const regionOf = new Map<AnyArray, Region>();
  for (const [buffer, list] of byBuffer) {
    const mine = regions.length;
    list.sort((x, y) => x.a.byteOffset - y.a.byteOffset);
    let cur: Region | null = null;
    for (const { a, at } of list) {
      const s = a.byteOffset - (a.byteOffset % 8);
      const e = a.byteOffset + a.byteLength;
      if (cur === null || s >= cur.end) {
        cur = { buffer, start: s, end: e, first: at, last: at, excluded: false, offset: -1 };
        regions.push(cur);
      } else {
        cur.end = Math.max(cur.end, e);
        cur.first = Math.min(cur.first, at);
        cur.last = Math.max(cur.last, at);
      }
      regionOf.set(a, cur);
    }
    for (const [s, e] of kept.get(buffer) ?? []) {
      for (let i = mine; i < regions.length; i++) if (s < regions[i].end && e > regions[i].start) regions[i].excluded = true;
    }
  }
  // Linear scan over the tape: a region takes a free block of its (rounded) size or a new one at
  // the end of the arena; its block is free again after its last step (not at it: a kernel's
  // inputs and outputs must stay distinct).
  const live = regions.filter((r) => !r.excluded).sort((x, y) => x.first - y.first || x.last - y.last);
  const free = new Map<number, number[]>();
  const endingAt = new Map<number, Region[]>();
  let arena = 0;
  let separate = 0;
  let k = 0;
  for (let at = 0; at < uses.length; at++) {
    for (; k < live.length && live[k].first === at; k++) {
      const r = live[k];
      const size = Math.ceil((r.end - r.start) / ALIGN) * ALIGN;
      separate += r.end - r.start;
      const blocks = free.get(size);
      r.offset = blocks !== undefined && blocks.length > 0 ? blocks.pop()! : ((arena += size), arena - size);
      let list = endingAt.get(r.last);
      if (list === undefined) endingAt.set(r.last, (list = []));
      list.push(r);
    }
    for (const r of endingAt.get(at) ?? []) {
      const size = Math.ceil((r.end - r.start) / ALIGN) * ALIGN;
      let blocks = free.get(size);
      if (blocks === undefined) free.set(size, (blocks = []));
      blocks.push(r.offset);
    }
  }
  const moved = new Map<AnyArray, AnyArray>();
  if (live.length === 0) return { moved, separateBytes: 0, arenaBytes: 0, memory: null };
  const memory = arena0 !== null && arena0.byteLength >= arena ? arena0 : new ArrayBuffer(arena);
  for (const [a, r] of regionOf) {
    if (r.excluded) continue;
    const Ctor = a.constructor as new (b: ArrayBufferLike, off: number, n: number) => AnyArray;
    moved.set(a, new Ctor(memory, r.offset + (a.byteOffset - r.start), a.length));
  }
  return { moved, separateBytes: separate, arenaBytes: arena, memory };
}
