// micrograd's nn library: shapes, parameter counts, seeded initialisation, forward maths,
// zeroGrad, the lecture's tiny training loop, and errors.
import { describe, expect, it } from 'vitest';
import { Layer, MLP, Neuron, Value, manualSeed } from '../src/micrograd/index.js';
import { PyRandom } from '../src/random/pyrandom.js';

describe('Neuron / Layer / MLP', () => {
  it('counts parameters as the lecture and the demo do', () => {
    expect(new MLP(3, [4, 4, 1], { activation: 'tanh', outputActivation: 'tanh', biasInit: 'uniform' }).parameters()).toHaveLength(41);
    expect(new MLP(2, [16, 16, 1]).parameters()).toHaveLength(337);
    expect(new Layer(5, 3).parameters()).toHaveLength(18);
    expect(new Neuron(7).parameters()).toHaveLength(8);
  });

  it("prints the demo's model repr", () => {
    const relu2 = Array(16).fill('ReLUNeuron(2)').join(', ');
    const relu16 = Array(16).fill('ReLUNeuron(16)').join(', ');
    expect(String(new MLP(2, [16, 16, 1]))).toBe(
      `MLP of [Layer of [${relu2}], Layer of [${relu16}], Layer of [LinearNeuron(16)]]`,
    );
    expect(String(new Neuron(3, { activation: 'tanh' }))).toBe('TanhNeuron(3)');
  });

  it('draws weights with random.uniform(-1, 1) in order; bias 0 (repo) or drawn after the weights (lecture)', () => {
    const ref = new PyRandom(42);
    const n = new Neuron(3, { rng: new PyRandom(42) });
    expect(n.w.map((w) => w.data)).toEqual([ref.uniform(-1, 1), ref.uniform(-1, 1), ref.uniform(-1, 1)]);
    expect(n.b.data).toBe(0);

    const ref2 = new PyRandom(42);
    const m = new Neuron(2, { rng: new PyRandom(42), biasInit: 'uniform' });
    const want = [ref2.uniform(-1, 1), ref2.uniform(-1, 1), ref2.uniform(-1, 1)];
    expect([...m.w.map((w) => w.data), m.b.data]).toEqual(want);
    for (const p of m.parameters()) expect(Math.abs(p.data)).toBeLessThanOrEqual(1);
  });

  it('is reproducible: the same seed gives the same weights, another seed different ones', () => {
    const a = new MLP(2, [4, 1], { seed: 3 }).parameters().map((p) => p.data);
    const b = new MLP(2, [4, 1], { seed: 3 }).parameters().map((p) => p.data);
    const c = new MLP(2, [4, 1], { seed: 4 }).parameters().map((p) => p.data);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    manualSeed(11);
    const d = new MLP(2, [4, 1]).parameters().map((p) => p.data);
    manualSeed(11);
    const e = new MLP(2, [4, 1]).parameters().map((p) => p.data);
    expect(d).toEqual(e);
  });

  it('forward computes act(b + w.x) with the chosen activation', () => {
    const x = [0.5, -2, 1.25];
    for (const activation of ['relu', 'tanh', 'sigmoid', 'linear'] as const) {
      const n = new Neuron(3, { activation, rng: new PyRandom(5), biasInit: 'uniform' });
      const s = n.b.data + n.w.reduce((acc, w, i) => acc + w.data * x[i]!, 0);
      const want = { relu: Math.max(0, s), tanh: Math.tanh(s), sigmoid: 1 / (1 + Math.exp(-s)), linear: s }[activation];
      expect(Math.abs(n.forward(x).data - want)).toBeLessThan(1e-15);
    }
  });

  it('MLP forward chains the layers; hidden ReLU, linear output by default', () => {
    const mlp = new MLP(2, [3, 2], { seed: 9 });
    const x = [0.3, -0.7];
    const h = mlp.layers[0]!.neurons.map((n) => {
      const s = n.b.data + n.w[0]!.data * x[0]! + n.w[1]!.data * x[1]!;
      return Math.max(0, s);
    });
    const want = mlp.layers[1]!.neurons.map((n) => n.b.data + n.w.reduce((acc, w, i) => acc + w.data * h[i]!, 0));
    const got = mlp.forward(x).map((v) => v.data);
    got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-15));
    expect(mlp.nout).toBe(2);
    expect(() => mlp.forwardScalar(x)).toThrow('MLP.forwardScalar: the last layer has 2 outputs; use forward() for a list');
  });

  it('zeroGrad clears every parameter gradient', () => {
    const mlp = new MLP(2, [3, 1], { seed: 1, biasInit: 'uniform', activation: 'tanh' });
    mlp.forwardScalar([1, 2]).backward();
    expect(mlp.parameters().some((p) => p.grad !== 0)).toBe(true);
    mlp.zeroGrad();
    expect(mlp.parameters().every((p) => p.grad === 0)).toBe(true);
  });

  it("the lecture's loop (MLP(3, [4, 4, 1]) with tanh, 20 steps of lr 0.1) drives the loss down", () => {
    const xs = [
      [2.0, 3.0, -1.0],
      [3.0, -1.0, 0.5],
      [0.5, 1.0, 1.0],
      [1.0, 1.0, -1.0],
    ];
    const ys = [1.0, -1.0, -1.0, 1.0];
    const n = new MLP(3, [4, 4, 1], { activation: 'tanh', outputActivation: 'tanh', biasInit: 'uniform', seed: 0 });
    const losses: number[] = [];
    let ypred: Value[] = [];
    for (let k = 0; k < 20; k++) {
      ypred = xs.map((x) => n.forwardScalar(x));
      const loss = Value.sum(ypred.map((yout, i) => yout.sub(ys[i]!).pow(2)));
      n.zeroGrad();
      loss.backward();
      for (const p of n.parameters()) p.data += -0.1 * p.grad;
      losses.push(loss.data);
    }
    expect(losses[19]!).toBeLessThan(losses[0]! / 4);
    ypred.forEach((yp, i) => expect(Math.sign(yp.data)).toBe(ys[i]));
  });

  it('rejects bad construction and inputs', () => {
    expect(() => new Neuron(0)).toThrow('Neuron: nin must be a positive integer, got 0');
    expect(() => new Layer(2, 1.5)).toThrow('Layer: nout must be a positive integer, got 1.5');
    expect(() => new MLP(2, [])).toThrow('MLP: nouts must be a non-empty array of layer sizes');
    expect(() => new MLP(2, [4, -1])).toThrow('MLP: nouts[1] must be a positive integer, got -1');
    expect(() => new MLP(2, [4], { activation: 'gelu' as 'relu' })).toThrow(
      'MLP: activation must be one of relu, tanh, sigmoid, linear, got gelu',
    );
    expect(() => new Neuron(2, { biasInit: 'normal' as 'zero' })).toThrow("Neuron: biasInit must be 'zero' or 'uniform', got normal");
    const mlp = new MLP(2, [4, 1]);
    expect(() => mlp.forward([1, 2, 3])).toThrow('MLP.forward: expected 2 inputs, got 3');
    expect(() => mlp.forward(new Value(1) as unknown as number[])).toThrow(
      'MLP.forward: expected an array of 2 inputs (Values or numbers), got a single Value',
    );
    expect(() => new Neuron(2).forward([1, NaN])).toThrow('Value.mul: operand must be finite, got NaN');
  });
});
