// A tape run by the addon: its kernel calls (and crossEntropy's loss values, which sit between
// kernels) are handed over once, converted and stored natively (crates/node/src/tape.rs), and
// replayed as segments, one N-API call each, between the host ops that stay in TypeScript
// (random draws, index row ids, the optimizer's step, fill_). Every kernel still validates its
// arguments on each run (index ranges and targets included), and an error names the step that
// failed, so the tape rethrows it as the eager path would.
//
// The stored arrays are pointers into JS memory: this plan keeps every array alive (it holds
// them), and before each segment checks that none was detached or resized since (their memory
// cannot move otherwise). Arrays rebound to new arguments make the tape build a new plan.
import type { AnyArray } from '../backend/backend.js';
import { nativeTapeExecutor, type NativeAddon, type NativeTapeHandle } from '../backend/native.js';
import type { NativeForm } from './host-ops.js';

/** What the addon stores for one step (see tapeCreate in tape.rs). */
export type NativeStep =
  | {
      readonly kernel: string;
      readonly args: readonly unknown[];
      /** A number argument computed on each run: dynArray[dynIndex], divided by loss dynLoss's
       *  count when given (crossEntropy's mean backward). */
      readonly dynArg?: number;
      readonly dynArray?: AnyArray;
      readonly dynIndex?: number;
      readonly dynLoss?: number;
      /** More number arguments read from arrays on each run: args[arg] = array[index] (the
       *  optimizer's per-step scalars, written before its segment by the form's `before`). */
      readonly dynArgs?: readonly { readonly arg: number; readonly array: AnyArray; readonly index: number }[];
    }
  | {
      readonly loss: number;
      readonly targets: Int32Array;
      readonly rows: number;
      readonly ignoreIndex: number;
      readonly out: AnyArray;
      readonly mean: boolean;
      readonly count0: number;
      readonly staticBackward: boolean;
    }
  | {
      /** index with one contiguous int32 index tensor (host-ops.ts computeRows1): copy whole
       *  int32 rows ('rows', Xtr[ix]) or write the row ids ('ids', for indexSelect); or
       *  nn.Embedding's ids ('embedding': no negative indices, its own message). */
      readonly gather: 'rows' | 'ids' | 'embedding';
      readonly idx: Int32Array;
      readonly idxOffset: number;
      readonly n: number;
      readonly size: number;
      readonly out: Int32Array;
      readonly outOffset: number;
      readonly src: Int32Array | null;
      readonly srcBase: number;
      readonly rowSize: number;
      /** For 'embedding' messages: the input's and the weight's shapes, formatted. */
      readonly inputShape?: string;
      readonly weightShape?: string;
    };

/** Each step of the tape: run natively (its native form), or in TypeScript (null). */
export type PlanInput = readonly (NativeForm | null)[];

interface Segment {
  /** Native step range [from, to). */
  readonly from: number;
  readonly to: number;
  /** Arrays the segment's steps use and their byte lengths when stored. */
  arrays: AnyArray[];
  byteLengths: number[];
  /** A guarded host op's segment (it is alone in it): its tape step, guard and after-work. */
  readonly tapeStep?: number;
  guard?: () => 'ok' | 'changed' | 'stale';
  before?: () => void;
  after?: () => void;
}

const arraysOf = (steps: readonly NativeStep[]): AnyArray[] => {
  const set = new Set<AnyArray>();
  for (const s of steps) {
    const used = 'kernel' in s ? [...s.args, s.dynArray, ...(s.dynArgs ?? []).map((d) => d.array)] : 'loss' in s ? [s.targets, s.out] : [s.idx, s.out, s.src];
    for (const v of used) if (ArrayBuffer.isView(v)) set.add(v as AnyArray);
  }
  return [...set];
};

/** A plan item: a tape step run in TypeScript (its index), or a native segment. */
export type PlanItem = number | Segment;

export class NativePlan {
  readonly items: PlanItem[] = [];
  /** The tape step of each native step (for errors). */
  readonly tapeStepOf: number[] = [];
  readonly segments: number;
  /** Every native step's description, and the segment it runs in. */
  private readonly steps: NativeStep[] = [];
  private readonly segmentOf: Segment[] = [];
  /** Where each tape step with a native form went. */
  private readonly forms = new Map<number, { from: number; count: number; guarded: boolean }>();
  private readonly handle: NativeTapeHandle;
  private readonly exec: Pick<NativeAddon, 'tapeRun' | 'tapeReplace'>;

  private constructor(exec: Pick<NativeAddon, 'tapeCreate' | 'tapeRun' | 'tapeReplace'>, input: PlanInput) {
    const steps = this.steps;
    let open: number | null = null;
    const close = (extra?: Partial<Segment>): void => {
      if (open === null) return;
      const arrays = arraysOf(steps.slice(open));
      const seg: Segment = { from: open, to: steps.length, arrays, byteLengths: arrays.map((a) => a.byteLength), ...extra };
      this.items.push(seg);
      for (let i = seg.from; i < seg.to; i++) this.segmentOf.push(seg);
      open = null;
    };
    input.forEach((form, at) => {
      if (form === null || form.steps.length === 0) {
        close();
        this.items.push(at);
        return;
      }
      if (form.guard !== undefined) close();
      open ??= steps.length;
      this.forms.set(at, { from: steps.length, count: form.steps.length, guarded: form.guard !== undefined });
      for (const s of form.steps) {
        steps.push(s);
        this.tapeStepOf.push(at);
      }
      if (form.guard !== undefined) close({ tapeStep: at, guard: form.guard, before: form.before, after: form.after });
      else if (form.after !== undefined || form.before !== undefined) throw new Error('compile: internal error: a native form with before- or after-work needs a guard');
    });
    close();
    this.segments = this.items.filter((i) => typeof i !== 'number').length;
    this.exec = exec;
    this.handle = exec.tapeCreate(steps);
  }

  /** Stores tape step `at`'s native form again (its arrays rebound to a call's new arguments);
   *  false when the form is not like the planned one (then the tape makes a new plan). */
  replace(at: number, form: NativeForm | null): boolean {
    const planned = this.forms.get(at);
    if (planned === undefined || form === null || form.steps.length !== planned.count || (form.guard !== undefined) !== planned.guarded) return false;
    form.steps.forEach((s, k) => {
      this.exec.tapeReplace(this.handle, planned.from + k, s);
      this.steps[planned.from + k] = s;
    });
    const seg = this.segmentOf[planned.from];
    seg.arrays = arraysOf(this.steps.slice(seg.from, seg.to));
    seg.byteLengths = seg.arrays.map((a) => a.byteLength);
    if (planned.guarded) {
      seg.guard = form.guard;
      seg.before = form.before;
      seg.after = form.after;
    }
    return true;
  }

  /** A plan for the tape's steps, or null when the addon has no tape executor. */
  static make(input: PlanInput): NativePlan | null {
    const exec = nativeTapeExecutor();
    return exec === null ? null : new NativePlan(exec, input);
  }

  /** Runs one segment; an error thrown by a step comes back as [tape step index, Error]. */
  run(seg: Segment): [number, Error] | null {
    const { arrays, byteLengths } = seg;
    for (let i = 0; i < arrays.length; i++) {
      if (arrays[i].byteLength !== byteLengths[i]) {
        throw new Error(
          `compile: a ${arrays[i].constructor.name} of the compiled step (${byteLengths[i]} bytes when recorded, ${arrays[i].byteLength} now) was detached or resized; the tensors a compiled function uses must keep their storage`,
        );
      }
    }
    try {
      this.exec.tapeRun(this.handle, seg.from, seg.to);
      return null;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const code = Number((err as { code?: unknown }).code);
      if (!Number.isInteger(code) || code < seg.from || code >= seg.to) throw err;
      return [this.tapeStepOf[code], new Error(err.message)];
    }
  }
}
