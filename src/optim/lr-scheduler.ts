// Learning-rate schedules, as torch.optim.lr_scheduler: each sets the lr of every parameter
// group of an optimizer. Construct it after the optimizer (it records each group's lr as
// `initialLr` and applies the schedule's step-0 value), then call `step()` after each
// `optimizer.step()`. The recursive (chainable) formulas are torch's, so the lr sequences are
// the same doubles torch computes.
import { Optimizer, describe, hasStepped, type ParamGroup } from './optimizer.js';

/** A scheduler's state: counters and last values (no functions), for resuming. */
export type SchedulerStateDict = Record<string, unknown> & { lastEpoch: number; baseLrs: number[]; stepCount: number; lastLr: number[] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any, any>;

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Each group's lr when the first scheduler was attached (torch's `base_lrs`). */
  baseLrs: number[];
  /** Steps taken: 0 right after construction (torch's `last_epoch`). */
  lastEpoch = -1;
  /** Calls of step(), counting the one made by the constructor (torch's `_step_count`). */
  protected stepCount = 0;
  protected lastLr: number[] = [];
  /** True only during the constructor's own step (torch's `_is_initial`). */
  protected isInitial = false;
  protected readonly opName: string;

  protected constructor(opName: string, optimizer: AnyOptimizer) {
    this.opName = opName;
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${opName}: ${describe(optimizer)} is not an Optimizer`);
    this.optimizer = optimizer;
    for (const g of this.groups()) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = this.groups().map((g) => g.initialLr!);
  }

  /** Subclasses call this at the end of their constructor (torch's `_initial_step`). */
  protected initialStep(): void {
    this.stepCount = 0;
    this.isInitial = true;
    try {
      this.step();
    } finally {
      this.isInitial = false;
    }
  }

  protected groups(): ParamGroup[] {
    return this.optimizer.paramGroups as ParamGroup[];
  }

  /** The lr of every group for the current `lastEpoch` (from the groups' current lr). */
  protected abstract getLr(): number[];

  /** Advance one step and set each group's lr. Call after `optimizer.step()`. */
  step(): void {
    if (this.stepCount === 1 && !hasStepped(this.optimizer)) {
      // torch's warning: stepping the schedule first skips its first learning rate.
      process.emitWarning(
        `${this.opName}.step() was called before optimizer.step(); call optimizer.step() first, or the first value of the schedule is skipped`,
        'UserWarning',
      );
    }
    this.stepCount++;
    this.lastEpoch++;
    const values = this.getLr();
    const groups = this.groups();
    values.forEach((lr, i) => {
      if (typeof lr !== 'number' || Number.isNaN(lr)) {
        throw new Error(`${this.opName}.step: the schedule gave lr ${String(lr)} for paramGroups[${i}] at step ${this.lastEpoch}`);
      }
      groups[i].lr = lr;
    });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The lr of every group as last set by this scheduler. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Counters and settings (functions are not saved: a LambdaLR is rebuilt with its function). */
  stateDict(): SchedulerStateDict {
    const sd: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === 'optimizer' || k === 'opName' || k === 'isInitial' || typeof v === 'function') continue;
      if (Array.isArray(v) && v.some((x) => typeof x === 'function')) continue; // lr lambdas
      sd[k] = Array.isArray(v) ? structuredClone(v) : v;
    }
    return sd as SchedulerStateDict;
  }

  /** Restore what stateDict() saved. The optimizer's lr comes from its own state dict. */
  loadStateDict(sd: SchedulerStateDict): void {
    const op = `${this.opName}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || typeof sd.lastEpoch !== 'number' || !Array.isArray(sd.baseLrs)) {
      throw new TypeError(`${op}: expected a scheduler state dict { lastEpoch, baseLrs, ... }, got ${describe(sd)}`);
    }
    if (sd.baseLrs.length !== this.groups().length) {
      throw new Error(`${op}: the state dict has ${sd.baseLrs.length} base lrs but the optimizer has ${this.groups().length} parameter groups`);
    }
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(sd)) {
      if (!(k in this) || typeof self[k] === 'function' || k === 'optimizer') throw new Error(`${op}: unknown key '${k}' for ${this.opName}`);
      self[k] = Array.isArray(v) ? structuredClone(v) : v;
    }
  }

  protected current(): number[] {
    return this.groups().map((g) => g.lr);
  }
}

function checkPositiveInt(op: string, name: string, v: unknown): asserts v is number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${op}: ${name} must be an integer >= 1, got ${describe(v)}`);
}

function checkFinite(op: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number, got ${describe(v)}`);
}

function lambdasFor(op: string, fn: unknown, groups: number): ((step: number) => number)[] {
  const list = Array.isArray(fn) ? fn : Array.from({ length: groups }, () => fn);
  if (list.length !== groups) throw new Error(`${op}: expected ${groups} lr functions (one per parameter group), got ${list.length}`);
  list.forEach((f, i) => {
    if (typeof f !== 'function') throw new TypeError(`${op}: lr function ${i} is ${describe(f)}, expected a function of the step`);
  });
  return list as ((step: number) => number)[];
}

/** lr = initialLr · lrLambda(step) (one function, or one per group). */
export class LambdaLR extends LRScheduler {
  private readonly lrLambdas: ((step: number) => number)[];
  constructor(optimizer: AnyOptimizer, lrLambda: ((step: number) => number) | ((step: number) => number)[]) {
    super('LambdaLR', optimizer);
    this.lrLambdas = lambdasFor('LambdaLR', lrLambda, this.groups().length);
    this.initialStep();
  }
  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }
}

/** lr = lr · lrLambda(step) at every step after the first (torch's MultiplicativeLR). */
export class MultiplicativeLR extends LRScheduler {
  private readonly lrLambdas: ((step: number) => number)[];
  constructor(optimizer: AnyOptimizer, lrLambda: ((step: number) => number) | ((step: number) => number)[]) {
    super('MultiplicativeLR', optimizer);
    this.lrLambdas = lambdasFor('MultiplicativeLR', lrLambda, this.groups().length);
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.isInitial) return this.current();
    return this.current().map((lr, i) => lr * this.lrLambdas[i](this.lastEpoch));
  }
}

/** lr = schedule(step), an absolute learning rate for every group (or one per group), e.g.
 *  makemore's `stepDecay(0.1, 0.01, 100000)`: the lectures' `lr = 0.1 if i < 100000 else 0.01`
 *  with exactly those two numbers. Not in torch (LambdaLR multiplies the initial lr). */
export class ScheduleLR extends LRScheduler {
  private readonly schedule: (step: number) => number | number[];
  constructor(optimizer: AnyOptimizer, schedule: (step: number) => number | number[]) {
    super('ScheduleLR', optimizer);
    if (typeof schedule !== 'function') throw new TypeError(`ScheduleLR: schedule must be a function of the step, got ${describe(schedule)}`);
    this.schedule = schedule;
    this.initialStep();
  }
  protected getLr(): number[] {
    const v = this.schedule(this.lastEpoch);
    const n = this.groups().length;
    if (Array.isArray(v)) {
      if (v.length !== n) throw new Error(`ScheduleLR: the schedule gave ${v.length} lrs for ${n} parameter groups at step ${this.lastEpoch}`);
      v.forEach((x, i) => checkLrValue(x, i, this.lastEpoch));
      return [...v];
    }
    checkLrValue(v, 0, this.lastEpoch);
    return Array.from({ length: n }, () => v);
  }
}

function checkLrValue(x: unknown, i: number, step: number): void {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
    throw new RangeError(`ScheduleLR: the schedule gave lr ${describe(x)} for paramGroups[${i}] at step ${step}; it must be a finite number >= 0`);
  }
}

/** Multiply the lr by gamma every stepSize steps. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: AnyOptimizer, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }) {
    super('StepLR', optimizer);
    checkPositiveInt('StepLR', 'stepSize', stepSize);
    checkFinite('StepLR', 'gamma', gamma);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.current();
    return this.current().map((lr) => lr * this.gamma);
  }
}

/** Multiply the lr by gamma at each milestone step (by gamma^k for a milestone listed k times). */
export class MultiStepLR extends LRScheduler {
  milestones: number[];
  gamma: number;
  constructor(optimizer: AnyOptimizer, { milestones, gamma = 0.1 }: { milestones: number[]; gamma?: number }) {
    super('MultiStepLR', optimizer);
    if (!Array.isArray(milestones) || milestones.some((m) => !Number.isInteger(m) || m < 0)) {
      throw new TypeError(`MultiStepLR: milestones must be an array of integers >= 0, got ${describe(milestones)}`);
    }
    checkFinite('MultiStepLR', 'gamma', gamma);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = gamma;
    this.initialStep();
  }
  protected getLr(): number[] {
    const k = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (k === 0) return this.current();
    return this.current().map((lr) => lr * this.gamma ** k);
  }
}

/** Multiply the lr by gamma at every step. */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  constructor(optimizer: AnyOptimizer, { gamma }: { gamma: number }) {
    super('ExponentialLR', optimizer);
    checkFinite('ExponentialLR', 'gamma', gamma);
    this.gamma = gamma;
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.isInitial) return this.current();
    return this.current().map((lr) => lr * this.gamma);
  }
}

/** Scale the lr linearly from startFactor to endFactor over totalIters steps, then keep it. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(optimizer: AnyOptimizer, { startFactor = 1 / 3, endFactor = 1, totalIters = 5 }: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super('LinearLR', optimizer);
    if (typeof startFactor !== 'number' || !(startFactor > 0 && startFactor <= 1)) {
      throw new RangeError(`LinearLR: startFactor must be in (0, 1], got ${describe(startFactor)}`);
    }
    if (typeof endFactor !== 'number' || !(endFactor >= 0 && endFactor <= 1)) {
      throw new RangeError(`LinearLR: endFactor must be in [0, 1], got ${describe(endFactor)}`);
    }
    checkPositiveInt('LinearLR', 'totalIters', totalIters);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.current().map((lr) => lr * this.startFactor);
    if (this.isInitial || this.lastEpoch > this.totalIters) return this.current();
    const d = this.endFactor - this.startFactor;
    return this.current().map((lr) => lr * (1 + d / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * d)));
  }
}

/** Cosine annealing from the initial lr down to etaMin over tMax steps (and back up after,
 *  as torch's recursive form does). */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(optimizer: AnyOptimizer, { tMax, etaMin = 0 }: { tMax: number; etaMin?: number }) {
    super('CosineAnnealingLR', optimizer);
    checkPositiveInt('CosineAnnealingLR', 'tMax', tMax);
    checkFinite('CosineAnnealingLR', 'etaMin', etaMin);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }
  protected getLr(): number[] {
    const { tMax, etaMin, lastEpoch: t } = this;
    if (this.isInitial) return this.current();
    if ((t - 1 - tMax) % (2 * tMax) === 0) {
      return this.groups().map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return this.groups().map(
      (g) => ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (g.lr - etaMin) + etaMin,
    );
  }
}
