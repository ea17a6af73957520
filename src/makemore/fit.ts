// The makemore lectures' training loop, shared by the part 2 and part 3 models: draw a minibatch
// with `randint(0, n, [batch], generator=g)`, forward, `p.grad = None`, backward, then the update
// `p.data += -lr * p.grad`, which is optim.SGD with the product rounded before the add
// (fusedMultiplyAdd: false), so the lectures' seeded losses come out bit for bit.
import { Tensor } from '../tensor/tensor.js';
import { randint } from '../tensor/creation.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { SGD } from '../optim/sgd.js';

export interface FitOptions {
  steps: number;
  /** A constant, or the step size for step i (see `stepDecay`: the lectures use 0.1 then 0.01). */
  lr: number | ((step: number) => number);
  /** Rows drawn per step. Default 32. */
  batchSize?: number;
  /**
   * Draws the minibatch indices. Part 3 passes the generator that drew the parameters (continued
   * after the init draws), which is what makes its seeded losses reproducible. Default: the global generator.
   */
  generator?: Generator;
  /** Called after every step with the minibatch loss of that step (computed before its update). */
  onStep?: (step: number, loss: number) => void;
  /** Called after the forward pass and before backward() (e.g. to retainGrad() layer outputs). */
  beforeBackward?: (step: number, loss: Tensor) => void;
  /** Called after the update with the learning rate used (e.g. to track update:data ratios). */
  afterUpdate?: (step: number, lr: number) => void;
}

export interface FitResult {
  /** Minibatch loss of every step (before that step's update), float32 as `loss.item()` gives it. */
  losses: Float32Array;
}

export function checkLr(op: string, lr: unknown, where = ''): asserts lr is number {
  if (typeof lr !== 'number' || !Number.isFinite(lr)) throw new RangeError(`${op}: lr must be a finite number${where}, got ${String(lr)}`);
}

function checkPositiveInt(op: string, name: string, v: unknown): asserts v is number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${op}: ${name} must be an integer >= 1, got ${String(v)}`);
}

/** The lectures' `p.data += -lr * p.grad` as an optimizer: SGD without momentum, product rounded first. */
export function lectureSgd(params: Iterable<Tensor>, lr = 0.1): SGD {
  return new SGD(params, { lr, fusedMultiplyAdd: false });
}

/**
 * One update of the lecture's loop body after the forward pass: `p.grad = None`, backward, the
 * update with step size `lr`; returns `loss.item()`. A negative lr (gradient ascent, which the
 * hand-written update allowed) becomes SGD's maximize with |lr|: the same numbers.
 */
export function sgdStep(optimizer: SGD, loss: Tensor, lr: number): number {
  optimizer.zeroGrad();
  loss.backward();
  for (const g of optimizer.paramGroups) {
    g.lr = Math.abs(lr);
    g.maximize = lr < 0;
  }
  optimizer.step();
  return loss.item();
}

/** Check the options of `fitMinibatches` (before anything changes). */
export function checkFitOptions(op: string, options: FitOptions): Required<Pick<FitOptions, 'steps' | 'batchSize' | 'generator'>> {
  if (options === null || typeof options !== 'object') throw new TypeError(`${op}: expected options { steps, lr, ... }`);
  const { steps, lr, batchSize = 32, generator = defaultGenerator, onStep, beforeBackward, afterUpdate } = options;
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`${op}: steps must be an integer >= 0, got ${String(steps)}`);
  if (typeof lr !== 'function') checkLr(op, lr);
  checkPositiveInt(op, 'batchSize', batchSize);
  if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator (e.g. new Generator().manualSeed(2147483647))`);
  for (const [name, f] of [['onStep', onStep], ['beforeBackward', beforeBackward], ['afterUpdate', afterUpdate]] as const) {
    if (f !== undefined && typeof f !== 'function') throw new TypeError(`${op}: ${name} must be a function`);
  }
  return { steps, batchSize, generator };
}

/**
 * `steps` minibatch SGD steps of `lossOf(Xb, Yb)` over the rows of (X, Y). Stops with a clear error
 * when the loss stops being finite, instead of carrying NaN on.
 */
export function fitMinibatches(
  op: string,
  optimizer: SGD,
  lossOf: (Xb: Tensor, Yb: Tensor) => Tensor,
  X: Tensor,
  Y: Tensor,
  options: FitOptions,
): FitResult {
  const { steps, batchSize, generator } = checkFitOptions(op, options);
  const { lr, onStep, beforeBackward, afterUpdate } = options;
  const n = X.shape[0]!;
  if (n === 0 && steps > 0) throw new RangeError(`${op}: the training split is empty (0 rows)`);
  const losses = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    const rate = typeof lr === 'function' ? lr(i) : lr;
    if (typeof lr === 'function') checkLr(op, rate, ` (the schedule returned it for step ${i})`);
    const ix = randint(0, n, [batchSize], { generator });
    const loss = lossOf(X.index(ix), Y.index(ix));
    beforeBackward?.(i, loss);
    const value = sgdStep(optimizer, loss, rate);
    if (!Number.isFinite(value)) {
      throw new Error(`${op}: the minibatch loss became ${value} at step ${i} (lr ${rate}); training diverged, lower the learning rate`);
    }
    losses[i] = value;
    afterUpdate?.(i, rate);
    onStep?.(i, value);
  }
  return { losses };
}
