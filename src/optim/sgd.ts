// Stochastic gradient descent with momentum, dampening, Nesterov momentum, L2 weight decay and
// maximize, as torch.optim.SGD (its single-tensor CPU path). Each element goes through the same
// float32 operations in the same order as torch, so trajectories agree with torch's bit for bit
// (torch's `x.add_(y, alpha=a)` is a fused multiply-add; a JS double holds the exact product of
// two float32 numbers, so rounding `x + a*y` once to float32 is that same fused operation).
import { Tensor } from '../tensor/tensor.js';
import { bumpVersion } from '../autograd/version.js';
import {
  Optimizer, checkBool, checkNonNegative, checkStateTensor, distinctFrom, flatGrad, flatParam, kernelsFor, roundingFor, zerosLikeParam,
  type ParamGroup, type ParamState, type Params,
} from './optimizer.js';

export interface SGDOptions {
  /** Step size (required, as in torch). */
  lr: number;
  /** Momentum factor. Default 0. */
  momentum: number;
  /** Dampening of the gradient added to the momentum buffer. Default 0. */
  dampening: number;
  /** L2 penalty added to the gradient: g + weightDecay·p. Default 0. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing it. Default false. */
  maximize: boolean;
  /**
   * Default true: `p + (-lr)·g` is one fused multiply-add, as torch.optim.SGD computes it.
   * false: round `-lr·g` to float32 first, as the lectures' hand-written update
   * `p.data += -lr * p.grad` does (and ferrograd's `p.add_(g, -lr)`), for reproducing their
   * seeded numbers bit for bit. Applies to every multiply-add of the update.
   */
  fusedMultiplyAdd: boolean;
}

export interface SGDState extends ParamState {
  momentumBuffer: Tensor;
}

export class SGD extends Optimizer<SGDOptions, SGDState> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    if (options === null || typeof options !== 'object') throw new TypeError('SGD: options must be an object { lr, momentum, ... }');
    if (!('lr' in options)) throw new Error('SGD: lr is required (e.g. new SGD(params, { lr: 0.1 }))');
    super('SGD', params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
      maximize: options.maximize ?? false,
      fusedMultiplyAdd: options.fusedMultiplyAdd ?? true,
    });
    for (const k of Object.keys(options)) {
      if (!(k in this.defaults)) throw new Error(`SGD: unknown option '${k}' (options: ${Object.keys(this.defaults).join(', ')})`);
    }
  }

  protected checkOptions(o: SGDOptions, where: string): void {
    checkNonNegative('SGD', 'learning rate', o.lr, where);
    checkNonNegative('SGD', 'momentum value', o.momentum, where);
    checkNonNegative('SGD', 'dampening value', o.dampening, where);
    checkNonNegative('SGD', 'weightDecay value', o.weightDecay, where);
    checkBool('SGD', 'nesterov', o.nesterov, where);
    checkBool('SGD', 'maximize', o.maximize, where);
    checkBool('SGD', 'fusedMultiplyAdd', o.fusedMultiplyAdd, where);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(`SGD: Nesterov momentum requires a momentum and zero dampening (${where} has momentum ${o.momentum}, dampening ${o.dampening})`);
    }
  }

  protected checkState(op: string, where: string, entry: ParamState, p: Tensor): void {
    if ('momentumBuffer' in entry) checkStateTensor(op, where, entry, 'momentumBuffer', p);
  }

  protected updateGroup(group: ParamGroup<SGDOptions>): void {
    const { momentum, nesterov, maximize, fusedMultiplyAdd } = group;
    for (const p of group.params) {
      const G = flatGrad('SGD.step', p);
      if (G === null) continue;
      const P = flatParam('SGD.step', p);
      const r = roundingFor(p);
      let B: Float32Array | Float64Array | null = null;
      let first = false;
      if (momentum !== 0) {
        let s = this.state.get(p);
        if (s === undefined || !(s.momentumBuffer instanceof Tensor)) {
          s = { ...s, momentumBuffer: zerosLikeParam(p) };
          this.state.set(p, s);
          first = true;
        }
        B = s.momentumBuffer.flatFloat();
      }
      // One fused kernel per parameter: torch's float32 operations in its order (see the
      // Backend's sgdStep; its reference twin is the TypeScript loop). Scalars enter torch's
      // float32 kernels as float32, computed in double first as Python does.
      kernelsFor(P, [G, B]).sgdStep(
        P, distinctFrom(G, [P, B]), B, first,
        r(-group.lr), r(group.weightDecay), r(momentum), r(1 - group.dampening), nesterov, maximize, fusedMultiplyAdd,
      );
      bumpVersion(p.data);
    }
  }
}

