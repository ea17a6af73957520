// compile(fn): the same function, replayed from a recording after the first calls.
//
// Per shape of the arguments (tensor shapes, dtypes and layouts, and the values of number,
// string and boolean arguments), calls go through three phases:
//   1. the first call runs fn eagerly and records it;
//   2. the second call runs fn eagerly and records it again; the two recordings must be the same
//      tensor program (else fn depends on data in a way a replay would miss: refused, with the
//      op that differs). Then the step is replayed once from the state before this call, with
//      the step's buffers scrambled, and must reproduce the eager call bit for bit (the state
//      arrays, the generators and the result); anything the recording missed shows up here and
//      is refused, never replayed silently wrong;
//   3. later calls replay the tape: the recorded kernels over the same buffers, host ops for the
//      work done in TypeScript (random draws, index row ids, the optimizer's step). With the
//      native addon the kernels (with index row ids, crossEntropy's loss value and optim.SGD's
//      update) are handed to it once and run as segments, one native call each, between the
//      host ops that stay in TypeScript (native-plan.ts; the verification replay runs them too).
// As in jax.jit, what fn reads from its closure is fixed when it is recorded (learning rates
// that change: pass them as arguments, or let an optimizer's schedule change them), and plain
// JavaScript side effects of fn (counters, logging) happen only in the recorded calls.
import type { AnyArray } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import type { Generator } from '../random/generator.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import { CompileRefusal, Recording } from './recording.js';
import { Tape } from './tape.js';
import { compareRecordings, sameBits } from './compare.js';

/** How many argument shapes one compiled function keeps recordings for (the makemore command
 *  meets one per batch length: up to 16 for names.txt). */
const CACHE_SIZE = 16;
/** Recordings tried before two must agree (the first call may create optimizer state lazily). */
const MAX_RECORDINGS = 3;

export interface CompileOptions {
  /** Check the first replay against an eager run (default true; false skips the extra step). */
  verify?: boolean;
  /** Without it, a call compile cannot record faithfully throws an Error saying why (after fn
   *  ran to the end, eagerly). With it, the reason is passed here once, and from then on the
   *  compiled function simply calls fn (op by op). */
  onRefusal?: (message: string) => void;
  /** Let intermediates whose lifetimes over the step do not overlap share memory (default true).
   *  Tensors fn keeps from a recorded call (a layer's saved output, say) then hold no meaningful
   *  values after a replay; gradients left in .grad and the result stay valid either way. */
  shareBuffers?: boolean;
}

interface Entry {
  recordings: number;
  last: { rec: Recording; tape: Tape } | null;
  tape: Tape | null;
}

/** What a compiled function reports about itself (for tests and benchmarks). */
export interface CompiledInfo {
  /** Recorded (eager) calls and replayed calls so far. */
  recorded: number;
  replayed: number;
  /** Argument shapes with a finished tape. */
  compiledShapes: number;
  /** Kernel calls and host ops in the most recent tape. */
  kernels: number;
  hostOps: number;
  /** Native calls per replay of that tape (its kernels in segments between the host ops that
   *  run in TypeScript); 0 when it replays kernel by kernel. */
  segments: number;
  /** That tape's shared intermediates: their bytes laid out one by one, and in the shared arena. */
  separateBytes: number;
  arenaBytes: number;
}

export type Compiled<A extends unknown[], R> = ((...args: A) => R) & { readonly info: CompiledInfo };

export function compile<A extends unknown[], R>(fn: (...args: A) => R, _opts: CompileOptions = {}): Compiled<A, R> {
  if (typeof fn !== 'function') throw new TypeError(`compile: expected a function, got ${fn === null ? 'null' : typeof fn}`);
  const cache = new Map<string, Entry>();
  const info: CompiledInfo = { recorded: 0, replayed: 0, compiledShapes: 0, kernels: 0, hostOps: 0, segments: 0, separateBytes: 0, arenaBytes: 0 };
  const inputs: Tensor[] = [];
  // The last call's arguments and tape: a call with the same arguments (the same tensors, with
  // the same storage) skips building the key (no allocation per step).
  let lastArgs: unknown[] = [];
  let lastData: unknown[] = [];
  let lastTape: Tape | null = null;
  let lastGrad = true;

  /** The memory the tapes' shared intermediates live in (see Tape.share). */
  let arena: ArrayBuffer | null = null;
  let eagerOnly = false;
  /** A refused call: fn already ran eagerly (result is its result). */
  const refused = (message: string, result: R): R => {
    if (_opts.onRefusal === undefined) throw new Error(message);
    eagerOnly = true;
    cache.clear();
    lastTape = null;
    _opts.onRefusal(message);
    return result;
  };

  const compiled = (...args: A): R => {
    if (eagerOnly) return fn(...args);
    const grad = isGradEnabled();
    if (lastTape !== null && grad === lastGrad && sameArgs(args, lastArgs, lastData)) {
      info.replayed++;
      return lastTape.replay(inputs) as R;
    }
    inputs.length = 0;
    // Grad mode decides whether ops record a graph: part of what fn does, so part of the key.
    const key = (grad ? 'G|' : 'N|') + keyOf(args, inputs);
    let entry = cache.get(key);
    if (entry !== undefined && entry.tape !== null) {
      info.replayed++;
      lastTape = entry.tape;
      lastGrad = grad;
      lastArgs = [...args];
      lastData = args.map((a) => (a instanceof Tensor ? a.data : null));
      return entry.tape.replay(inputs) as R;
    }
    lastTape = null;
    if (entry === undefined) {
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      entry = { recordings: 0, last: null, tape: null };
      cache.set(key, entry);
    }
    const tensorInputs = [...inputs];
    const before = entry.last === null ? null : saveState(entry.last.rec, entry.last.tape);
    const rec = new Recording(tensorInputs);
    const result = run(rec, () => fn(...args));
    info.recorded++;
    entry.recordings++;
    if (rec.refusal !== null) {
      cache.delete(key);
      return refused(rec.refusal, result);
    }
    let tape: Tape;
    try {
      tape = refuseAs(() => new Tape(rec, result));
    } catch (e) {
      cache.delete(key);
      return refused((e as Error).message, result);
    }
    const prev = entry.last;
    entry.last = { rec, tape };
    if (prev === null || before === null) return result;
    const diff = compareRecordings(prev.rec, rec, prev.tape.result, tape.result);
    if (diff !== null) {
      if (entry.recordings < MAX_RECORDINGS) return result;
      cache.delete(key);
      return refused(diff, result);
    }
    // One arena for all the shapes' tapes (the largest so far): they never replay at once.
    if (_opts.shareBuffers !== false) {
      const used = tape.share(rec, result, arena);
      if (used !== null && (arena === null || used.byteLength > arena.byteLength)) {
        arena = used;
        for (const e of cache.values()) e.tape?.moveArena(used);
      }
    }
    // The result as replays return it (tensors copied): the tape reuses this call's buffers.
    const fresh = tape.result.build() as R;
    if (_opts.verify !== false) {
      try {
        verify(tape, tensorInputs, fresh, before, rec);
      } catch (e) {
        cache.delete(key);
        return refused((e as Error).message, fresh);
      }
    }
    entry.tape = tape;
    entry.last = null;
    rec.release();
    prev.rec.release();
    info.compiledShapes++;
    info.kernels = tape.steps.filter((s) => s.kind !== 'host').length;
    info.hostOps = tape.steps.length - info.kernels;
    info.segments = tape.segments;
    info.separateBytes = tape.sharing.separateBytes;
    info.arenaBytes = tape.sharing.arenaBytes;
    return fresh;
  };
  Object.defineProperty(compiled, 'info', { value: info });
  return compiled as Compiled<A, R>;
}

function sameArgs(args: readonly unknown[], last: readonly unknown[], lastData: readonly unknown[]): boolean {
  if (args.length !== last.length) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!Object.is(a, last[i])) return false;
    if (a instanceof Tensor && a.data !== lastData[i]) return false;
  }
  return true;
}

function run<T>(rec: Recording, body: () => T): T {
  try {
    return rec.run(body);
  } catch (e) {
    if (e instanceof CompileRefusal) throw new Error(e.message);
    throw e;
  }
}

function refuseAs<T>(body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof CompileRefusal) throw new Error(e.message);
    throw e;
  }
}

/** The cache key of one call; collects its tensor arguments into `inputs`. */
function keyOf(args: readonly unknown[], inputs: Tensor[]): string {
  let key = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof Tensor) {
      inputs.push(a);
      key += `T${a.dtype}[${a.shape.join(',')}]s${a.strides.join(',')}o${a.offset}n${a.data.length}|`;
    } else if (typeof a === 'number') key += Object.is(a, -0) ? 'N-0|' : `N${a}|`;
    else if (typeof a === 'string' || typeof a === 'boolean' || a === undefined || a === null) key += `${JSON.stringify(a) ?? 'u'}|`;
    else {
      throw new TypeError(
        `compile: argument ${i} is ${Array.isArray(a) ? 'an array' : `a ${typeof a}`}; a compiled function takes tensors, numbers, strings and booleans (capture modules and optimizers in its closure)`,
      );
    }
  }
  return key;
}

// ---- verification ---------------------------------------------------------------------------

interface SavedState {
  arrays: { array: AnyArray; copy: AnyArray }[];
  generators: { g: Generator; state: Uint32Array }[];
  optimizers: { opt: Optimizer; state: OptimizerStateDict }[];
}

function saveState(rec: Recording, tape: Tape): SavedState {
  const arrays = tape.persistent.map((array) => ({ array, copy: array.slice() }));
  for (const [a, c] of rec.classes) if (c.kind === 'persistent' && !tape.persistent.includes(a)) arrays.push({ array: a, copy: a.slice() });
  return {
    arrays,
    generators: [...rec.generators].map((g) => ({ g, state: g.getState() })),
    optimizers: [...rec.optimizers].map((opt) => ({ opt, state: opt.stateDict() })),
  };
}

function restoreState(s: SavedState): void {
  for (const { array, copy } of s.arrays) array.set(copy as never);
  for (const { g, state } of s.generators) g.setState(state);
  for (const { opt, state } of s.optimizers) if (!restoreInPlace(opt, state)) opt.loadStateDict(state);
}

/** Puts a saved state dict back into the optimizer's own state tensors (values copied in place,
 *  counters and group options set back), so that the native updates planned over those tensors
 *  (every recorded shape's tape holds one) stay valid; loadStateDict would replace the tensors
 *  and make each of them plan again. False, changing nothing, when the state's structure is not
 *  the saved one (entries created or dropped since): then loadStateDict does it. */
function restoreInPlace(opt: Optimizer, sd: OptimizerStateDict): boolean {
  if (sd.paramGroups.length !== opt.paramGroups.length) return false;
  const writes: (() => void)[] = [];
  let index = 0;
  for (const group of opt.paramGroups) {
    for (const p of group.params) {
      const saved = sd.state[index++];
      const live = opt.state.get(p) as Record<string, unknown> | undefined;
      if (saved === undefined || live === undefined) {
        if (saved !== live) return false;
        continue;
      }
      const keys = Object.keys(saved);
      if (keys.length !== Object.keys(live).length) return false;
      for (const k of keys) {
        const v = saved[k];
        const w = live[k];
        if (v instanceof Tensor) {
          if (!(w instanceof Tensor) || w.dtype !== v.dtype || !w.isContiguous() || w.shape.join() !== v.shape.join()) return false;
          writes.push(() => w.flat().set(v.contiguous().flat() as never));
        } else {
          if (w instanceof Tensor || !(k in live)) return false;
          writes.push(() => {
            live[k] = v;
          });
        }
      }
    }
  }
  if (Object.keys(sd.state).some((k) => Number(k) >= index)) return false;
  for (const w of writes) w();
  sd.paramGroups.forEach((saved, gi) => {
    const group = opt.paramGroups[gi] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(saved)) if (k !== 'params' && k !== 'paramNames') group[k] = Array.isArray(v) ? [...v] : v;
  });
  return true;
}

/** Replay the step from the state before the eager call and require the same bits. */
function verify(tape: Tape, inputs: Tensor[], eagerResult: unknown, before: SavedState, rec: Recording): void {
  const after = saveState(rec, tape);
  // The gradients left in .grad buffers are the step's output too (the caller reads them).
  const grads = [...rec.escaping].map((array) => ({ array, copy: array.slice() }));
  const restoreAfter = () => {
    restoreState(after);
    for (const { array, copy } of grads) array.set(copy as never);
  };
  restoreState(before);
  tape.scramble();
  let replayed: unknown;
  try {
    replayed = tape.replay(inputs);
  } catch (e) {
    restoreAfter();
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`compile: the replayed step failed where the eager call succeeded (${msg}); fn does work in TypeScript that compile does not record, so it cannot be compiled`);
  }
  for (let i = 0; i < after.arrays.length; i++) {
    const { array, copy } = after.arrays[i];
    if (sameBits(array, copy)) continue;
    const writer = tape.writerOf(array);
    restoreAfter();
    throw new Error(
      `compile: a replayed step does not reproduce the eager call: state ${rec.arrayId(array)} differs${writer === null ? ' (fn changes it in TypeScript, outside the kernels and host ops compile records)' : ` (last written by ${writer})`}; this fn cannot be compiled`,
    );
  }
  for (const { array, copy } of grads) {
    if (sameBits(array, copy)) continue;
    const writer = tape.writerOf(array);
    restoreAfter();
    throw new Error(
      `compile: a replayed step does not reproduce the eager call: gradient ${rec.arrayId(array)} differs${writer === null ? '' : ` (last written by ${writer})`}; fn changes it, or a value it depends on, in TypeScript outside the kernels and host ops compile records, so it cannot be compiled`,
    );
  }
  if (!sameResult(eagerResult, replayed)) {
    restoreAfter();
    throw new Error('compile: a replayed step does not reproduce the eager call: the result differs (fn computes part of it in TypeScript that compile does not record); this fn cannot be compiled');
  }
}

function sameResult(a: unknown, b: unknown): boolean {
  if (typeof a === 'number') return Object.is(a, b);
  if (a instanceof Tensor) {
    return b instanceof Tensor && a.dtype === b.dtype && a.shape.join() === b.shape.join() && sameBits(a.contiguous().flat(), b.contiguous().flat());
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameResult(x, b[i]));
  if (a !== null && typeof a === 'object') {
    const o = b as Record<string, unknown>;
    return Object.keys(a).every((k) => sameResult((a as Record<string, unknown>)[k], o[k]));
  }
  return Object.is(a, b);
}
