// One recording: fn runs eagerly while every kernel call, every typed array it creates and every
// piece of TypeScript work that the replay must redo ("host ops") is logged, in program order.
//
// How arrays are told apart (what the replay does with each):
//   - created during the call (typed-array constructors are wrapped while recording): the step's
//     own buffers, which the replay reuses every step (planned once: the recording's arrays);
//   - views of fn's tensor arguments: rebound to each call's arguments;
//   - anything else (parameters, optimizer and module state, datasets): persistent, read and
//     updated in place by the replay.
// A buffer of the step that a kernel reads before any kernel or host op wrote it was filled in
// JavaScript (ones() for the backward seed, a literal tensor): its contents are snapshotted, and
// compile() accepts it only if two recordings agree on them (otherwise the values came from data,
// Math.random or other work the recording cannot see, and the call is refused).
import type { AnyArray, Backend } from '../backend/backend.js';
import { _setKernelInterceptor } from '../backend/index.js';
import { Tensor, _setTensorCreationHook } from '../tensor/tensor.js';
import { Generator } from '../random/generator.js';
import { Optimizer } from '../optim/optimizer.js';
import { isKernelName, KERNEL_EFFECTS, readsOf, type KernelName } from './kernel-effects.js';
import type { HostOp } from './host-ops.js';
import { _setHostWorkSink } from './host-work.js';
import { makeEmbeddingOp, makeFill, makeIndexOp, makeOptimizerStep, makeRandomFill } from './host-ops.js';
import { Embedding } from '../nn/embedding.js';

export interface KernelCall {
  readonly kind: 'kernel';
  readonly name: KernelName;
  readonly backend: Backend;
  /** Arguments as passed (number arrays copied). */
  readonly args: unknown[];
  /** The kernel's return value (crossEntropyForward returns the summed loss). */
  ret: unknown;
  /** For a scalar argument that the op read from a one-element tensor of the step (a 0-d
   *  operand of add/mul/...): which argument, and the array it is read from on replay. */
  scalarFrom?: { arg: number; array: AnyArray; index: number };
}

export interface HostCall {
  readonly kind: 'host';
  readonly op: HostOp;
}

export type Entry = KernelCall | HostCall;

/** A value fn read back with item(): where it came from and what it was. */
export interface ItemRead {
  readonly array: AnyArray;
  readonly index: number;
  readonly value: number;
  /** How many entries the recording had when it was read (its place in the program). */
  readonly at: number;
}

export type ArrayClass =
  | { readonly kind: 'step' }
  | { readonly kind: 'input'; readonly input: number; readonly elementOffset: number }
  | { readonly kind: 'persistent' };

type TypedCtor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;

/** Thrown (by the recording's hooks) for work compile refuses; compile() re-throws it. */
export class CompileRefusal extends Error {}

let active: Recording | null = null;

/** The recording in progress, if any. */
export function activeRecording(): Recording | null {
  return active;
}

export class Recording {
  readonly entries: Entry[] = [];
  readonly items: ItemRead[] = [];
  /** Typed arrays (views) and buffers created during the call. */
  private readonly createdViews = new WeakSet<object>();
  private readonly createdBuffers = new WeakSet<ArrayBufferLike>();
  /** Written element ranges per buffer during the step (by kernels and host ops), in bytes. */
  private readonly written = new Map<ArrayBufferLike, [number, number][]>();
  /** Step buffers read before written: their contents at that first read, and who read it. */
  readonly constants = new Map<AnyArray, { snapshot: AnyArray; reader: string }>();
  /** Class of every array seen (kernels and host ops). */
  readonly classes = new Map<AnyArray, ArrayClass>();
  /** Generators and optimizers the host ops use (their state is saved around the verification). */
  readonly generators = new Set<Generator>();
  readonly optimizers = new Set<Optimizer>();
  /** Set by the kernel wrapper after crossEntropyForward: the next 1-element float array created
   *  is that op's loss (its value is computed in TypeScript from the kernel's result). */
  pendingLoss: { call: KernelCall; created: AnyArray | null } | null = null;
  readonly losses: { call: KernelCall; out: AnyArray }[] = [];
  /** The gradients backward() left in tensors' .grad (read after the step: never shared). */
  readonly escaping = new Set<AnyArray>();
  /** The tensors of the graphs backward() ran over: those whose buffers move into the shared
   *  arena are marked stale (tape.ts), so a later read of one is an error, not old values. */
  readonly graphTensors: Tensor[] = [];
  /** Every tensor constructed during the call (weakly: most are garbage by its end). */
  readonly created: WeakRef<Tensor>[] = [];
  /** The .grad each backward left on the graph's tensors (the last one per tensor). */
  readonly gradsLeft = new Map<Tensor, Tensor>();
  private paused = 0;
  /** The first reason this call cannot be compiled (fn still runs to the end, eagerly). */
  refusal: string | null = null;

  /** Drops what the recording learnt about its arrays, once its tape is final (closures of the
   *  tape's host ops may keep the recording reachable; its maps must not keep the buffers the
   *  tape no longer uses, those moved into the shared arena, alive). */
  release(): void {
    this.written.clear();
    this.constants.clear();
    this.classes.clear();
    this.ids.clear();
    this.partial.clear();
    this.entries.length = 0;
    this.items.length = 0;
    this.losses.length = 0;
    this.escaping.clear();
    this.graphTensors.length = 0;
    this.gradsLeft.clear();
    this.created.length = 0;
    this.captured = null;
    this.pendingLoss = null;
  }

  refuse(message: string): void {
    if (this.refusal === null) this.refusal = message;
  }

  constructor(readonly inputs: readonly Tensor[]) {}

  // ---- classification ---------------------------------------------------------------------

  /** A token for an array, equal between two recordings of the same program: step buffers are
   *  numbered in order of first use, arguments by position, persistent arrays by identity. */
  arrayId(a: AnyArray): string {
    this.classify(a);
    return this.ids.get(a)!;
  }

  private readonly ids = new Map<AnyArray, string>();
  private stepCount = 0;

  isWritten(a: AnyArray): boolean {
    return this.coveredByWrites(a);
  }

  classify(a: AnyArray): ArrayClass {
    let c = this.classes.get(a);
    if (c !== undefined) return c;
    c = this.classifyNew(a);
    this.classes.set(a, c);
    const kind = a.constructor.name;
    this.ids.set(
      a,
      c.kind === 'step' ? `step#${this.stepCount++}(${kind} ${a.length})`
        : c.kind === 'input' ? `argument ${c.input}+${c.elementOffset}(${kind} ${a.length})`
          : `state#${persistentId(a)}(${kind} ${a.length})`,
    );
    return c;
  }

  private classifyNew(a: AnyArray): ArrayClass {
    let c: ArrayClass;
    if (this.createdViews.has(a) || this.createdBuffers.has(a.buffer)) c = { kind: 'step' };
    else {
      c = { kind: 'persistent' };
      for (let i = 0; i < this.inputs.length; i++) {
        const d = this.inputs[i].data;
        if (d.buffer !== a.buffer) continue;
        const rel = a.byteOffset - d.byteOffset;
        if (rel >= 0 && rel + a.byteLength <= d.byteLength && a.BYTES_PER_ELEMENT === d.BYTES_PER_ELEMENT) {
          c = { kind: 'input', input: i, elementOffset: rel / a.BYTES_PER_ELEMENT };
          break;
        }
        // Another tensor carved from the same memory (small tensors share slabs): not this argument.
        if (rel < d.byteLength && rel + a.byteLength > 0) {
          throw new CompileRefusal(
            `compile: argument ${i} (shape [${this.inputs[i].shape.join(', ')}]) overlaps another array the step uses; pass a tensor with storage of its own (clone() it)`,
          );
        }
      }
    }
    return c;
  }

  /** Note that a's elements are written in the step (by a kernel or a host op). */
  markWritten(a: AnyArray): void {
    const list = this.written.get(a.buffer);
    const r: [number, number] = [a.byteOffset, a.byteOffset + a.byteLength];
    if (list === undefined) this.written.set(a.buffer, [r]);
    else list.push(r);
  }

  private coveredByWrites(a: AnyArray): boolean {
    const list = this.written.get(a.buffer);
    if (list === undefined) return false;
    // Cover [start, end) by the union of the written ranges.
    let pos = a.byteOffset;
    const end = a.byteOffset + a.byteLength;
    let progressed = true;
    while (pos < end && progressed) {
      progressed = false;
      for (const [s, e] of list) {
        if (s <= pos && e > pos) {
          pos = e;
          progressed = true;
        }
      }
    }
    return pos >= end;
  }

  /** Note a read: a step buffer that nothing in the step wrote yet is a constant of the step.
   *  `reader` names the kernel; with `whole`, it names what the buffer is (fn's result). */
  noteRead(a: AnyArray, reader: string, whole = false): void {
    const c = this.classify(a);
    if (c.kind !== 'step' || this.constants.has(a) || this.coveredByWrites(a)) return;
    const where = whole
      ? `${reader} (${this.arrayId(a)})`
      : `an input of ${reader} (operation ${this.entries.length} of fn, reading ${this.arrayId(a)})`;
    const part = this.partial.get(a);
    if (part !== undefined) {
      // Partly overwritten by strided copies (a slice's backward into zeros): what the replay
      // must restore is the content before those copies.
      this.partial.delete(a);
      this.constants.set(a, { snapshot: part.snapshot, reader: where });
      this.markWritten(a);
      return;
    }
    this.constants.set(a, { snapshot: a.slice(), reader: where });
  }

  /** Step buffers written only in part so far (by strided copies): their content before the
   *  first such write, and which elements have been written since. */
  private readonly partial = new Map<AnyArray, { snapshot: AnyArray; covered: Uint8Array; left: number }>();

  /** A copy kernel's write into dst (offset, strides, shape): full writes count as written;
   *  partial ones are tracked element by element until they cover the array. */
  noteStridedWrite(dst: AnyArray, off: number, strides: readonly number[], shape: readonly number[]): boolean {
    const n = shape.reduce((x, y) => x * y, 1);
    let contiguous = off === 0 && n === dst.length;
    let expected = 1;
    for (let i = shape.length - 1; i >= 0 && contiguous; i--) {
      if (shape[i] !== 1 && strides[i] !== expected) contiguous = false;
      expected *= shape[i];
    }
    if (contiguous || this.classify(dst).kind !== 'step' || this.constants.has(dst) || this.coveredByWrites(dst)) return false;
    let part = this.partial.get(dst);
    if (part === undefined) {
      part = { snapshot: dst.slice(), covered: new Uint8Array(dst.length), left: dst.length };
      this.partial.set(dst, part);
    }
    const rank = shape.length;
    const idx = new Array<number>(rank).fill(0);
    let pos = off;
    for (let k = 0; k < n; k++) {
      if (part.covered[pos] === 0) {
        part.covered[pos] = 1;
        part.left--;
      }
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]++;
        pos += strides[d];
        if (idx[d] < shape[d]) break;
        pos -= strides[d] * shape[d];
        idx[d] = 0;
      }
    }
    if (part.left === 0) {
      this.partial.delete(dst);
      this.markWritten(dst);
    }
    return true;
  }

  // ---- the hooks --------------------------------------------------------------------------

  /** The backend every op sees while recording: logs each call, then runs it. */
  private wrap(be: Backend): Backend {
    let w = this.wrappers.get(be);
    if (w !== undefined) return w;
    const rec = this;
    const out: Record<string, unknown> = { name: be.name };
    for (const key of Object.keys(be)) {
      if (key === 'name') continue;
      const fn = (be as unknown as Record<string, (...a: unknown[]) => unknown>)[key];
      if (!isKernelName(key)) {
        // Thread control passes through; a kernel compile does not know must not run unrecorded.
        out[key] = key === 'setNumThreads' || key === 'getNumThreads'
          ? (...args: unknown[]) => fn.apply(be, args)
          : (...args: unknown[]) => {
            if (rec.paused === 0) rec.refuse(`compile: the kernel ${key} has no entry in src/compile/kernel-effects.ts, so a step that calls it cannot be recorded`);
            return fn.apply(be, args);
          };
        continue;
      }
      const name: KernelName = key;
      out[key] = (...args: unknown[]) => {
        if (rec.paused > 0) {
          rec.captured?.push({ name, backend: be, args: args.map(copyNumberArray) });
          return fn.apply(be, args);
        }
        rec.pendingLoss = null;
        const call: KernelCall = { kind: 'kernel', name, backend: be, args: args.map(copyNumberArray), ret: undefined };
        for (const i of readsOf(name, args)) {
          const a = args[i];
          if (ArrayBuffer.isView(a)) rec.noteRead(a as AnyArray, name);
        }
        const sArg = SCALAR_ARG[name];
        if (sArg !== undefined) {
          const src = rec.scalarSource(args[sArg] as number);
          if (src !== null) call.scalarFrom = { arg: sArg, ...src };
        }
        // Before the call: a partial write keeps what the buffer held before it.
        const strided = name === 'copy' && ArrayBuffer.isView(args[3])
          && rec.noteStridedWrite(args[3] as AnyArray, args[4] as number, args[5] as number[], args[6] as number[]);
        const ret = fn.apply(be, args);
        call.ret = ret;
        for (const i of KERNEL_EFFECTS[name].writes) {
          const a = args[i];
          if (strided && i === 3) continue;
          if (ArrayBuffer.isView(a)) {
            rec.classify(a as AnyArray);
            rec.markWritten(a as AnyArray);
          }
        }
        for (const a of args) if (ArrayBuffer.isView(a)) rec.classify(a as AnyArray);
        rec.entries.push(call);
        if (name === 'crossEntropyForward') rec.pendingLoss = { call, created: null };
        return ret;
      };
    }
    w = out as unknown as Backend;
    this.wrappers.set(be, w);
    return w;
  }

  private readonly wrappers = new Map<Backend, Backend>();

  /** 0-d tensor operands of the arithmetic method being recorded (innermost last): binary ops
   *  read such an operand's value in TypeScript and pass it to binaryScalar as a number, which
   *  the replay must read again from the tensor. */
  readonly scalarOperands: Tensor[] = [];

  /** The 0-d operand whose value is `v` now, if the call is inside such a method. The binding
   *  is checked like everything else: two recordings must agree on it and the verification
   *  replay must reproduce the eager call. */
  scalarSource(v: number): { array: AnyArray; index: number } | null {
    if (typeof v !== 'number') return null;
    for (let i = this.scalarOperands.length - 1; i >= 0; i--) {
      const t = this.scalarOperands[i];
      if (Object.is(t.data[t.offset], v)) return { array: t.data, index: t.offset };
    }
    return null;
  }

  addHost(op: HostOp): void {
    this.entries.push({ kind: 'host', op });
    for (const i of op.reads) this.noteRead(op.arrays[i], op.name);
    for (const i of op.writes) {
      this.classify(op.arrays[i]);
      this.markWritten(op.arrays[i]);
    }
    for (const a of op.arrays) this.classify(a);
  }

  /** Runs body with this recording's kernel log paused (the host op's own kernels run eagerly
   *  now and again on replay, so they are not part of the tape). */
  pausedRun<T>(body: () => T): T {
    this.paused++;
    try {
      return body();
    } finally {
      this.paused--;
    }
  }

  /** Kernel calls made while paused inside captureRun (what a host op's own work issued). */
  captured: { name: KernelName; backend: Backend; args: unknown[] }[] | null = null;

  /** pausedRun, also returning the kernel calls body made (for a host op's native form). */
  captureRun<T>(body: () => T): { result: T; calls: { name: KernelName; backend: Backend; args: unknown[] }[] } {
    const outer = this.captured;
    const calls: { name: KernelName; backend: Backend; args: unknown[] }[] = [];
    this.captured = calls;
    try {
      return { result: this.pausedRun(body), calls };
    } finally {
      this.captured = outer;
    }
  }

  get isPaused(): boolean {
    return this.paused > 0;
  }

  noteCreated(a: AnyArray, fresh: boolean): void {
    this.createdViews.add(a);
    if (fresh) this.createdBuffers.add(a.buffer);
    const pl = this.pendingLoss;
    if (pl !== null && pl.created === null && a.length === 1 && !(a instanceof Int32Array)) {
      pl.created = a;
      this.markWritten(a);
      this.losses.push({ call: pl.call, out: a });
      this.pendingLoss = null;
    }
  }

  noteView(a: AnyArray, parent: AnyArray): void {
    if (this.createdViews.has(parent)) this.createdViews.add(a);
  }

  /** Runs fn with the hooks installed; they are removed afterwards, also when fn throws. */
  run<T>(fn: () => T): T {
    if (active !== null) throw new CompileRefusal('compile: a compiled function was called while another one is being recorded; nested compile is not supported');
    active = this;
    const restore = installHooks(this);
    _setKernelInterceptor((be) => this.wrap(be));
    try {
      return fn();
    } finally {
      _setKernelInterceptor(null);
      restore();
      active = null;
    }
  }
}

// Persistent arrays are named by their memory (buffer, offset, length): a parameter seen through
// a fresh subarray on each call is still the same state.
const bufferIds = new WeakMap<object, number>();
let nextBufferId = 0;
function persistentId(a: AnyArray): string {
  let id = bufferIds.get(a.buffer);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(a.buffer, id);
  }
  return `${id}@${a.byteOffset}`;
}

const ARITHMETIC = [
  'add', 'sub', 'mul', 'div', 'pow', 'rsub', 'rdiv', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'add_', 'sub_', 'mul_', 'div_',
] as const;

/** Kernels whose number argument may be a 0-d tensor's value read in TypeScript. */
const SCALAR_ARG: Partial<Record<KernelName, number>> = { binaryScalar: 2, scalarInplace: 2, axpy: 0 };

function copyNumberArray(a: unknown): unknown {
  return Array.isArray(a) ? [...(a as number[])] : a;
}

// ---- hooks on globals and prototypes, installed only while recording -------------------------

type Restore = () => void;

function patch<T extends object>(obj: T, key: string, make: (orig: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown): Restore {
  const o = obj as Record<string, unknown>;
  const had = Object.prototype.hasOwnProperty.call(o, key);
  const orig = o[key] as (...a: unknown[]) => unknown;
  o[key] = make(orig);
  return () => {
    if (had) o[key] = orig;
    else delete o[key];
  };
}

function installHooks(rec: Recording): Restore {
  const restores: Restore[] = [];
  const g = globalThis as unknown as Record<string, TypedCtor>;
  for (const name of ['Float32Array', 'Float64Array', 'Int32Array'] as const) {
    const Real = g[name];
    const proxy = new Proxy(Real, {
      construct(target, args, newTarget) {
        const a = Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as AnyArray;
        // new X(n) / new X(arrayLike) allocate a fresh buffer; new X(buffer, off, len) views one.
        const fresh = !(args[0] instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && args[0] instanceof SharedArrayBuffer));
        rec.noteCreated(a, fresh);
        return a;
      },
    });
    g[name] = proxy as unknown as TypedCtor;
    restores.push(() => {
      g[name] = Real;
    });
  }
  // subarray / slice of a step buffer belong to the step too (they use the real constructor).
  const TypedArrayProto = Object.getPrototypeOf(Float32Array.prototype) as Record<string, unknown>;
  restores.push(
    patch(TypedArrayProto, 'subarray', (orig) => function (this: AnyArray, ...a: unknown[]) {
      const v = orig.apply(this, a) as AnyArray;
      rec.noteView(v, this);
      return v;
    }),
  );
  restores.push(
    patch(TypedArrayProto, 'slice', (orig) => function (this: AnyArray, ...a: unknown[]) {
      const v = orig.apply(this, a) as AnyArray;
      rec.noteCreated(v, true);
      return v;
    }),
  );
  restores.push(
    patch(TypedArrayProto, 'map', (orig) => function (this: AnyArray, ...a: unknown[]) {
      const v = orig.apply(this, a) as AnyArray;
      rec.noteCreated(v, true);
      return v;
    }),
  );
  const TP = Tensor.prototype as unknown as Record<string, unknown>;
  restores.push(
    patch(TP, 'item', (orig) => function (this: Tensor) {
      const v = orig.call(this) as number;
      if (!rec.isPaused) rec.items.push({ array: this.data, index: this.offset, value: v, at: rec.entries.length });
      return v;
    }),
  );
  for (const key of ['toArray', 'tolist'] as const) {
    restores.push(
      patch(TP, key, (orig) => function (this: Tensor) {
        if (!rec.isPaused) {
          rec.refuse(
            `compile: fn read the values of a tensor (shape [${this.shape.join(', ')}]) into JavaScript with ${key}(); what it computes from them would not change on replay. Use tensor ops, return the tensor, or read it outside the compiled function`,
          );
        }
        return orig.call(this);
      }),
    );
  }
  restores.push(
    patch(TP, 'index', (orig) => function (this: Tensor, indices: unknown) {
      if (rec.isPaused) return orig.call(this, indices);
      return makeIndexOp(rec, this, indices, () => orig.call(this, indices) as Tensor);
    }),
  );
  restores.push(
    patch(TP, 'backward', (orig) => function (this: Tensor, ...a: unknown[]) {
      if (rec.isPaused) return orig.apply(this, a);
      // The graph's tensors, found before backward() (which may free it): after it, their .grad
      // buffers are what fn's caller can read.
      const graph = new Set<Tensor>();
      const stack: Tensor[] = [this];
      while (stack.length > 0) {
        const t = stack.pop()!;
        if (graph.has(t)) continue;
        graph.add(t);
        for (const u of t.gradFn?.inputs ?? []) if (u !== null) stack.push(u);
      }
      const r = orig.apply(this, a);
      for (const t of graph) {
        if (t.grad !== null) {
          rec.escaping.add(t.grad.data);
          rec.gradsLeft.set(t, t.grad);
        }
        rec.graphTensors.push(t);
      }
      return r;
    }),
  );
  for (const key of ['fill_', 'zero_'] as const) {
    restores.push(
      patch(TP, key, (orig) => function (this: Tensor, ...a: unknown[]) {
        if (rec.isPaused) return orig.apply(this, a);
        const value = key === 'zero_' ? 0 : (a[0] as number);
        const r = orig.apply(this, a);
        makeFill(rec, this, value, key);
        return r;
      }),
    );
  }
  restores.push(
    patch(Embedding.prototype as unknown as Record<string, unknown>, 'forward', (orig) => function (this: Embedding, ...a: unknown[]) {
      const input = a[0] as Tensor;
      if (rec.isPaused) return orig.call(this, input);
      return makeEmbeddingOp(rec, input, this.weight, () => orig.call(this, input) as Tensor);
    }),
  );
  for (const key of ARITHMETIC) {
    restores.push(
      patch(TP, key, (orig) => function (this: Tensor, ...a: unknown[]) {
        if (rec.isPaused) return orig.apply(this, a);
        let pushed = 0;
        for (const t of [this, a[0]]) {
          if (t instanceof Tensor && t.shape.length === 0) {
            rec.scalarOperands.push(t);
            pushed++;
          }
        }
        try {
          return orig.apply(this, a);
        } finally {
          rec.scalarOperands.length -= pushed;
        }
      }),
    );
  }
  const GP = Generator.prototype as unknown as Record<string, unknown>;
  for (const key of ['fillRand', 'fillRandn', 'fillRandint'] as const) {
    restores.push(
      patch(GP, key, (orig) => function (this: Generator, ...a: unknown[]) {
        if (rec.isPaused) return orig.apply(this, a);
        const r = orig.apply(this, a);
        makeRandomFill(rec, this, key, a, orig);
        return r;
      }),
    );
  }
  for (const key of ['randperm', 'multinomial'] as const) {
    restores.push(
      patch(GP, key, (orig) => function (this: Generator, ...a: unknown[]) {
        if (!rec.isPaused) {
          rec.refuse(
            `compile: Generator.${key} inside a compiled function is not supported (its draws become JavaScript values the recording cannot replay); draw outside fn and pass the result as an argument, or use randint`,
          );
        }
        return orig.apply(this, a);
      }),
    );
  }
  const OP = Optimizer.prototype as unknown as Record<string, unknown>;
  restores.push(
    patch(OP, 'step', (orig) => function (this: Optimizer, ...a: unknown[]) {
      if (rec.isPaused) return orig.apply(this, a);
      if (a[0] !== undefined) {
        rec.refuse(`compile: ${this.constructor.name}.step(closure) inside a compiled function is not supported; call step() after computing the loss in fn`);
        return rec.pausedRun(() => orig.apply(this, a));
      }
      return makeOptimizerStep(rec, this, () => orig.apply(this, a));
    }),
  );
  _setTensorCreationHook((t) => {
    rec.created.push(new WeakRef(t));
  });
  restores.push(() => _setTensorCreationHook(null));
  _setHostWorkSink({
    log: (work) => {
      if (rec.isPaused) return;
      const op: HostOp = {
        name: work.name,
        arrays: [...work.arrays],
        reads: work.reads,
        writes: work.writes,
        signature: [work.name, ...work.signature],
        run: () => work.run(op.arrays),
      };
      rec.addHost(op);
    },
    refuse: (message) => {
      if (!rec.isPaused) rec.refuse(`compile: ${message}`);
    },
  });
  restores.push(() => _setHostWorkSink(null));
  const realRandom = Math.random;
  Math.random = () => {
    if (!rec.isPaused) {
      rec.refuse('compile: Math.random() was called inside a compiled function; its values cannot be replayed. Draw from a Generator (randint/randn/rand with { generator })');
    }
    return realRandom();
  };
  restores.push(() => {
    Math.random = realRandom;
  });
  return () => {
    for (let i = restores.length - 1; i >= 0; i--) restores[i]();
  };
}
