// AdamW for the command's float32 models: optim.AdamW with its update loop specialised for
// float32 parameters. The float32 operations and their order are those of optim.AdamW (torch's
// single-tensor AdamW), so the numbers are the same bits (a test holds it to optim.AdamW); only
// the loop is written for one dtype, with Math.fround called directly. Measured on the default
// transformer (204,544 parameters, 2 loaded cores): 27-55 ms per optimizer step with optim.AdamW,
// 2-4 ms with this loop. Options other than makemore.py's (amsgrad, maximize) use optim.AdamW's.
import { AdamW, type AdamState } from '../optim/adam.js';
import type { ParamGroup } from '../optim/optimizer.js';
import type { AdamOptions } from '../optim/adam.js';
import { Tensor } from '../tensor/tensor.js';
import { bumpVersion } from '../autograd/version.js';

const fr = Math.fround;

function update(P: Float32Array, G: Float32Array, M: Float32Array, V: Float32Array, decay: number, weight: number, lerpLow: boolean,
  oneMinusWeight: number, beta2: number, oneMinusBeta2: number, negStepSize: number, bc2Sqrt: number, eps: number): void {
  const n = P.length;
  for (let i = 0; i < n; i++) {
    const g = G[i];
    const p = decay !== 1 ? fr(P[i] * decay) : P[i];
    const diff = fr(g - M[i]);
    const m = lerpLow ? fr(M[i] + weight * diff) : fr(g - diff * oneMinusWeight);
    M[i] = m;
    const v = fr(fr(V[i] * beta2) + fr(oneMinusBeta2 * g) * g);
    V[i] = v;
    const denom = fr(fr(fr(Math.sqrt(v)) / bc2Sqrt) + eps);
    P[i] = fr(p + fr(fr(negStepSize * m) / denom));
  }
}

export class AdamWFloat32 extends AdamW {
  protected override updateGroup(group: ParamGroup<AdamOptions>): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const allFloat32 = group.params.every((p) => p.dtype === 'float32' && p.isContiguous() && (p.grad === null || (p.grad.dtype === 'float32' && p.grad.isContiguous() && p.grad.numel() === p.numel())));
    if (amsgrad || maximize || !allFloat32) {
      super.updateGroup(group);
      return;
    }
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      if (p.grad === null) continue;
      let s = this.state.get(p) as AdamState | undefined;
      if (s === undefined || !(s.expAvg instanceof Tensor)) {
        s = { step: 0, expAvg: new Tensor(new Float32Array(p.numel()), [...p.shape]), expAvgSq: new Tensor(new Float32Array(p.numel()), [...p.shape]) };
        this.state.set(p, s);
      }
      const step = ++s.step;
      // Step scalars in double, as torch computes them in Python, then float32 (optim.AdamW's rounding).
      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
      const weight = fr(1 - beta1);
      update(
        p.flatFloat() as Float32Array, p.grad.flatFloat() as Float32Array, s.expAvg.flatFloat() as Float32Array, s.expAvgSq.flatFloat() as Float32Array,
        weightDecay !== 0 ? fr(1 - lr * weightDecay) : 1, weight, Math.abs(weight) < 0.5, fr(1 - weight), fr(beta2), fr(1 - beta2),
        fr(-(lr / biasCorrection1)), fr(biasCorrection2Sqrt), fr(eps),
      );
      bumpVersion(p.data);
    }
  }
}
