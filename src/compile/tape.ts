// The tape: a recording turned into what the replay runs. Kernel calls keep their argument lists
// (the recording's own arrays: the buffers of the step, planned once and reused every call);
// host ops keep their closures; arrays that view fn's arguments are rebound per call; constants
// that the step later overwrites are restored first. One replay = one pass over the list, with
// no graph, no shape checks and no allocation.
import type { AnyArray, Backend } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad-mode.js';
import { KERNEL_EFFECTS } from './kernel-effects.js';
import { checkTargets, makeCrossEntropyLoss, type CrossEntropyBinding, type HostOp, type NativeForm, type ReplayContext } from './host-ops.js';
import { CompileRefusal, type ItemRead, type KernelCall, type Recording } from './recording.js';
import { templateOf, type ResultTemplate } from './result.js';
import { NativePlan, type NativeStep } from './native-plan.js';
import { nativeBackend } from '../backend/native.js';
import { shareBuffers } from './buffer-sharing.js';
import { fmtShape } from '../tensor/shape.js';

/** Whether replays run their kernels through the addon's tape executor (one call per segment)
 *  or one call per kernel from TypeScript; FERROGRAD_NATIVE_TAPE=0 turns it off (for A/B runs). */
let nativeReplay = typeof process === 'undefined' || process.env?.FERROGRAD_NATIVE_TAPE !== '0';

/** For tests and benchmarks: replay tapes natively (default) or kernel by kernel. */
export function _setNativeReplay(on: boolean): void {
  nativeReplay = on;
}

interface KernelStep {
  readonly kind: 'kernel' | 'kernel-scalar' | 'kernel-prepared';
  /** For 'kernel-prepared': sets the arguments that depend on this call's values. */
  readonly prepare?: (args: unknown[]) => void;
  /** For 'kernel-prepared' (crossEntropy's backward): where its scale comes from. */
  readonly scale?: CeScale;
  readonly call: KernelCall;
  readonly fn: (...args: unknown[]) => unknown;
  readonly be: Backend;
  readonly args: unknown[];
}

interface HostStep {
  readonly kind: 'host';
  readonly op: HostOp;
  /** For crossEntropy's loss value: its binding and kernel call (so the addon can run it). */
  readonly loss?: { binding: CrossEntropyBinding; call: KernelCall };
}

type Step = KernelStep | HostStep;

/** Where an argument of fn is used: a kernel argument or a host op's array. */
interface InputUse {
  readonly input: number;
  readonly elementOffset: number;
  readonly length: number;
  readonly target: unknown[];
  readonly index: number;
}

export class Tape {
  readonly steps: Step[] = [];
  private readonly inputUses: InputUse[] = [];
  private readonly boundInputs: AnyArray[];
  private readonly restores: { array: AnyArray; snapshot: AnyArray }[] = [];
  /** Buffers of the step the tape writes (scrambled before the verification replay). */
  readonly stepBuffers: AnyArray[] = [];
  /** Arrays kept between calls that the tape reads or writes. */
  readonly persistent: AnyArray[] = [];
  readonly result: ResultTemplate;
  /** Tensors whose .grad the step leaves, and that gradient (its buffer is the tape's). */
  private readonly gradsLeft: [Tensor, Tensor][];
  private readonly ctx: ReplayContext = { lastReturn: undefined };
  /** The step whose argument list (a kernel's args, a host op's arrays) each array list is. */
  private readonly stepOfTarget = new Map<unknown[], number>();
  /** The native plan: undefined until the first replay, null when the steps cannot run natively. */
  private plan: NativePlan | null | undefined = undefined;

  constructor(rec: Recording, result: unknown) {
    this.boundInputs = rec.inputs.map((t) => t.data);
    this.gradsLeft = [...rec.gradsLeft];
    // crossEntropy's loss values: recomputed right after their kernel.
    const lossAfter = new Map<KernelCall, CrossEntropyBinding>();
    const lossByProbs = new Map<unknown, CrossEntropyBinding>();
    for (const { call, out } of rec.losses) {
      const bound = makeCrossEntropyLoss(call, out);
      if (bound !== null) {
        lossAfter.set(call, bound);
        lossByProbs.set(call.args[5], bound);
      }
    }
    const written = new Set<AnyArray>();
    const seen = new Set<AnyArray>();
    const note = (a: unknown, target: unknown[], index: number): void => {
      if (!ArrayBuffer.isView(a)) return;
      const arr = a as AnyArray;
      const c = rec.classify(arr);
      if (c.kind === 'input') {
        this.inputUses.push({ input: c.input, elementOffset: c.elementOffset, length: arr.length, target, index });
      }
      if (seen.has(arr)) return;
      seen.add(arr);
      if (c.kind === 'persistent') this.persistent.push(arr);
    };
    rec.entries.forEach((e, at) => {
      if (e.kind === 'kernel') {
        const args = [...e.args];
        const fn = (e.backend as unknown as Record<string, (...a: unknown[]) => unknown>)[e.name];
        const scale = e.name === 'crossEntropyBackward' ? ceBackwardScale(rec, e, at, lossByProbs) : undefined;
        const kind = scale !== undefined ? 'kernel-prepared' : e.scalarFrom === undefined ? 'kernel' : 'kernel-scalar';
        this.steps.push({ kind, call: e, fn, be: e.backend, args, prepare: scale?.prepare, scale });
        args.forEach((a, i) => note(a, args, i));
        for (const i of KERNEL_EFFECTS[e.name].writes) if (ArrayBuffer.isView(args[i])) written.add(args[i] as AnyArray);
        const loss = lossAfter.get(e);
        if (loss !== undefined) this.pushHost(loss.op, note, written, { binding: loss, call: e });
      } else this.pushHost(e.op, note, written);
    });
    this.steps.forEach((s, i) => this.stepOfTarget.set(s.kind === 'host' ? s.op.arrays : s.args, i));
    for (const a of written) if (rec.classify(a).kind === 'step') this.stepBuffers.push(a);
    // A tensor fn returns, or a gradient it leaves, that no kernel or host op wrote was filled in
    // TypeScript (a literal, or a loop over a kernel's output such as a conversion to int32): a
    // constant of the step, which the two recordings must agree on, never a stale replay.
    for (const t of tensorsIn(result)) rec.noteRead(t.data, 'a tensor fn returns', true);
    for (const g of rec.escaping) rec.noteRead(g, 'a gradient fn leaves', true);
    for (const [array, { snapshot }] of rec.constants) {
      if (written.has(array)) this.restores.push({ array, snapshot });
    }
    this.result = templateOf(rec, result, written);
  }

  private pushHost(
    op: HostOp, note: (a: unknown, target: unknown[], index: number) => void, written: Set<AnyArray>,
    loss?: { binding: CrossEntropyBinding; call: KernelCall },
  ): void {
    this.steps.push({ kind: 'host', op, loss });
    op.arrays.forEach((a, i) => note(a, op.arrays, i));
    for (const i of op.writes) written.add(op.arrays[i]);
  }

  /** Bytes of the step buffers that share an arena: laid out separately, and in the arena
   *  (0 and 0 until share(), or when nothing could be shared). */
  readonly sharing = { separateBytes: 0, arenaBytes: 0 };

  /** Moves the step buffers that only kernels use into one arena, buffers whose lifetimes over
   *  the tape do not overlap sharing bytes (buffer-sharing.ts). Called once, after the two
   *  recordings agreed and before the verification replay, which then checks the shared layout.
   *  Returns the arena used (`arena` itself when it was large enough). */
  share(rec: Recording, result: unknown, arena: ArrayBuffer | null): ArrayBuffer | null {
    if (this.plan !== undefined) throw new Error('compile: internal error: buffers shared after the native plan was made');
    const keep: AnyArray[] = [...rec.constants.keys(), ...rec.items.map((r) => r.array), ...rec.escaping];
    for (const s of this.steps) {
      if (s.kind === 'host') keep.push(...s.op.arrays);
      else if (s.call.scalarFrom !== undefined) keep.push(s.call.scalarFrom.array);
    }
    for (const t of tensorsIn(result)) keep.push(t.data);
    const layout = shareBuffers(this.steps.map((s) => (s.kind === 'host' ? [] : s.args)), (a) => rec.classify(a).kind === 'step', keep, arena);
    if (layout.moved.size === 0) return arena;
    const swap = (list: unknown[]) => {
      for (let i = 0; i < list.length; i++) {
        const m = ArrayBuffer.isView(list[i]) ? layout.moved.get(list[i] as AnyArray) : undefined;
        if (m !== undefined) list[i] = m;
      }
    };
    // The recording's call too: nothing may keep the old buffers alive.
    for (const s of this.steps) {
      if (s.kind === 'host') continue;
      swap(s.args);
      swap(s.call.args);
    }
    swap(this.stepBuffers);
    const alive: Tensor[] = [...rec.graphTensors];
    for (const r of rec.created) {
      const t = r.deref();
      if (t !== undefined) alive.push(t);
    }
    markStale(alive, layout.moved.keys());
    this.sharing.separateBytes = layout.separateBytes;
    this.sharing.arenaBytes = layout.arenaBytes;
    this.arena = layout.memory;
    return layout.memory;
  }

  /** The arena this tape's shared buffers are views of (null: none). */
  private arena: ArrayBuffer | null = null;

  /** Points the shared buffers at the same offsets of a larger arena (the compiled function's
   *  arena grew for another shape's tape), so that one arena serves every tape; the native plan,
   *  which stored the old addresses, is made again on the next replay. */
  moveArena(memory: ArrayBuffer): void {
    const old = this.arena;
    if (old === null || old === memory) return;
    const moved = new Map<AnyArray, AnyArray>();
    const swap = (list: unknown[]) => {
      for (let i = 0; i < list.length; i++) {
        const a = list[i];
        if (!ArrayBuffer.isView(a) || (a as AnyArray).buffer !== old) continue;
        let m = moved.get(a as AnyArray);
        if (m === undefined) {
          const Ctor = a.constructor as new (b: ArrayBufferLike, off: number, n: number) => AnyArray;
          moved.set(a as AnyArray, (m = new Ctor(memory, (a as AnyArray).byteOffset, (a as AnyArray).length)));
        }
        list[i] = m;
      }
    };
    for (const s of this.steps) {
      if (s.kind === 'host') continue;
      swap(s.args);
      swap(s.call.args);
    }
    swap(this.stepBuffers);
    this.arena = memory;
    this.plan = undefined;
  }

  /** Points the tape at this call's arguments (only where they are new arrays). */
  private bind(inputs: readonly Tensor[]): void {
    let rebound: Set<number> | null = null;
    for (let i = 0; i < inputs.length; i++) {
      const data = inputs[i].data;
      if (data === this.boundInputs[i]) continue;
      this.boundInputs[i] = data;
      const Ctor = data.constructor as new (b: ArrayBufferLike, off: number, n: number) => AnyArray;
      for (const u of this.inputUses) {
        if (u.input !== i) continue;
        u.target[u.index] =
          u.elementOffset === 0 && u.length === data.length
            ? data
            : new Ctor(data.buffer, data.byteOffset + u.elementOffset * data.BYTES_PER_ELEMENT, u.length);
        (rebound ??= new Set()).add(this.stepOfTarget.get(u.target)!);
      }
    }
    // The native plan stored the old arrays: store the steps that use new ones again.
    if (rebound === null || !this.plan) return;
    for (const at of rebound) {
      if (!this.plan.replace(at, this.formOf(at) ?? null)) {
        this.plan = undefined;
        return;
      }
    }
  }

  /** One step: the recorded kernels and host ops over this call's arguments. */
  replay(inputs: readonly Tensor[]): unknown {
    this.bind(inputs);
    // The gradients live in the tape's buffers: each tensor's .grad is the one the recording
    // left, also after the caller (or an eager call) replaced it.
    for (let i = 0; i < this.gradsLeft.length; i++) {
      const [t, g] = this.gradsLeft[i];
      if (t.grad !== g) t.grad = g;
    }
    for (let i = 0; i < this.restores.length; i++) this.restores[i].array.set(this.restores[i].snapshot as never);
    if (nativeReplay) {
      if (this.plan === undefined) this.plan = this.makePlan();
      if (this.plan !== null) return this.replayNative(this.plan);
    }
    const steps = this.steps;
    const ctx = this.ctx;
    let i = 0;
    try {
      for (; i < steps.length; i++) {
        const s = steps[i];
        if (s.kind === 'kernel') ctx.lastReturn = s.fn.apply(s.be, s.args);
        else if (s.kind === 'host') s.op.run(ctx);
        else if (s.kind === 'kernel-prepared') {
          s.prepare!(s.args);
          ctx.lastReturn = s.fn.apply(s.be, s.args);
        } else {
          const from = s.call.scalarFrom!;
          s.args[from.arg] = from.array[from.index];
          ctx.lastReturn = s.fn.apply(s.be, s.args);
        }
      }
    } catch (e) {
      throw replayError(steps[i], e);
    }
    return this.result.build();
  }

  /** Native segments per replay (0 when the tape replays kernel by kernel). */
  get segments(): number {
    if (nativeReplay && this.plan === undefined) this.plan = this.makePlan();
    return nativeReplay && this.plan ? this.plan.segments : 0;
  }

  private replayNative(plan: NativePlan): unknown {
    const steps = this.steps;
    const ctx = this.ctx;
    const items = plan.items;
    let guard: 'ok' | 'changed' | 'stale' = 'ok';
    for (let k = 0; k < items.length; k++) {
      const item = items[k];
      if (typeof item === 'number') {
        try {
          (steps[item] as HostStep).op.run(ctx);
        } catch (e) {
          throw replayError(steps[item], e);
        }
      } else if (item.guard !== undefined && (guard = item.guard()) !== 'ok') {
        // What the native steps assumed no longer holds: the host op itself does the work.
        if (guard === 'stale') this.plan = undefined;
        try {
          (steps[item.tapeStep!] as HostStep).op.run(ctx);
        } catch (e) {
          throw replayError(steps[item.tapeStep!], e);
        }
      } else {
        item.before?.();
        const failed = plan.run(item);
        if (failed !== null) throw replayError(steps[failed[0]], failed[1]);
        item.after?.();
      }
    }
    return this.result.build();
  }

  /** The steps as the addon runs them: null when a kernel runs on another backend (the tape
   *  then replays kernel by kernel) or the addon has no tape executor. */
  private makePlan(): NativePlan | null {
    const input: (NativeForm | null)[] = [];
    for (let i = 0; i < this.steps.length; i++) {
      const form = this.formOf(i);
      if (form === undefined) return null;
      input.push(form);
    }
    return NativePlan.make(input);
  }

  /** crossEntropy losses numbered for the addon (the same number in every plan of this tape). */
  private readonly lossIds = new Map<CrossEntropyBinding, number>();
  private lossId(b: CrossEntropyBinding): number {
    let id = this.lossIds.get(b);
    if (id === undefined) this.lossIds.set(b, (id = this.lossIds.size));
    return id;
  }

  /** Step i as native steps (over its current arrays); null: it runs in TypeScript; undefined:
   *  a kernel of another backend (the tape cannot run natively). */
  private formOf(i: number): NativeForm | null | undefined {
    const s = this.steps[i];
    const one = (step: NativeStep): NativeForm => ({ steps: [step] });
    if (s.kind === 'host') {
      if (s.loss === undefined) return s.op.native?.() ?? null;
      const { binding, call } = s.loss;
      return one({
        loss: this.lossId(binding), targets: binding.op.arrays[0] as Int32Array, rows: call.args[1] as number, ignoreIndex: call.args[4] as number,
        out: binding.op.arrays[1], mean: binding.mean, count0: binding.count0, staticBackward: binding.staticBackward,
      });
    }
    if (s.be !== nativeBackend) return undefined;
    if (s.kind === 'kernel') return one({ kernel: s.call.name, args: s.args });
    if (s.kind === 'kernel-scalar') {
      const from = s.call.scalarFrom!;
      return one({ kernel: s.call.name, args: s.args, dynArg: from.arg, dynArray: from.array, dynIndex: from.index });
    }
    const { array, index, binding } = s.scale!;
    return one({ kernel: s.call.name, args: s.args, dynArg: 5, dynArray: array, dynIndex: index, dynLoss: this.lossId(binding) });
  }

  /** Fill the step's buffers with garbage, so that a verification replay that leans on values
   *  left over from the eager run shows up as a difference. */
  scramble(): void {
    for (const a of this.stepBuffers) a.fill(a instanceof Int32Array ? 0x7fffffff : NaN);
  }

  /** The last step that writes `a` (for messages). */
  writerOf(a: AnyArray): string | null {
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const s = this.steps[i];
      if (s.kind !== 'host') {
        for (const w of KERNEL_EFFECTS[s.call.name].writes) if (s.args[w] === a) return s.call.name;
      } else if (s.op.writes.some((w) => s.op.arrays[w] === a)) return s.op.name;
    }
    return null;
  }
}

/** crossEntropy's backward scale is upstream / count (mean over the non-ignored targets): with
 *  ignored targets (padding) the count changes from batch to batch, so the replay recomputes it
 *  from the upstream gradient's value and this call's count. Undefined when the recorded scale is
 *  not of that form (then the count must stay as recorded). */
interface CeScale {
  /** Sets the scale argument from this call's upstream gradient and count. */
  readonly prepare: (args: unknown[]) => void;
  /** The upstream gradient's element and the loss whose count divides it. */
  readonly array: AnyArray;
  readonly index: number;
  readonly binding: CrossEntropyBinding;
}

function ceBackwardScale(rec: Recording, call: KernelCall, at: number, lossByProbs: Map<unknown, CrossEntropyBinding>): CeScale | undefined {
  const binding = lossByProbs.get(call.args[0]);
  if (binding === undefined || !binding.mean) return undefined;
  let upstream: ItemRead | undefined;
  for (const r of rec.items) if (r.at <= at) upstream = r;
  const scale = call.args[5] as number;
  if (upstream === undefined || !Object.is(scale, upstream.value / binding.count0)) {
    binding.staticBackward = true;
    return undefined;
  }
  const { array, index } = upstream;
  return {
    prepare: (args) => {
      args[5] = array[index] / binding.count;
    },
    array,
    index,
    binding,
  };
}

/** Whether a recorded crossEntropyBackward's scale is upstream / count (so the replay recomputes
 *  it and two recordings may differ in it). */
export function isDynamicCeScale(rec: Recording, call: KernelCall, at: number): boolean {
  const loss = rec.losses.find((l) => l.call.args[5] === call.args[0]);
  if (loss === undefined) return false;
  const bound = makeCrossEntropyLoss(loss.call, loss.out);
  if (bound === null) return false;
  const m = new Map<unknown, CrossEntropyBinding>([[call.args[0], bound]]);
  return ceBackwardScale(rec, call, at, m) !== undefined;
}

function replayError(s: Step, e: unknown): Error {
  if (e instanceof CompileRefusal) return e;
  if (s.kind === 'host') return e instanceof Error ? e : new Error(String(e));
  if (s.call.name === 'crossEntropyForward') {
    const call = { ...s.call, args: s.args };
    checkTargets(call); // throws the eager message when a target is out of range
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`${s.call.name} (in a step replayed by compile): ${msg}`);
}

/** Tensors of the recorded call still alive (a layer's saved `.out`, say) whose memory moved into the shared
 *  arena: the tape no longer writes them and other intermediates reuse the bytes they stood for,
 *  so reading one after this call would give stale values. Each gets a `data` that throws. */
function markStale(tensors: readonly Tensor[], moved: Iterable<AnyArray>): void {
  const ranges = new Map<ArrayBufferLike, [number, number][]>();
  for (const a of moved) {
    let list = ranges.get(a.buffer);
    if (list === undefined) ranges.set(a.buffer, (list = []));
    list.push([a.byteOffset, a.byteOffset + a.byteLength]);
  }
  for (const t of new Set(tensors)) {
    const d = t.data;
    const list = ranges.get(d.buffer);
    if (list === undefined || d.byteLength === 0) continue;
    const s = d.byteOffset;
    const e = s + d.byteLength;
    if (!list.some(([a, b]) => a < e && s < b)) continue;
    const shape = fmtShape(t.shape);
    Object.defineProperty(t, 'data', {
      configurable: true,
      get(): never {
        throw new Error(
          `compile: a tensor of shape ${shape} computed inside the compiled function and not returned by it is no longer ` +
            'valid: the replayed step reuses its memory for other intermediates. Return it from the function to read it, ' +
            'or pass { shareBuffers: false } to compile to keep every intermediate in its own memory',
        );
      },
    });
  }
}

/** The tensors in fn's result (arrays and plain objects of them included). */
function tensorsIn(v: unknown, out: Tensor[] = []): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out);
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) tensorsIn(x, out);
  return out;
}

/** A detached copy, so that a returned tensor is not overwritten by the next call. */
export function copyOut(t: Tensor): Tensor {
  return noGrad(() => t.detach().clone());
}
