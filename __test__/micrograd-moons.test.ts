// The moons demo: sklearn's make_moons recipe, and training to 100% accuracy along the
// notebook's own loss trajectory (reference/lectures.md §3).
import { describe, expect, it } from 'vitest';
import { MLP, linspace, makeMoons, moonsLoss, trainMoons } from '../src/micrograd/index.js';
import { NumpyRandomState } from '../src/random/numpy.js';

describe('makeMoons', () => {
  it('without noise, puts the points on the two half circles, shuffled', () => {
    const { X, y } = makeMoons(101, null, new NumpyRandomState(0));
    expect(X).toHaveLength(101);
    expect(y.filter((c) => c === 0)).toHaveLength(50); // outer moon gets floor(n/2)
    expect(y.filter((c) => c === 1)).toHaveLength(51);
    X.forEach(([a, b], i) => {
      if (y[i] === 0) {
        expect(Math.abs(a * a + b * b - 1)).toBeLessThan(1e-12);
        expect(b).toBeGreaterThanOrEqual(0);
      } else {
        expect(Math.abs((a - 1) ** 2 + (b - 0.5) ** 2 - 1)).toBeLessThan(1e-12);
        expect(b).toBeLessThanOrEqual(0.5 + 1e-12);
      }
    });
    // Shuffled: the labels are not in generation order.
    expect(y.slice(0, 50).every((c) => c === 0)).toBe(false);
  });

  it('draws the shuffle and then the noise from the given RandomState, in that order', () => {
    const clean = makeMoons(20, null, new NumpyRandomState(3));
    const noisy = makeMoons(20, 0.1, new NumpyRandomState(3));
    expect(noisy.y).toEqual(clean.y);
    const rs = new NumpyRandomState(3);
    rs.permutation(20); // the shuffle consumes the same draws as a permutation of 20
    const z = rs.normal(0, 0.1, 40);
    noisy.X.forEach((row, i) => {
      expect(row[0]).toBe(clean.X[i]![0] + z[2 * i]!);
      expect(row[1]).toBe(clean.X[i]![1] + z[2 * i + 1]!);
    });
  });

  it("reproduces sklearn's make_moons(100, noise=0.1) after np.random.seed(1337)", () => {
    // First rows and labels printed by scikit-learn 1.9 / numpy 2.4 for the demo's call.
    const { X, y } = makeMoons(100, 0.1, new NumpyRandomState(1337));
    const want = [
      [1.1221146075409685, 0.08147717341718697],
      [-0.8188294130836691, 0.058790063907949996],
      [1.613709660987544, -0.12464590012238597],
    ];
    want.forEach((row, i) => {
      // Math.cos/sin may differ from libm by one ulp on a few angles.
      expect(Math.abs(X[i]![0] - row[0]!)).toBeLessThan(1e-15);
      expect(Math.abs(X[i]![1] - row[1]!)).toBeLessThan(1e-15);
    });
    expect(y.slice(0, 10).map((c) => c * 2 - 1)).toEqual([-1, -1, 1, -1, 1, 1, 1, 1, 1, -1]);
  });

  it('linspace follows numpy: arange * step + start, last point exactly stop', () => {
    const t = linspace(0, Math.PI, 50);
    expect(t[0]).toBe(0);
    expect(t[49]).toBe(Math.PI);
    expect(t[17]).toBe(17 * (Math.PI / 49));
    expect(linspace(2, 3, 1)).toEqual([2]);
    expect(linspace(0, 1, 0)).toEqual([]);
  });

  it('rejects bad arguments', () => {
    const rs = new NumpyRandomState(1);
    expect(() => makeMoons(-1, 0.1, rs)).toThrow('makeMoons: nSamples must be a non-negative integer, got -1');
    expect(() => makeMoons(10, NaN, rs)).toThrow('makeMoons: noise must be a finite number >= 0 or null, got NaN');
    expect(() => makeMoons(10, -0.1, rs)).toThrow('makeMoons: noise must be a finite number >= 0 or null, got -0.1');
    expect(() => makeMoons(10, 0.1, {} as NumpyRandomState)).toThrow('makeMoons: rs must be a NumpyRandomState');
  });
});

describe('the moons demo', () => {
  // The notebook's printed log (reference/lectures.md §3): step -> [loss, accuracy].
  const lecture: Record<number, [number, number]> = {
    0: [0.8958441028683222, 0.5],
    1: [1.7235905336972022, 0.81],
    2: [0.7429006313851131, 0.77],
    3: [0.7705641260584198, 0.82],
    4: [0.3692793385976538, 0.84],
    5: [0.313545481918522, 0.86],
    10: [0.24507023853658053, 0.91],
    20: [0.18977522856087634, 0.91],
    30: [0.11731297569011848, 0.95],
    40: [0.06016009895234464, 1.0],
    50: [0.09875114765619622, 0.96],
    60: [0.0325971115781023, 0.99],
    70: [0.014229870065926908, 1.0],
    80: [0.012318500800515763, 1.0],
    90: [0.010984458327280174, 1.0],
    99: [0.010978370135492717, 1.0],
  };

  const run = trainMoons();
  const h = run.history;

  it('uses a 337-parameter MLP(2, [16, 16, 1]) on 100 points labelled -1/+1', () => {
    expect(run.model.parameters()).toHaveLength(337);
    expect(run.X).toHaveLength(100);
    expect(new Set(run.y)).toEqual(new Set([-1, 1]));
    expect(h).toHaveLength(100);
  });

  it('reaches 100% accuracy', () => {
    expect(h[99]!.accuracy).toBe(1);
    const { accuracy } = moonsLoss(run.model, run.X, run.y);
    expect(accuracy).toBe(1);
  });

  it("prints the notebook's first and last losses exactly", () => {
    expect(h[0]!.loss).toBe(0.8958441028683222);
    expect(h[0]!.accuracy).toBe(0.5);
    expect(h[99]!.loss).toBe(0.010978370135492717);
  });

  it('follows the whole printed trajectory (accuracy exactly, loss to the last digits)', () => {
    // Python's gradient sums follow set-iteration order, which varies from run to run; the
    // losses between the ends agree to ~1e-14 relative, the accuracies exactly.
    for (const [k, [loss, acc]] of Object.entries(lecture)) {
      const s = h[Number(k)]!;
      expect(s.accuracy, `accuracy at step ${k}`).toBe(acc);
      expect(Math.abs(s.loss - loss) / loss, `loss at step ${k}: ${s.loss} vs ${loss}`).toBeLessThan(1e-13);
    }
  });

  it('uses the notebook learning-rate schedule 1.0 - 0.9 k / 100', () => {
    expect(h[0]!.learningRate).toBe(1);
    expect(h[99]!.learningRate).toBe(1.0 - (0.9 * 99) / 100);
  });

  it('moonsLoss is the hinge mean plus 1e-4 L2, computed independently', () => {
    const model = new MLP(2, [4, 1], { seed: 2 });
    const X = [
      [0.1, 0.2],
      [-1, 0.5],
      [2, -0.3],
    ];
    const y = [1, -1, 1];
    const { loss, accuracy, scores } = moonsLoss(model, X, y);
    const hinge = scores.map((s, i) => Math.max(0, 1 - y[i]! * s.data));
    const l2 = model.parameters().reduce((a, p) => a + p.data * p.data, 0);
    const want = hinge.reduce((a, b) => a + b, 0) / 3 + 1e-4 * l2;
    expect(Math.abs(loss.data - want)).toBeLessThan(1e-15);
    expect(accuracy).toBe(scores.filter((s, i) => s.data > 0 === y[i]! > 0).length / 3);
  });

  it('supports minibatches and rejects bad options', () => {
    const r = trainMoons({ steps: 3, batchSize: 10 });
    expect(r.history).toHaveLength(3);
    expect(() => trainMoons({ steps: 1, batchSize: 0 })).toThrow('trainMoons: batchSize must be a positive integer, got 0');
    expect(() => trainMoons({ steps: 1, batchSize: 101 })).toThrow('trainMoons: batchSize (101) must be at most nSamples (100)');
    expect(() => trainMoons({ steps: -1 })).toThrow('trainMoons: steps must be an integer >= 0, got -1');
    expect(() => moonsLoss(new MLP(2, [1]), [[1, 2]], [0])).toThrow('moonsLoss: labels must be -1 or +1, got y[0] = 0');
    expect(() => moonsLoss(new MLP(2, [1]), [[1, 2]], [1, -1])).toThrow('moonsLoss: X has 1 rows but y has 2 labels');
  });
});
