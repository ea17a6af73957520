// Host ops: the TypeScript work of a step that a replay must redo, because kernels alone do not
// reproduce it. Each is recorded at its place in the program and re-run there on replay, over the
// same arrays:
//   - random draws from a Generator (minibatch indices, dropout masks): the same generator draws
//     again, so the stream stays identical to the eager run's;
//   - integer indexing (Xtr[ix], C[X]'s row ids, nn.Embedding's ids): recomputed from the
//     current index values, with the eager path's range checks and messages;
//   - fill_/zero_ of a tensor;
//   - the loss value of crossEntropy (computed in TypeScript from the kernel's sum);
//   - optimizer.step(): the optimizer's own update, run as is (its state, step counts and
//     learning-rate schedules stay live); optim.SGD's, Adam's and AdamW's as native steps in a
//     segment of their own, guarded by what they were made from (see sgdNativeForm, adamNativeForm);
//   - the host work other modules hand over (host-work.ts): dropout masks from the draws,
//     F.embedding's ids, to(dtype), gradient clipping and others.
import type { AnyArray } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { broadcastShapes, fmtShape, numel } from '../tensor/shape.js';
import type { Generator } from '../random/generator.js';
import type { Optimizer } from '../optim/optimizer.js';
import { CompileRefusal, activeRecording, type HostCall, type KernelCall, type Recording } from './recording.js';
import type { NativeStep } from './native-plan.js';
import { SGD } from '../optim/sgd.js';
import { Adam, AdamW, writeAdamStepScalars, type AdamOptions, type AdamState } from '../optim/adam.js';
import { roundingFor, type ParamGroup } from '../optim/optimizer.js';
import { bumpVersion } from '../autograd/version.js';
import { nativeBackend } from '../backend/native.js';
import type { Backend } from '../backend/backend.js';

export interface ReplayContext {
  /** The return value of the kernel just before (crossEntropyForward's sum). */
  lastReturn: unknown;
}

export interface HostOp {
  /** Names the op in messages and tape comparisons. */
  readonly name: string;
  /** Every array it touches; run() reads them from here, so that the replay can rebind the
   *  ones that view fn's arguments. */
  readonly arrays: AnyArray[];
  /** Positions in `arrays` it reads and writes (for the read-before-write analysis). */
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  /** Values that must agree between two recordings (numbers, flags, the objects it uses). */
  readonly signature: readonly unknown[];
  run(ctx: ReplayContext): void;
  /** The same work as steps of the addon's tape (native-plan.ts), over the op's current
   *  arrays; absent or null when it has none (the op then runs here, between native segments). */
  native?(): NativeForm | null;
}

/** A host op as native steps. With a guard, the steps form a segment of their own, run only
 *  when the guard says 'ok' on that replay; otherwise the op's run() does the work ('stale':
 *  what the steps hold was replaced, so the tape makes its native plan again next time).
 *  `after` does the TypeScript part of the op after its segment ran natively. */
export interface NativeForm {
  readonly steps: readonly NativeStep[];
  readonly guard?: () => 'ok' | 'changed' | 'stale';
  /** Runs after the guard said 'ok', just before the segment (writes the scalars it reads). */
  readonly before?: () => void;
  readonly after?: () => void;
}

// ---- random draws ----------------------------------------------------------------------------

/** `draw` is the generator's own method (not the recording's hook around it). */
export function makeRandomFill(rec: Recording, gen: Generator, method: 'fillRand' | 'fillRandn' | 'fillRandint', args: unknown[], draw: (...x: unknown[]) => unknown): void {
  const a = [...args];
  const out = (method === 'fillRandint' ? a[2] : a[0]) as AnyArray;
  const fn = draw;
  rec.generators.add(gen);
  const at = method === 'fillRandint' ? 2 : 0;
  const op: HostOp = {
    name: `Generator.${method}`,
    arrays: [out],
    reads: [],
    writes: [0],
    signature: [gen, method, ...a.filter((x) => !ArrayBuffer.isView(x))],
    run: () => {
      a[at] = op.arrays[0];
      fn.apply(gen, a);
    },
  };
  rec.addHost(op);
}

// ---- integer indexing ------------------------------------------------------------------------

interface IndexView {
  data: Int32Array;
  offset: number;
  strides: number[];
}

/** Row ids of `shape` positions into dims sizes[0..L): the eager path's checks and messages. */
function computeRows(sizes: readonly number[], views: readonly IndexView[], shape: readonly number[], n: number, emit: (p: number, row: number) => void): void {
  const L = views.length;
  const rank = shape.length;
  const counters = new Array<number>(rank).fill(0);
  const offs = views.map((v) => v.offset);
  for (let p = 0; p < n; p++) {
    let row = 0;
    for (let k = 0; k < L; k++) {
      const size = sizes[k];
      let v = views[k].data[offs[k]];
      if (v < -size || v >= size) throw new Error(`index: index ${v} is out of bounds for dimension ${k} with size ${size}`);
      if (v < 0) v += size;
      row = row * size + v;
    }
    emit(p, row);
    for (let d = rank - 1; d >= 0; d--) {
      counters[d]++;
      for (let k = 0; k < L; k++) offs[k] += views[k].strides[d];
      if (counters[d] < shape[d]) break;
      for (let k = 0; k < L; k++) offs[k] -= views[k].strides[d] * counters[d];
      counters[d] = 0;
    }
  }
}

/** The fast loop for one contiguous index tensor (the lectures' Xtr[ix] and C[X]). */
function computeRows1(size: number, data: Int32Array, offset: number, n: number, emit: (p: number, row: number) => void): void {
  for (let p = 0; p < n; p++) {
    let v = data[offset + p];
    if (v < -size || v >= size) throw new Error(`index: index ${v} is out of bounds for dimension 0 with size ${size}`);
    if (v < 0) v += size;
    emit(p, v);
  }
}

function indexViewsOf(t: Tensor, indices: unknown): { views: IndexView[]; shape: number[]; sig: unknown[] } | null {
  const allNumbers = Array.isArray(indices) && indices.length > 0 && indices.every((v) => typeof v === 'number');
  const list: unknown[] = Array.isArray(indices) && !allNumbers ? indices : [indices];
  if (list.length === 0 || list.length > t.ndim || list.some((a) => a === null)) return null;
  const tensors: Tensor[] = [];
  const sig: unknown[] = [];
  for (const a of list) {
    if (a instanceof Tensor) {
      if (a.dtype !== 'int32') return null;
      tensors.push(a);
      sig.push('t', [...a.shape]);
    } else if (typeof a === 'number') {
      tensors.push(new Tensor(Int32Array.of(a), []));
      sig.push('n', a);
    } else if (a instanceof Int32Array || Array.isArray(a)) {
      const data = Int32Array.from(a as ArrayLike<number>);
      tensors.push(new Tensor(data, [data.length]));
      sig.push('a', [...data]);
    } else return null;
  }
  let shape: number[] = [];
  for (const ix of tensors) shape = broadcastShapes('index', shape, ix.shape);
  const views = tensors.map((ix) => {
    const v = ix.expand(shape);
    return { data: v.data as Int32Array, offset: v.offset, strides: [...v.strides] };
  });
  return { views, shape, sig };
}

/** t.index(indices) while recording: run it, then record how to recompute its TypeScript part. */
export function makeIndexOp(rec: Recording, t: Tensor, indices: unknown, run: () => Tensor): Tensor {
  const parsed = t instanceof Tensor ? indexViewsOf(t, indices) : null;
  const mark = rec.entries.length;
  const out = run(); // the eager op (throws its own errors for bad input)
  if (parsed === null) {
    if (rec.entries.length !== mark || out.data !== t.data) {
      rec.refuse('compile: index with null (full-slice) entries or non-integer indices inside a compiled function is not supported; permute the dims first or use integer index tensors');
    }
    return out;
  }
  const { views, shape, sig } = parsed;
  const L = views.length;
  const sizes = t.shape.slice(0, L);
  const rowSize = numel(t.shape.slice(L));
  const n = numel(shape);
  const single = L === 1 && shape.length >= 1 && isContiguousView(views[0], shape);
  const forRows = (emit: (p: number, row: number) => void) =>
    single ? computeRows1(sizes[0], views[0].data, views[0].offset, n, emit) : computeRows(sizes, views, shape, n, emit);
  // Index arrays made from plain numbers inside the call are the op's own constants.
  const reads = views.map((v) => v.data);
  if (t.dtype === 'int32') {
    if (!t.isContiguous()) {
      rec.refuse(`compile: index of a non-contiguous int32 tensor (shape ${fmtShape(t.shape)}) inside a compiled function is not supported; call contiguous() outside fn`);
      return out;
    }
    const base = t.offset;
    const dOff = out.offset;
    // The row copier is made once: a replay allocates nothing.
    let src = t.data as Int32Array;
    let dst = out.data as Int32Array;
    const copyRow = (p: number, row: number): void => {
      const s = base + row * rowSize;
      const d = dOff + p * rowSize;
      for (let j = 0; j < rowSize; j++) dst[d + j] = src[s + j];
    };
    const host: HostOp = {
      name: 'index',
      arrays: [...reads, t.data, out.data],
      reads: [...reads.keys(), L],
      writes: [L + 1],
      signature: ['index-int', [...t.shape], ...sig],
      run: () => {
        for (let k = 0; k < L; k++) views[k].data = host.arrays[k] as Int32Array;
        src = host.arrays[L] as Int32Array;
        dst = host.arrays[L + 1] as Int32Array;
        forRows(copyRow);
      },
      native: single
        ? () => one(nativeGather(host.arrays[0] as Int32Array, views[0].offset, n, sizes[0], host.arrays[L + 1] as Int32Array, dOff, { src: host.arrays[L] as Int32Array, srcBase: base, rowSize }))
        : undefined,
    };
    spliceHost(rec, mark, host);
    return out;
  }
  // Float source: the row ids feed indexSelect (and the backward's indexAdd).
  const select = rec.entries.slice(mark).find((e) => e.kind === 'kernel' && e.name === 'indexSelect') as KernelCall | undefined;
  if (select === undefined) {
    if (n * rowSize === 0) return out;
    rec.refuse('compile: index: the recorded op did not gather with indexSelect; compile cannot replay it');
    return out;
  }
  let rows = select.args[2] as Int32Array;
  const setRow = (p: number, row: number): void => {
    rows[p] = row;
  };
  const host: HostOp = {
    name: 'index',
    arrays: [...reads, rows],
    reads: [...reads.keys()],
    writes: [L],
    signature: ['index-rows', [...t.shape], ...sig],
    run: () => {
      for (let k = 0; k < L; k++) views[k].data = host.arrays[k] as Int32Array;
      rows = host.arrays[L] as Int32Array;
      forRows(setRow);
    },
    native: single ? () => one(nativeGather(host.arrays[0] as Int32Array, views[0].offset, n, sizes[0], host.arrays[L] as Int32Array, 0, null)) : undefined,
  };
  spliceHost(rec, mark, host);
  return out;
}

const one = (step: NativeStep | null): NativeForm | null => (step === null ? null : { steps: [step] });

/** Whether elements [aOff, aOff + aLen) of `a` and [bOff, bOff + bLen) of `b` share bytes. */
function int32Overlap(a: Int32Array, aOff: number, aLen: number, b: Int32Array, bOff: number, bLen: number): boolean {
  if (a.buffer !== b.buffer || aLen === 0 || bLen === 0) return false;
  const a0 = a.byteOffset + 4 * aOff;
  const b0 = b.byteOffset + 4 * bOff;
  return a0 < b0 + 4 * bLen && b0 < a0 + 4 * aLen;
}

/** computeRows1 as a native step: rows (or row ids when `copy` is null) of n contiguous indices
 *  into a dim of `size`, with the same range check and message. Null when the output overlaps
 *  what it reads (then the TypeScript loop keeps its element order). Overlap, not the same
 *  ArrayBuffer: int32 tensors are carved from shared slabs, so Xtr[ix]'s ix and output usually
 *  share one, and refusing those sent the part 3 gathers to the TypeScript loop (~90 µs a step
 *  at batch 1024, a cache miss per row). */
function nativeGather(
  idx: Int32Array, idxOffset: number, n: number, size: number, out: Int32Array, outOffset: number,
  copy: { src: Int32Array; srcBase: number; rowSize: number } | null,
): NativeStep | null {
  const outLen = n * (copy?.rowSize ?? 1);
  if (int32Overlap(out, outOffset, outLen, idx, idxOffset, n)) return null;
  if (copy !== null && int32Overlap(out, outOffset, outLen, copy.src, copy.srcBase, size * copy.rowSize)) return null;
  return { gather: copy === null ? 'ids' : 'rows', idx, idxOffset, n, size, out, outOffset, src: copy?.src ?? null, srcBase: copy?.srcBase ?? 0, rowSize: copy?.rowSize ?? 1 };
}

function isContiguousView(v: IndexView, shape: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && v.strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Insert a host op before the kernels an op issued (the op's TypeScript part ran first). */
function spliceHost(rec: Recording, at: number, op: HostOp): void {
  const tail = rec.entries.splice(at);
  // What the op writes was computed before the kernels that read it (they saw it unwritten).
  for (const w of op.writes) rec.constants.delete(op.arrays[w]);
  rec.addHost(op);
  rec.entries.push(...tail);
}

/** nn.Embedding.forward while recording. F.embedding hands its id check and copy over as host
 *  work (host-work.ts); this gives that op its native form, so a replay does it inside a segment. */
export function makeEmbeddingOp(rec: Recording, input: Tensor, weight: Tensor, run: () => Tensor): Tensor {
  const mark = rec.entries.length;
  const out = run();
  if (!input.isContiguous()) {
    rec.refuse(`compile: nn.Embedding of a non-contiguous input (shape ${fmtShape(input.shape)}) inside a compiled function is not supported`);
    return out;
  }
  const at = rec.entries.findIndex((e, i) => i >= mark && e.kind === 'host' && e.op.name === 'embedding');
  if (at < 0) return out;
  const num = weight.shape[0];
  const shape = fmtShape(input.shape);
  const wshape = fmtShape(weight.shape);
  const op: HostOp = {
    ...(rec.entries[at] as HostCall).op, // the same arrays list, which the replay rebinds
    native: () => {
      const [ids, rows] = op.arrays as Int32Array[];
      if (int32Overlap(rows, 0, rows.length, ids, 0, ids.length)) return null;
      return one({ gather: 'embedding', idx: ids, idxOffset: 0, n: ids.length, size: num, out: rows, outOffset: 0, src: null, srcBase: 0, rowSize: 1, inputShape: shape, weightShape: wshape });
    },
  };
  rec.entries[at] = { kind: 'host', op };
  return out;
}

// ---- fill_ / zero_ ---------------------------------------------------------------------------

export function makeFill(rec: Recording, t: Tensor, value: number, op: string): void {
  if (!t.isContiguous()) {
    rec.refuse(`compile: ${op} of a non-contiguous tensor (shape ${fmtShape(t.shape)}) inside a compiled function is not supported`);
    return;
  }
  const n = t.numel();
  const data = t.data;
  const start = t.offset;
  const host: HostOp = {
    name: op,
    arrays: [n === data.length ? data : data.subarray(start, start + n)],
    reads: [],
    writes: [0],
    signature: [op, value, n],
    run: () => {
      host.arrays[0].fill(value);
    },
  };
  rec.addHost(host);
}

// ---- crossEntropy's loss value ---------------------------------------------------------------

/** Bind crossEntropy's loss array (written in TypeScript as sum / count) to a host op that
 *  recomputes it from the kernel's sum on replay; null when the value does not match that form. */
export interface CrossEntropyBinding {
  op: HostOp;
  mean: boolean;
  /** Non-ignored targets when recorded, and in the latest replay. */
  readonly count0: number;
  count: number;
  /** Set when a backward divides by the recorded count (then the count must not change). */
  staticBackward: boolean;
}

export function makeCrossEntropyLoss(call: KernelCall, out: AnyArray): CrossEntropyBinding | null {
  const [, rows, cols, targets0, ignoreIndex] = call.args as [unknown, number, number, Int32Array, number];
  const total = call.ret as number;
  let op: HostOp;
  const countNow = (): number => {
    const targets = (op === undefined ? targets0 : op.arrays[0]) as Int32Array;
    let c = 0;
    for (let i = 0; i < rows; i++) if (targets[i] !== ignoreIndex) c++;
    return c;
  };
  const count0 = countNow();
  const v = out[0];
  const asStored = (x: number) => (out instanceof Float32Array ? Math.fround(x) : x);
  let mean: boolean;
  if (Object.is(v, asStored(count0 === 0 ? NaN : total / count0))) mean = true;
  else if (Object.is(v, asStored(total))) mean = false;
  else return null;
  op = {
    name: 'crossEntropy',
    arrays: [targets0, out],
    reads: [0],
    writes: [1],
    signature: ['crossEntropy', rows, cols, ignoreIndex, mean],
    run: (ctx) => {
      const sum = ctx.lastReturn as number;
      const out = op.arrays[1];
      if (!mean) {
        out[0] = sum;
        return;
      }
      const c = countNow();
      binding.count = c;
      if (c !== count0 && binding.staticBackward) {
        throw new Error(
          `crossEntropy (compiled): this step has ${rows - c} targets equal to ignoreIndex ${ignoreIndex} where the recorded step had ${rows - count0}; the compiled backward divides by the recorded count, so this step cannot be replayed (call the function uncompiled, or keep the number of ignored targets fixed)`,
        );
      }
      out[0] = c === 0 ? NaN : sum / c;
    },
  };
  const binding: CrossEntropyBinding = { op, mean, count0, count: count0, staticBackward: false };
  return binding;
}

/** The eager path's message for a bad target (the kernel's own error is less specific). */
export function checkTargets(call: KernelCall): void {
  const [, rows, cols, targets, ignoreIndex] = call.args as [unknown, number, number, Int32Array, number];
  for (let i = 0; i < rows; i++) {
    const v = targets[i];
    if (v === ignoreIndex) continue;
    if (v < 0 || v >= cols) throw new Error(`crossEntropy: target ${v} at position ${i} is out of bounds for ${cols} classes (shape [${rows}])`);
  }
}

// ---- optimizer.step() ------------------------------------------------------------------------

const instrumented = new WeakSet<object>();

/** From the first recorded step on, writes to the optimizer's group options (lr, maximize, ...)
 *  made inside a compiled fn are recorded as host ops and redone on replay (the lectures' step
 *  sets the learning rate before optimizer.step()); writes outside fn (a scheduler) stay live. */
function instrumentGroups(opt: Optimizer): void {
  opt.paramGroups.forEach((group, gi) => {
    if (instrumented.has(group)) return;
    instrumented.add(group);
    const g = group as unknown as Record<string, unknown>;
    for (const key of Object.keys(g)) {
      if (key === 'params') continue;
      let value = g[key];
      Object.defineProperty(g, key, {
        enumerable: true,
        configurable: true,
        get: () => value,
        set: (v: unknown) => {
          value = v;
          const rec = activeRecording();
          if (rec === null || rec.isPaused) return;
          rec.addHost({
            name: `${opt.constructor.name}.paramGroups[${gi}].${key} =`,
            arrays: [],
            reads: [],
            writes: [],
            signature: [g, key, v],
            run: () => {
              value = v;
            },
          });
        },
      });
    }
  });
}

export function makeOptimizerStep(rec: Recording, opt: Optimizer, run: () => unknown): unknown {
  instrumentGroups(opt);
  const pairs: [Tensor, Tensor | null][] = [];
  for (const group of opt.paramGroups) for (const p of group.params) pairs.push([p, p.grad]);
  const { result, calls } = rec.captureRun(run);
  rec.optimizers.add(opt);
  const grads = pairs.map(([, g]) => g).filter((g): g is Tensor => g !== null);
  const arrays = [...grads.map((g) => g.data), ...pairs.map(([p]) => p.data)];
  const native =
    opt instanceof SGD && opt.constructor === SGD ? sgdNativeForm(opt, pairs, calls)
      : opt instanceof Adam && (opt.constructor === Adam || opt.constructor === AdamW) ? adamNativeForm(opt, pairs, calls)
        : null;
  rec.addHost({
    name: `${opt.constructor.name}.step`,
    arrays,
    reads: grads.map((_, i) => i),
    writes: pairs.map((_, i) => grads.length + i),
    signature: [opt, ...pairs.map(([p, g]) => [p, g === null ? null : [...g.shape]])],
    run: () => {
      // The tape wrote this step's gradients into the recorded grad tensors; put them back where
      // fn put them (zeroGrad() + backward() inside fn assign new tensors each eager step).
      for (let i = 0; i < pairs.length; i++) pairs[i][0].grad = pairs[i][1];
      opt.step();
    },
    native: native ?? undefined,
  });
  return result;
}

/** The parameters with a gradient, when the recorded calls are exactly one native `kernel` call
 *  per such parameter, in order, over the parameter's and the gradient's own memory (arguments 0
 *  and 1) and passing `also`; null otherwise (the optimizer's step then replays in TypeScript). */
function oneNativeCallPerParam(
  pairs: [Tensor, Tensor | null][], calls: { name: string; backend: Backend; args: unknown[] }[], kernel: string,
  also: (args: unknown[]) => boolean = () => true,
): [Tensor, Tensor | null][] | null {
  const withGrad = pairs.filter(([, g]) => g !== null);
  if (calls.length !== withGrad.length) return null;
  for (let i = 0; i < calls.length; i++) {
    const { name, backend, args } = calls[i];
    const [p, g] = withGrad[i];
    if (name !== kernel || backend !== nativeBackend || !also(args)) return null;
    if ((args[0] as AnyArray).buffer !== p.data.buffer || (args[1] as AnyArray).buffer !== g!.data.buffer) return null;
  }
  return withGrad;
}

/** optim.SGD's step as the recorded sgdStep kernel calls, replayed natively while nothing they
 *  depend on has changed since the native form was made: each group's options but lr, its
 *  parameters and their storage, the momentum buffers (loadStateDict replaces them). When
 *  something has, the replay runs SGD.step() itself (see NativeForm.guard). The learning rate
 *  (a schedule changes it) is written before each native run into an array the steps read. Null
 *  when the recorded calls are not one plain native sgdStep per parameter with a gradient (mixed
 *  dtypes, aliased gradients, a first step that creates the momentum buffers). */
function sgdNativeForm(
  opt: SGD, pairs: [Tensor, Tensor | null][], calls: { name: string; backend: Backend; args: unknown[] }[],
): (() => NativeForm | null) | null {
  const withGrad = oneNativeCallPerParam(pairs, calls, 'sgdStep', (args) => args[3] === false);
  if (withGrad === null) return null;
  const recordedOptions = opt.paramGroups.map((g) => [g.lr, g.momentum, g.dampening, g.weightDecay, g.nesterov, g.maximize, g.fusedMultiplyAdd] as unknown[]);
  const optionsOf = (g: SGD['paramGroups'][number], k: number): unknown =>
    k === 0 ? g.lr : k === 1 ? g.momentum : k === 2 ? g.dampening : k === 3 ? g.weightDecay : k === 4 ? g.nesterov : k === 5 ? g.maximize : g.fusedMultiplyAdd;
  const touched = withGrad.map(([p]) => p.data);
  // Made when the tape plans its native segments: parameters and buffers as they are then.
  return () => {
    const state = opt.state;
    const groups = opt.paramGroups.map((g) => ({
      group: g,
      params: [...g.params],
      data: g.params.map((p) => p.data),
      buffers: g.params.map((p) => state.get(p)?.momentumBuffer?.data ?? null),
    }));
    // The learning rate of each step (-lr, rounded as SGD.step() rounds it), read by argument 4
    // of each sgdStep: a schedule changes it without leaving the native update.
    const found = withGrad.map(([p]) => opt.paramGroups.find((g) => g.params.includes(p)));
    if (found.some((g) => g === undefined)) return null; // a parameter left its group: SGD.step() decides
    const groupOf = found as SGD['paramGroups'];
    const rounding = withGrad.map(([p]) => roundingFor(p));
    const negLr = new Float64Array(calls.length);
    const steps = calls.map((c, i): NativeStep => {
      const [p] = withGrad[i];
      const B = state.get(p)?.momentumBuffer;
      const args = [...c.args];
      args[0] = p.flatFloat();
      if (args[2] !== null) args[2] = B === undefined ? null : B.flatFloat();
      args[4] = NaN;
      return { kernel: c.name, args, dynArgs: [{ arg: 4, array: negLr, index: i }] };
    });
    return {
      steps,
      guard: () => {
        const live = opt.paramGroups;
        if (!sameParams(live, groups)) return 'stale';
        for (let gi = 0; gi < groups.length; gi++) {
          const r = groups[gi];
          const g = live[gi];
          for (let k = 0; k < r.params.length; k++) {
            if (r.buffers[k] !== (state.get(g.params[k])?.momentumBuffer?.data ?? null)) return 'stale';
          }
          for (let k = 1; k < 7; k++) if (!Object.is(optionsOf(g, k), recordedOptions[gi][k])) return 'changed';
          if (refusedLr(g.lr)) return 'changed';
        }
        return 'ok';
      },
      before: () => {
        for (let i = 0; i < negLr.length; i++) negLr[i] = rounding[i](-groupOf[i].lr);
      },
      after: () => {
        // What SGD.step() leaves besides the update: the gradients fn computed, new versions.
        for (let i = 0; i < pairs.length; i++) pairs[i][0].grad = pairs[i][1];
        for (let i = 0; i < touched.length; i++) bumpVersion(touched[i]);
      },
    };
  };
}

/** Whether an optimizer's groups, their parameters and the parameters' storage are still the ones
 *  a native update was planned for (shared by the SGD and Adam guards). */
function sameParams(live: readonly { params: readonly Tensor[] }[], planned: readonly { group: unknown; params: readonly Tensor[]; data: readonly unknown[] }[]): boolean {
  if (live.length !== planned.length) return false;
  for (let gi = 0; gi < planned.length; gi++) {
    const r = planned[gi];
    const g = live[gi];
    if (g !== r.group || g.params.length !== r.params.length) return false;
    for (let k = 0; k < r.params.length; k++) if (g.params[k] !== r.params[k] || g.params[k].data !== r.data[k]) return false;
  }
  return true;
}

/** An lr the optimizer's own step() refuses: the guard sends that replay to step(), which throws
 *  its message. */
function refusedLr(lr: unknown): boolean {
  return typeof lr !== 'number' || !(lr >= 0) || lr === Infinity;
}

type AdamGroup = ParamGroup<AdamOptions>;

/** The options an Adam step depends on besides lr (which may change every step: it is read on
 *  each replay), in a fixed order. */
const adamOptionsOf = (g: AdamGroup): unknown[] => [
  g.eps, g.weightDecay, g.amsgrad, g.maximize, g.decoupledWeightDecay, Array.isArray(g.betas) ? g.betas.length : g.betas, g.betas?.[0], g.betas?.[1],
];

/** What Adam's checkOptions accepts, for the options the native steps were made with (a replay
 *  with anything else runs Adam.step(), which throws its own message). */
function adamOptionsValid(g: AdamGroup): boolean {
  const nonNegative = (v: unknown) => typeof v === 'number' && v >= 0 && v !== Infinity;
  const beta = (v: unknown) => typeof v === 'number' && v >= 0 && v < 1;
  return nonNegative(g.eps) && nonNegative(g.weightDecay) && Array.isArray(g.betas) && g.betas.length === 2 && beta(g.betas[0]) && beta(g.betas[1])
    && [g.amsgrad, g.maximize, g.decoupledWeightDecay].every((b) => typeof b === 'boolean');
}

/** optim.Adam's and optim.AdamW's step as native adamStep steps. What changes from step to step
 *  (the learning rate, which a schedule such as the makemore command's warmup + cosine sets
 *  before every step, and the bias corrections of each parameter's step count) is written by
 *  `before` into a Float64Array the steps read (dynArgs), with the same arithmetic as
 *  Adam.step() (writeAdamStepScalars); `after` advances the step counts as step() does. The other
 *  scalars are made from the group options when the native form is made: a replay that finds
 *  them changed, or the parameters, their storage or the state entries replaced (loadStateDict),
 *  makes the plan again ('stale') and runs Adam.step() this time; an lr Adam would refuse runs
 *  Adam.step() (its message). Null when the recorded calls are not one native adamStep per
 *  parameter with a gradient, over the parameter's and the gradient's own memory. */
function adamNativeForm(
  opt: Adam, pairs: [Tensor, Tensor | null][], calls: { name: string; backend: Backend; args: unknown[] }[],
): (() => NativeForm | null) | null {
  const withGrad = oneNativeCallPerParam(pairs, calls, 'adamStep');
  if (withGrad === null) return null;
  const touched = withGrad.map(([p]) => p.data);
  return () => {
    const live = opt.paramGroups;
    const groups = live.map((g) => ({ group: g, params: [...g.params], data: g.params.map((p) => p.data), options: adamOptionsOf(g) }));
    if (!live.every(adamOptionsValid)) return null;
    const groupOf = withGrad.map(([p]) => live.find((g) => g.params.includes(p)));
    const entries = withGrad.map(([p]) => opt.state.get(p));
    const rounding = withGrad.map(([p]) => roundingFor(p));
    const n = withGrad.length;
    // Per parameter: [decay, negStepSize, bc2Sqrt] of this step (positions 5, 10, 11 of adamStep).
    const scalars = new Float64Array(3 * n);
    const steps: NativeStep[] = [];
    const buffers: (AnyArray | null)[][] = [];
    for (let i = 0; i < n; i++) {
      const [p] = withGrad[i];
      const g = groupOf[i];
      const s = entries[i];
      if (g === undefined || s === undefined || !(s.expAvg instanceof Tensor) || !(s.expAvgSq instanceof Tensor) || typeof s.step !== 'number') return null;
      if (g.amsgrad && !(s.maxExpAvgSq instanceof Tensor)) return null;
      const r = rounding[i];
      const [beta1, beta2] = g.betas;
      const { eps, weightDecay, decoupledWeightDecay, maximize } = g;
      const M = s.expAvg.flatFloat();
      const V = s.expAvgSq.flatFloat();
      const Vmax = g.amsgrad ? s.maxExpAvgSq!.flatFloat() : null;
      buffers.push([s.expAvg.data, s.expAvgSq.data, g.amsgrad ? s.maxExpAvgSq!.data : null]);
      const l2 = weightDecay !== 0 && !decoupledWeightDecay ? r(weightDecay) : 0;
      const args = [p.flatFloat(), calls[i].args[1], M, V, Vmax, NaN, l2, r(1 - beta1), r(beta2), r(1 - beta2), NaN, NaN, r(eps), maximize];
      steps.push({ kernel: 'adamStep', args, dynArgs: [5, 10, 11].map((arg, k) => ({ arg, array: scalars, index: 3 * i + k })) });
    }
    return {
      steps,
      guard: () => {
        const now = opt.paramGroups;
        if (!sameParams(now, groups)) return 'stale';
        for (let gi = 0; gi < groups.length; gi++) {
          const o = adamOptionsOf(now[gi]);
          for (let k = 0; k < o.length; k++) if (!Object.is(o[k], groups[gi].options[k])) return 'stale';
          if (refusedLr(now[gi].lr)) return 'changed';
        }
        for (let i = 0; i < n; i++) {
          const s = opt.state.get(withGrad[i][0]) as AdamState | undefined;
          const b = buffers[i];
          if (s === undefined || s !== entries[i] || s.expAvg.data !== b[0] || s.expAvgSq.data !== b[1] || (b[2] !== null && s.maxExpAvgSq?.data !== b[2])) return 'stale';
        }
        return 'ok';
      },
      before: () => {
        for (let i = 0; i < n; i++) writeAdamStepScalars(groupOf[i]!, entries[i]!.step + 1, rounding[i], scalars, 3 * i);
      },
      after: () => {
        // What Adam.step() leaves besides the update: step counts, the gradients fn computed, versions.
        for (let i = 0; i < n; i++) entries[i]!.step++;
        for (let i = 0; i < pairs.length; i++) pairs[i][0].grad = pairs[i][1];
        for (let i = 0; i < touched.length; i++) bumpVersion(touched[i]);
      },
    };
  };
}
