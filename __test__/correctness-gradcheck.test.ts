// gradcheck's two modes: the full Jacobian (the default, as torch.autograd.gradcheck's
// fast_mode=False) names the entry at fault; fast mode checks one random projection per input
// with a constant number of forward passes. __test__/gradcheck.test.ts runs every op in full mode.
import { describe, expect, it } from 'vitest';
import { Tensor, gradcheck, tensor } from '../index.js';
import { record } from '../src/ops/record.js';

const x64 = (vals: number[]): Tensor => tensor(vals, { dtype: 'float64', requiresGrad: true });

/** y = 3x elementwise, with a backward that returns `wrong(g)` instead of 3g. */
function buggyTriple(wrong: (g: Float64Array) => Float64Array): (x: Tensor) => Tensor {
  return (x) => {
    const out = x.detach().mul(3);
    return record(out, 'BuggyBackward', [x], (g) => [new Tensor(wrong(g.contiguous().toArray() as Float64Array), [...g.shape])], []);
  };
}

describe('gradcheck', () => {
  it('checks the full Jacobian by default and names the wrong entry', () => {
    // Row 2 of the output sends its gradient to input element 1 instead of 2.
    const fn = buggyTriple((g) => Float64Array.from([3 * g[0], 3 * g[1] + 3 * g[2], 0]));
    const res = gradcheck(fn, [x64([0.5, -1, 2])]);
    expect(res.mode).toBe('full');
    expect(res.ok).toBe(false);
    expect(res.maxAbsError).toBeCloseTo(3, 6);
    expect(res.worst).toMatchObject({ input: 0 });
    // Either of the two wrong entries: (element 1, output 2) should be 0, (element 2, output 2) should be 3.
    expect([[1, 2], [2, 2]]).toContainEqual([res.worst!.element, res.worst!.output]);
  });

  it('passes a correct op in both modes', () => {
    const fn = (a: Tensor, b: Tensor): Tensor => a.matmul(b).tanh();
    const a = tensor([[0.3, -0.2, 0.1], [0.5, 0.4, -0.6]], { dtype: 'float64', requiresGrad: true });
    const b = tensor([[0.2, 0.1], [-0.3, 0.7], [0.5, -0.1]], { dtype: 'float64', requiresGrad: true });
    const full = gradcheck(fn, [a, b]);
    expect(full).toMatchObject({ ok: true, mode: 'full' });
    expect(full.maxAbsError).toBeLessThan(1e-8);
    const fast = gradcheck(fn, [a, b], { fastMode: true });
    expect(fast).toMatchObject({ ok: true, mode: 'fast' });
    expect(fast.maxAbsError).toBeLessThan(1e-8);
  });

  it('fast mode catches the wrong Jacobian with a constant number of forward passes', () => {
    let calls = 0;
    const bug = buggyTriple((g) => Float64Array.from(Array.from(g, (v, i) => (i === 3 ? -3 * v : 3 * v))));
    const fn = (x: Tensor): Tensor => {
      calls++;
      return bug(x);
    };
    const x = x64([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    const res = gradcheck(fn, [x], { fastMode: true });
    expect(res.mode).toBe('fast');
    expect(res.ok).toBe(false);
    expect(res.worst).toMatchObject({ input: 0, element: null, output: null });
    expect(calls).toBe(3); // one forward with the graph, two along the random direction
    calls = 0;
    expect(gradcheck(fn, [x]).ok).toBe(false);
    expect(calls).toBe(1 + 2 * 8); // full mode: two per input element
  });

  it('a NaN gradient is a failure, not a pass', () => {
    const fn = buggyTriple((g) => g.map(() => NaN));
    expect(gradcheck(fn, [x64([1, 2])]).ok).toBe(false);
    expect(gradcheck(fn, [x64([1, 2])], { fastMode: true }).ok).toBe(false);
  });

  it('inputs that do not require grad are constants; at least one must require grad', () => {
    const c = tensor([2, 3], { dtype: 'float64' });
    expect(gradcheck((x, k) => x.mul(k), [x64([1, 2]), c]).ok).toBe(true);
    expect(() => gradcheck((k) => k.mul(2), [c])).toThrow(/^gradcheck: expected at least one input tensor that requires grad/);
    expect(() => gradcheck((x) => x.mul(2), [tensor([1, 2], { requiresGrad: true })])).toThrow(/^gradcheck: input 0 .* float32/);
  });
});
