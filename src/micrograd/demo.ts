// micrograd's demo.ipynb as a function: a 2-16-16-1 ReLU MLP learns the two-moons data with an
// SVM max-margin loss, L2 regularisation and plain SGD. With the default seeds it follows the
// notebook's own trajectory (loss 0.8958441028683222 at step 0, 0.010978370135492717 at step 99).

import { NumpyRandomState } from '../random/numpy.js';
import { PyRandom } from '../random/pyrandom.js';
import { makeMoons } from './moons.js';
import { MLP } from './nn.js';
import { Value } from './value.js';

export interface MoonsLoss {
  /** data loss (mean hinge) + alpha * sum(p*p), as one differentiable Value. */
  loss: Value;
  /** Fraction of rows whose score has the sign of its label. */
  accuracy: number;
  /** The model's score for each row used. */
  scores: Value[];
}

/**
 * The demo's `loss()`: mean(relu(1 - y_i * score_i)) + alpha * sum(p * p), labels in {-1, +1}.
 * The expression is built in the notebook's order (hinge as 1 + (-y)*s, the sum times 1/n) so
 * that every float rounds as it did there.
 */
export function moonsLoss(
  model: MLP,
  X: ReadonlyArray<readonly number[]>,
  y: ReadonlyArray<number>,
  alpha = 1e-4,
): MoonsLoss {
  if (X.length !== y.length) {
    throw new RangeError(`moonsLoss: X has ${X.length} rows but y has ${y.length} labels`);
  }
  if (X.length === 0) throw new RangeError('moonsLoss: no data (X has 0 rows)');
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1 && y[i] !== -1) throw new RangeError(`moonsLoss: labels must be -1 or +1, got y[${i}] = ${y[i]}`);
  }
  if (!Number.isFinite(alpha) || alpha < 0) throw new RangeError(`moonsLoss: alpha must be finite and >= 0, got ${alpha}`);

  const scores: Value[] = [];
  let correct = 0;
  let dataSum = new Value(0);
  for (let i = 0; i < X.length; i++) {
    const row = X[i]!;
    const inputs = row.map((v) => new Value(v));
    const score = model.forwardScalar(inputs);
    scores.push(score);
    const yi = y[i]!;
    const hinge = score.mul(-yi).add(1).relu();
    // Python's sum() starts from 0 and adds left to right: 0 + l0 + l1 + ...
    dataSum = i === 0 ? hinge.add(0) : dataSum.add(hinge);
    if (yi > 0 === score.data > 0) correct++;
  }
  const dataLoss = dataSum.mul(1.0 / X.length);
  let sq: Value | null = null;
  for (const p of model.parameters()) {
    const pp = p.mul(p);
    sq = sq === null ? pp.add(0) : sq.add(pp);
  }
  const regLoss = sq === null ? new Value(0) : sq.mul(alpha);
  return { loss: dataLoss.add(regLoss), accuracy: correct / X.length, scores };
}

export interface MoonsStep {
  step: number;
  loss: number;
  accuracy: number;
  learningRate: number;
}

export interface TrainMoonsOptions {
  /** SGD steps; default 100. */
  steps?: number;
  /** Points in the data set; default 100. */
  nSamples?: number;
  /** Std of the Gaussian noise on the points; default 0.1. */
  noise?: number;
  /** np.random.seed for the data and random.seed for the weights; default 1337 (both, as in the demo). */
  seed?: number;
  /** L2 strength; default 1e-4. */
  alpha?: number;
  /** Hidden layer sizes; default [16, 16]. */
  hidden?: number[];
  /** Rows per step, drawn with np.random.permutation(N)[:batchSize] from the data's stream; default all. */
  batchSize?: number | null;
  /** Called after every step with the loss and accuracy measured before its update. */
  onStep?: (s: MoonsStep) => void;
}

export interface TrainMoonsResult {
  model: MLP;
  /** The data set, labels in {-1, +1}. */
  X: [number, number][];
  y: number[];
  history: MoonsStep[];
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`trainMoons: ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

/** Run the moons demo: data, model, and `steps` SGD steps with lr = 1.0 - 0.9 * k / 100. */
export function trainMoons(options: TrainMoonsOptions = {}): TrainMoonsResult {
  const steps = options.steps ?? 100;
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`trainMoons: steps must be an integer >= 0, got ${steps}`);
  const nSamples = positiveInt('nSamples', options.nSamples ?? 100);
  const seed = options.seed ?? 1337;
  const hidden = options.hidden ?? [16, 16];
  const batchSize = options.batchSize ?? null;
  if (batchSize !== null) {
    positiveInt('batchSize', batchSize);
    if (batchSize > nSamples) throw new RangeError(`trainMoons: batchSize (${batchSize}) must be at most nSamples (${nSamples})`);
  }

  const rs = new NumpyRandomState(seed);
  const data = makeMoons(nSamples, options.noise ?? 0.1, rs);
  const y = data.y.map((c) => c * 2 - 1);
  const model = new MLP(2, [...hidden, 1], { rng: new PyRandom(seed) });
  const params = model.parameters();

  const history: MoonsStep[] = [];
  for (let k = 0; k < steps; k++) {
    let Xb: [number, number][] = data.X;
    let yb = y;
    if (batchSize !== null) {
      const ri = rs.permutation(nSamples).subarray(0, batchSize);
      Xb = Array.from(ri, (i) => data.X[i]!);
      yb = Array.from(ri, (i) => y[i]!);
    }
    const { loss, accuracy } = moonsLoss(model, Xb, yb, options.alpha ?? 1e-4);
    model.zeroGrad();
    loss.backward();
    // The notebook's schedule is written for 100 steps; it keeps decaying past them.
    const learningRate = 1.0 - (0.9 * k) / 100;
    for (const p of params) p.data -= learningRate * p.grad;
    const s = { step: k, loss: loss.data, accuracy, learningRate };
    history.push(s);
    options.onStep?.(s);
  }
  return { model, X: data.X, y, history };
}
