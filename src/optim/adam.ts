// Adam and AdamW, as torch.optim.Adam / torch.optim.AdamW (their single-tensor CPU path):
// bias-corrected first and second moments, optional AMSGrad, L2 weight decay added to the
// gradient (Adam) or decoupled decay p *= 1 - lr·weightDecay before the update (AdamW).
// Per element, the float32 operations follow torch's order and rounding:
//   m  = lerp(m, g, 1 - beta1)                 (a fused multiply-add)
//   v  = v·beta2, then v + ((1 - beta2)·g)·g   (the last multiply-add fused)
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p  = p + ((-lr / (1 - beta1^t))·m) / denom
// with the step-dependent scalars computed in double (as Python does) and rounded to float32.
// torch's vectorised float32 sqrt on AVX-512 is not correctly rounded (it differs from the exact
// square root by 1 ulp for about a fifth of inputs); this one is, so trajectories agree with
// torch's to about an ulp per step rather than bit for bit.
import { Tensor } from '../tensor/tensor.js';
import { bumpVersion } from '../autograd/version.js';
import {
  Optimizer, checkBool, checkNonNegative, checkStateTensor, describe, distinctFrom, flatGrad, flatParam, kernelsFor, roundingFor,
  zerosLikeParam,
  type ParamGroup, type ParamState, type Params,
} from './optimizer.js';

export interface AdamOptions {
  /** Step size. Default 1e-3. */
  lr: number;
  /** Decay rates of the first and second moment averages. Default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator for numerical stability. Default 1e-8. */
  eps: number;
  /** Weight decay: L2 penalty (Adam) or decoupled decay (AdamW). Default 0 (Adam), 0.01 (AdamW). */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad). Default false. */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing it. Default false. */
  maximize: boolean;
  /** Decay the weights directly (AdamW) instead of adding weightDecay·p to the gradient. */
  decoupledWeightDecay: boolean;
}

export interface AdamState extends ParamState {
  /** Steps taken for this parameter (torch keeps it per parameter). */
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  /** Only with amsgrad. */
  maxExpAvgSq?: Tensor;
}

type AdamArgs = Partial<AdamOptions>;

export class Adam extends Optimizer<AdamOptions, AdamState> {
  constructor(params: Params<AdamOptions>, options: AdamArgs = {}) {
    super(nameFor(new.target), params, adamDefaults(nameFor(new.target), options, {}));
  }

  protected checkOptions(o: AdamOptions, where: string): void {
    const op = this.opName;
    checkNonNegative(op, 'learning rate', o.lr, where);
    checkNonNegative(op, 'epsilon value', o.eps, where);
    checkNonNegative(op, 'weightDecay value', o.weightDecay, where);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new TypeError(`${op}: betas in ${where} must be a pair [beta1, beta2], got ${describe(o.betas)}`);
    }
    o.betas.forEach((b, i) => {
      if (typeof b !== 'number' || !(b >= 0 && b < 1)) {
        throw new RangeError(`${op}: invalid beta parameter at index ${i} in ${where}: ${String(b)} (must be in [0, 1))`);
      }
    });
    checkBool(op, 'amsgrad', o.amsgrad, where);
    checkBool(op, 'maximize', o.maximize, where);
    checkBool(op, 'decoupledWeightDecay', o.decoupledWeightDecay, where);
  }

  protected checkState(op: string, where: string, entry: ParamState, p: Tensor): void {
    if (Object.keys(entry).length === 0) return;
    const step = entry.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
      throw new Error(`${op}: ${where}.step must be an integer >= 0, got ${describe(step)}`);
    }
    checkStateTensor(op, where, entry, 'expAvg', p);
    checkStateTensor(op, where, entry, 'expAvgSq', p);
    if ('maxExpAvgSq' in entry) checkStateTensor(op, where, entry, 'maxExpAvgSq', p);
  }

  protected updateGroup(group: ParamGroup<AdamOptions>): void {
    const op = `${this.opName}.step`;
    const { eps, weightDecay, amsgrad, maximize, decoupledWeightDecay } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      const G = flatGrad(op, p);
      if (G === null) continue;
      const P = flatParam(op, p);
      let s = this.state.get(p);
      if (s === undefined || !(s.expAvg instanceof Tensor)) {
        s = { step: 0, expAvg: zerosLikeParam(p), expAvgSq: zerosLikeParam(p) };
        this.state.set(p, s);
      }
      if (amsgrad && !(s.maxExpAvgSq instanceof Tensor)) s.maxExpAvgSq = zerosLikeParam(p);
      const step = ++s.step;
      const M = s.expAvg.flatFloat();
      const V = s.expAvgSq.flatFloat();
      const Vmax = amsgrad ? s.maxExpAvgSq!.flatFloat() : null;

      const r = roundingFor(p);
      writeAdamStepScalars(group, step, r, scratch, 0);
      const epsF = r(eps);
      const weight = r(1 - beta1); // lerp weight
      const beta2F = r(beta2);
      const oneMinusBeta2 = r(1 - beta2);
      const l2 = weightDecay !== 0 && !decoupledWeightDecay ? r(weightDecay) : 0;

      // One fused kernel per parameter: the float32 operations at the top of this file, in order
      // (the Backend's adamStep; its reference twin is the update as a TypeScript loop).
      kernelsFor(P, [G, M, V, Vmax]).adamStep(
        P, distinctFrom(G, [P, M, V, Vmax]), M, V, Vmax, scratch[0], l2, weight, beta2F, oneMinusBeta2, scratch[1], scratch[2], epsF, maximize,
      );
      bumpVersion(p.data);
    }
  }
}

const scratch = new Float64Array(3);

/** The scalars of one parameter's update that change from step to step (the learning rate may
 *  follow a schedule; the bias corrections follow the parameter's step count), as adamStep takes
 *  them: out[at..at+3) = [decay, negStepSize, bc2Sqrt]. In double, as torch computes them in
 *  Python, then rounded by r to the parameter's dtype. A compiled step writes them here before
 *  its native adamStep steps read them (src/compile/host-ops.ts), so both paths agree. */
export function writeAdamStepScalars(group: ParamGroup<AdamOptions>, step: number, r: (x: number) => number, out: Float64Array, at: number): void {
  const { lr, weightDecay, decoupledWeightDecay } = group;
  const [beta1, beta2] = group.betas;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
  out[at] = weightDecay !== 0 && decoupledWeightDecay ? r(1 - lr * weightDecay) : 1;
  out[at + 1] = r(-(lr / biasCorrection1));
  out[at + 2] = r(biasCorrection2Sqrt);
}

/** Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW: by default
 *  lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0.01. */
export class AdamW extends Adam {
  constructor(params: Params<AdamOptions>, options: Omit<AdamArgs, 'decoupledWeightDecay'> = {}) {
    if (options !== null && typeof options === 'object' && 'decoupledWeightDecay' in options) {
      throw new Error('AdamW: decoupledWeightDecay is always true for AdamW (use Adam for L2 weight decay)');
    }
    super(params, { weightDecay: 0.01, ...options, decoupledWeightDecay: true });
  }
}

function nameFor(ctor: unknown): string {
  return ctor === AdamW ? 'AdamW' : 'Adam';
}

function adamDefaults(op: string, options: AdamArgs, extra: AdamArgs): AdamOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${op}: options must be an object { lr, betas, eps, weightDecay, amsgrad }, got ${describe(options)}`);
  }
  const defaults: AdamOptions = {
    lr: 1e-3,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
    amsgrad: false,
    maximize: false,
    decoupledWeightDecay: false,
    ...extra,
  };
  for (const [k, v] of Object.entries(options)) {
    if (!(k in defaults)) throw new Error(`${op}: unknown option '${k}' (options: ${Object.keys(defaults).join(', ')})`);
    if (v !== undefined) (defaults as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
  }
  return defaults;
}
