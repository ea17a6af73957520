// The scalar engine: every op's gradient against finite differences, the lecture's numbers,
// gradient accumulation, a million-node chain, and the errors bad input must raise.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Value, topoSort, pyFloat } from '../src/micrograd/index.js';

/** Central difference of f at xs[i], in float64. */
function numericGrad(f: (xs: number[]) => number, xs: number[], i: number, h = 1e-6): number {
  const up = xs.slice();
  const down = xs.slice();
  up[i]! += h;
  down[i]! -= h;
  return (f(up) - f(down)) / (2 * h);
}

/** Build the expression on Values, backprop, and compare each input's grad with finite differences. */
function checkGrad(build: (vs: Value[]) => Value, xs: number[], tol = 1e-7): void {
  const vs = xs.map((x) => new Value(x));
  const out = build(vs);
  out.backward();
  const f = (ys: number[]) => build(ys.map((y) => new Value(y))).data;
  xs.forEach((_, i) => {
    const num = numericGrad(f, xs, i);
    const err = Math.abs(vs[i]!.grad - num) / Math.max(1, Math.abs(num));
    expect(err, `input ${i}: analytic ${vs[i]!.grad} vs numeric ${num}`).toBeLessThan(tol);
  });
}

describe('Value ops: forward values', () => {
  it('computes each op like the corresponding Math expression', () => {
    const a = new Value(1.5);
    const b = new Value(-0.75);
    expect(a.add(b).data).toBe(0.75);
    expect(a.sub(b).data).toBe(2.25);
    expect(a.mul(b).data).toBe(-1.125);
    expect(a.div(b).data).toBe(-2);
    expect(a.pow(3).data).toBe(3.375);
    expect(a.neg().data).toBe(-1.5);
    expect(a.exp().data).toBe(Math.exp(1.5));
    expect(a.log().data).toBe(Math.log(1.5));
    expect(a.tanh().data).toBeCloseTo(Math.tanh(1.5), 15);
    expect(b.tanh().data).toBeCloseTo(Math.tanh(-0.75), 15);
    expect(a.relu().data).toBe(1.5);
    expect(b.relu().data).toBe(0);
    expect(a.sigmoid().data).toBeCloseTo(1 / (1 + Math.exp(-1.5)), 15);
    expect(b.sigmoid().data).toBeCloseTo(1 / (1 + Math.exp(0.75)), 15);
    expect(a.rsub(4).data).toBe(2.5);
    expect(a.rdiv(3).data).toBe(2);
  });

  it('accepts numbers as operands', () => {
    const a = new Value(3);
    expect(a.add(2).data).toBe(5);
    expect(a.sub(2).data).toBe(1);
    expect(a.mul(2).data).toBe(6);
    expect(a.div(2).data).toBe(1.5);
  });

  it('tanh saturates without overflow and stays accurate near zero', () => {
    expect(new Value(800).tanh().data).toBe(1);
    expect(new Value(-800).tanh().data).toBe(-1);
    expect(new Value(1e-10).tanh().data).toBeCloseTo(1e-10, 20);
    expect(Math.abs(new Value(1e-10).tanh().data - 1e-10) / 1e-10).toBeLessThan(1e-12);
  });

  it('sigmoid is finite at both extremes', () => {
    expect(new Value(-800).sigmoid().data).toBe(0);
    expect(new Value(800).sigmoid().data).toBe(1);
  });

  it('records the op names the graph drawing shows', () => {
    const a = new Value(2);
    expect(a.op).toBe('');
    expect(a.add(1).op).toBe('+');
    expect(a.mul(1).op).toBe('*');
    expect(a.pow(2).op).toBe('**2');
    expect(a.pow(-1).op).toBe('**-1');
    expect(a.pow(0.5).op).toBe('**0.5');
    expect(a.relu().op).toBe('ReLU');
    expect(a.tanh().op).toBe('tanh');
    expect(a.add(a).children).toEqual([a]);
  });
});

describe('Value ops: gradients match finite differences', () => {
  const cases: [string, (v: Value[]) => Value, number[]][] = [
    ['add', ([a, b]) => a!.add(b!), [1.3, -0.4]],
    ['sub', ([a, b]) => a!.sub(b!), [1.3, -0.4]],
    ['mul', ([a, b]) => a!.mul(b!), [1.3, -0.4]],
    ['div', ([a, b]) => a!.div(b!), [1.3, -0.4]],
    ['pow 3', ([a]) => a!.pow(3), [-1.7]],
    ['pow -2', ([a]) => a!.pow(-2), [0.8]],
    ['pow 0.5', ([a]) => a!.pow(0.5), [2.3]],
    ['neg', ([a]) => a!.neg(), [0.9]],
    ['exp', ([a]) => a!.exp(), [0.9]],
    ['log', ([a]) => a!.log(), [0.9]],
    ['tanh', ([a]) => a!.tanh(), [0.6]],
    ['tanh negative', ([a]) => a!.tanh(), [-2.1]],
    ['relu positive', ([a]) => a!.relu(), [0.6]],
    ['relu negative', ([a]) => a!.relu(), [-0.6]],
    ['sigmoid', ([a]) => a!.sigmoid(), [-1.2]],
    ['rsub', ([a]) => a!.rsub(2), [0.7]],
    ['rdiv', ([a]) => a!.rdiv(2), [0.7]],
    ['number operands', ([a]) => a!.add(2).mul(3).sub(1).div(4), [0.7]],
    ['same value on both sides', ([a]) => a!.mul(a!).add(a!), [1.1]],
  ];
  for (const [name, build, xs] of cases) {
    it(name, () => checkGrad(build, xs));
  }

  it('random expression trees (fast-check)', () => {
    type Node = { op: number; l: number; r: number; k: number };
    const unary = (x: Value, op: number, k: number): Value => {
      switch (op % 6) {
        case 0:
          return x.tanh();
        case 1:
          return x.sigmoid();
        case 2:
          return x.mul(x).add(1).log(); // log of a positive number
        case 3:
          return x.mul(0.3).exp();
        case 4:
          return x.mul(x).add(0.5).pow(k); // positive base, any exponent
        default:
          return x.neg();
      }
    };
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 }),
        fc.array(
          fc.record({ op: fc.nat(20), l: fc.nat(50), r: fc.nat(50), k: fc.constantFrom(-1, 0.5, 2, 3) }),
          { minLength: 1, maxLength: 8 },
        ),
        (xs, prog: Node[]) => {
          const build = (vs: Value[]) => {
            const pool = vs.slice();
            for (const n of prog) {
              const a = pool[n.l % pool.length]!;
              const b = pool[n.r % pool.length]!;
              let out: Value;
              if (n.op < 4) out = [a.add(b), a.sub(b), a.mul(b), a.add(b.mul(b).add(1).pow(-1))][n.op]!;
              else if (n.op < 6) out = n.op === 4 ? a.div(b.mul(b).add(1)) : a.mul(b).tanh();
              else out = unary(a, n.op, n.k);
              pool.push(out);
            }
            return pool[pool.length - 1]!;
          };
          // Inputs near a relu kink are not differentiable; this generator has no relu.
          checkGrad(build, xs, 1e-6);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('lecture 1 numbers', () => {
  it('L = -8 for a=2, b=-3, c=10, f=-2, with the derived gradients', () => {
    const a = new Value(2.0, 'a');
    const b = new Value(-3.0, 'b');
    const c = new Value(10.0, 'c');
    const e = a.mul(b).named('e');
    const d = e.add(c).named('d');
    const f = new Value(-2.0, 'f');
    const L = d.mul(f).named('L');
    expect(L.data).toBe(-8.0);
    L.backward();
    expect([L.grad, d.grad, f.grad, e.grad, c.grad, a.grad, b.grad]).toEqual([1, -2, 4, -2, -2, 6, -4]);

    // One step along the gradient, then re-forward: the notebook printed -7.286496.
    for (const v of [a, b, c, f]) v.data += 0.01 * v.grad;
    const L2 = a.mul(b).add(c).mul(f);
    expect(L2.data).toBe(-7.286496);
  });

  it('the neuron with b = 6.8813735870195432 gives o = 0.7071067811865476', () => {
    const x1 = new Value(2.0, 'x1');
    const x2 = new Value(0.0, 'x2');
    const w1 = new Value(-3.0, 'w1');
    const w2 = new Value(1.0, 'w2');
    const b = new Value(6.8813735870195432, 'b');
    const x1w1 = x1.mul(w1);
    const x2w2 = x2.mul(w2);
    const x1w1x2w2 = x1w1.add(x2w2);
    const n = x1w1x2w2.add(b);
    const o = n.tanh();
    expect(n.data).toBe(0.8813735870195432);
    expect(o.data).toBe(0.7071067811865476);
    expect(1 - o.data ** 2).toBe(0.4999999999999999);

    // The manual walk-through: the lecture sets do/dn = 0.5 by hand, then calls each _backward.
    o.grad = 1.0;
    n.grad = 0.5;
    for (const v of [n, x1w1x2w2, x1w1, x2w2]) v.backwardLocal();
    expect([x1.grad, w1.grad, x2.grad, w2.grad]).toEqual([-1.5, 1.0, 0.5, 0.0]);
    expect(b.grad).toBe(0.5);
  });

  it('backward() on the neuron agrees with the hand-derived gradients to rounding', () => {
    const [x1, x2, w1, w2] = [2.0, 0.0, -3.0, 1.0].map((x) => new Value(x));
    const b = new Value(6.8813735870195432);
    const o = x1!.mul(w1!).add(x2!.mul(w2!)).add(b).tanh();
    o.backward();
    const got = [x1!.grad, w1!.grad, x2!.grad, w2!.grad];
    const want = [-1.5, 1.0, 0.5, 0.0];
    got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-15));
  });

  it('matches the PyTorch cross-check (b rounded through float32)', () => {
    const b = new Value(Math.fround(6.8813735870195432));
    const [x1, x2, w1, w2] = [2.0, 0.0, -3.0, 1.0].map((x) => new Value(x));
    const o = x1!.mul(w1!).add(x2!.mul(w2!)).add(b).tanh();
    o.backward();
    const close = (x: number, y: number) => expect(Math.abs(x - y) / Math.abs(y)).toBeLessThan(1e-15);
    close(o.data, 0.7071066904050358);
    close(x2!.grad, 0.5000001283844369);
    expect(w2!.grad).toBe(0.0);
    close(x1!.grad, -1.5000003851533106);
    close(w1!.grad, 1.0000002567688737);
  });

  it('tanh built from exp gives the same gradients as tanh', () => {
    const make = (decomposed: boolean) => {
      const x1 = new Value(2.0);
      const w1 = new Value(-3.0);
      const b = new Value(6.8813735870195432);
      const n = x1.mul(w1).add(b);
      const e = n.mul(2).exp();
      const o = decomposed ? e.sub(1).div(e.add(1)) : n.tanh();
      o.backward();
      return [o.data, x1.grad, w1.grad, b.grad];
    };
    const t = make(false);
    make(true).forEach((v, i) => expect(Math.abs(v - t[i]!)).toBeLessThan(1e-14));
  });

  it('a value used twice receives both contributions', () => {
    const a = new Value(3.0);
    const b = a.add(a);
    b.backward();
    expect(a.grad).toBe(2);

    const p = new Value(-2.0);
    const q = new Value(3.0);
    const f = p.mul(q).mul(p.add(q));
    f.backward();
    expect(f.data).toBe(-6);
    expect(p.grad).toBe(-3);
    expect(q.grad).toBe(-8);
  });

  it("the micrograd README expression: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773", () => {
    const a = new Value(-4.0);
    const b = new Value(2.0);
    let c = a.add(b);
    let d = a.mul(b).add(b.pow(3));
    c = c.add(c.add(1));
    c = c.add(c.add(1).add(a.neg())); // c += 1 + c + (-a)
    d = d.add(d.mul(2).add(b.add(a).relu()));
    d = d.add(d.mul(3).add(b.sub(a).relu()));
    const e = c.sub(d);
    const f = e.pow(2);
    let g = f.div(2.0);
    g = g.add(f.rdiv(10.0));
    g.backward();
    expect(g.data.toFixed(4)).toBe('24.7041');
    expect(a.grad.toFixed(4)).toBe('138.8338');
    expect(b.grad.toFixed(4)).toBe('645.5773');
  });

  it("micrograd's test_sanity_check: y = -20, dy/dx = 46 (PyTorch's values)", () => {
    const x = new Value(-4.0);
    const z = x.mul(2).add(2).add(x);
    const q = z.relu().add(z.mul(x));
    const h = z.mul(z).relu();
    const y = h.add(q).add(q.mul(x));
    y.backward();
    expect(y.data).toBe(-20);
    expect(x.grad).toBe(46);
  });
});

describe('backward semantics', () => {
  it('leaves accumulate across backward calls; intermediate grads are per call', () => {
    const x = new Value(3);
    const h = x.mul(x);
    const y = h.mul(2);
    y.backward();
    expect(x.grad).toBe(12);
    expect(h.grad).toBe(2);
    y.backward();
    expect(x.grad).toBe(24); // PyTorch-style accumulation on leaves
    expect(h.grad).toBe(2); // not 4: the intermediate is recomputed, not re-sent
  });

  it('x**0 has derivative 0 everywhere, including at 0', () => {
    const x = new Value(0);
    const y = x.pow(0).mul(3);
    y.backward();
    expect(y.data).toBe(3);
    expect(x.grad).toBe(0);
  });

  it('backward(gradient) scales every gradient', () => {
    const x = new Value(1.5);
    const y = x.pow(2);
    y.backward(3);
    expect(x.grad).toBe(9);
  });

  it('topo() lists operands before their results, each value once', () => {
    const a = new Value(1);
    const b = new Value(2);
    const c = a.mul(b);
    const d = c.add(a).add(c);
    const order = d.topo();
    expect(new Set(order).size).toBe(order.length);
    expect(order.length).toBe(5);
    for (const v of order) for (const ch of v.children) expect(order.indexOf(ch)).toBeLessThan(order.indexOf(v));
    expect(order.at(-1)).toBe(d);
  });

  it('a chain of a million nodes sorts and backpropagates without recursion', () => {
    const n = 1_000_000;
    const x = new Value(0.5);
    const step = new Value(1e-6);
    let v = x;
    for (let i = 0; i < n; i++) v = v.add(step);
    expect(topoSort(v).length).toBe(n + 2);
    v.backward();
    expect(x.grad).toBe(1);
    expect(step.grad).toBe(n); // one contribution per use
    expect(v.data).toBeCloseTo(1.5, 9);
  });

  it('a million-deep chain of multiplications gives the product rule result', () => {
    const n = 1_000_000;
    const k = 1.0000001;
    const x = new Value(1);
    let v = x;
    for (let i = 0; i < n; i++) v = v.mul(k);
    v.backward();
    expect(Math.abs(x.grad - k ** n) / k ** n).toBeLessThan(1e-9);
  });
});

describe('errors', () => {
  it('rejects non-finite or non-number data', () => {
    expect(() => new Value(NaN)).toThrow('Value: data must be finite, got NaN');
    expect(() => new Value(Infinity)).toThrow('Value: data must be finite, got Infinity');
    expect(() => new Value('3' as unknown as number)).toThrow('Value: data must be a number, got the string "3"');
    expect(() => new Value(1, 5 as unknown as string)).toThrow('Value.label: expected a string, got 5');
  });

  it('rejects bad operands, naming the op', () => {
    const a = new Value(1);
    expect(() => a.add(NaN)).toThrow('Value.add: operand must be finite, got NaN');
    expect(() => a.mul(-Infinity)).toThrow('Value.mul: operand must be finite, got -Infinity');
    expect(() => a.add([a, a] as unknown as Value)).toThrow(
      'Value.add: expected a Value or a finite number, got an array of length 2 (to combine many values use Value.sum)',
    );
    expect(() => a.sub('x' as unknown as number)).toThrow('Value.sub: expected a Value or a finite number, got the string "x"');
    expect(() => a.div(undefined as unknown as number)).toThrow('Value.div: expected a Value or a finite number, got undefined');
  });

  it('pow needs a finite number exponent', () => {
    const a = new Value(2);
    expect(() => a.pow(new Value(2) as unknown as number)).toThrow(
      'Value.pow: exponent must be a number, got an object (Value) (a Value exponent is not supported',
    );
    expect(() => a.pow('2' as unknown as number)).toThrow('Value.pow: exponent must be a number, got the string "2"');
    expect(() => a.pow(NaN)).toThrow('Value.pow: exponent must be finite, got NaN');
    expect(() => new Value(-8).pow(1 / 3)).toThrow('Value.pow: a negative base (-8) needs an integer exponent');
    expect(() => new Value(0).pow(-1)).toThrow('Value.pow: result of 0 ** -1 is Infinity, not a finite number');
  });

  it('refuses results that leave the finite numbers', () => {
    expect(() => new Value(1).div(0)).toThrow('Value.div: division by zero (1 / 0)');
    expect(() => new Value(0).log()).toThrow('Value.log: input must be positive, got 0');
    expect(() => new Value(-1).log()).toThrow('Value.log: input must be positive, got -1');
    expect(() => new Value(1000).exp()).toThrow('Value.exp: result of exp(1000) is Infinity, not a finite number');
    expect(() => new Value(1e200).mul(1e200)).toThrow('Value.mul: result of 1e+200 * 1e+200 is Infinity');
    expect(() => new Value(1.7e308).add(1.7e308)).toThrow('Value.add: result of 1.7e+308 + 1.7e+308 is Infinity');
  });

  it('refuses a non-finite derivative during backward instead of spreading NaN', () => {
    const x = new Value(0, 'x');
    const y = x.pow(0.5);
    expect(y.data).toBe(0);
    expect(() => y.backward()).toThrow("Value.backward: the gradient through '**0.5' (data 0) is Infinity");
  });

  it('backward and sum reject misuse with clear messages', () => {
    const a = new Value(1);
    expect(() => a.backward([1, 2] as unknown as number)).toThrow(
      'Value.backward: gradient must be a number (the seed d(root)/d(root)), got an array of length 2',
    );
    expect(() => a.backward(NaN)).toThrow('Value.backward: gradient must be finite, got NaN');
    expect(() => Value.sum(5 as unknown as Value[])).toThrow('Value.sum: expected an array of Values or numbers, got 5');
    expect(() => Value.sum([a, 'b' as unknown as Value])).toThrow('Value.sum: element 1 is the string "b"');
    expect(() => topoSort([a] as unknown as Value)).toThrow('topoSort: expected a Value, got an array of length 1');
  });
});

describe('printing', () => {
  it('keeps labels per value and lets them change', () => {
    const a = new Value(1, 'a');
    const b = new Value(2);
    expect([a.label, b.label]).toEqual(['a', '']);
    b.label = 'b';
    a.label = '';
    expect([a.label, b.label, b.named('c').label]).toEqual(['', 'b', 'c']);
  });

  it('prints like Python', () => {
    expect(String(new Value(-8))).toBe('Value(data=-8.0, grad=0.0)');
    expect(String(new Value(2, 'a'))).toBe("Value(data=2.0, grad=0.0, label='a')");
    expect(pyFloat(0.0001)).toBe('0.0001');
    expect(pyFloat(0.00001)).toBe('1e-05');
    expect(pyFloat(1e16)).toBe('1e+16');
    expect(pyFloat(123456789012345.6)).toBe('123456789012345.6');
    expect(pyFloat(1.5e-7)).toBe('1.5e-07');
    expect(pyFloat(-0)).toBe('-0.0');
    expect(pyFloat(0.10899999999999987)).toBe('0.10899999999999987');
  });

  it('Value.sum adds left to right from start', () => {
    const vs = [1, 2, 3].map((x) => new Value(x));
    const s = Value.sum(vs);
    expect(s.data).toBe(6);
    s.backward();
    expect(vs.map((v) => v.grad)).toEqual([1, 1, 1]);
    expect(Value.sum([], 4).data).toBe(4);
  });
});
