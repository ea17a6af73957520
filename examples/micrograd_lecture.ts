// Lecture 1 ("The spelled-out intro to neural networks and backpropagation: building micrograd"),
// step by step: derivatives by finite differences, the expression graph L, one gradient step, the
// tanh neuron (drawn to out/micrograd/neuron.svg/.png), the accumulation bug, and a tiny MLP.
//   npx tsx examples/micrograd_lecture.ts
import { micrograd } from 'ferrograd';

const { MLP, Value, pyFloat, writeGraph } = micrograd;

async function main(): Promise<void> {
  // A scalar function and its slope by finite differences.
  const f = (x: number) => 3 * x ** 2 - 4 * x + 5;
  console.log(`f(3.0) = ${pyFloat(f(3.0))}`);
  const h = 0.000001;
  const x = 2 / 3;
  console.log(`slope at 2/3 = ${pyFloat((f(x + h) - f(x)) / h)}  (about 0: the minimum)`);

  // d = a*b + c: bump c by h.
  {
    const h2 = 0.0001;
    const [a, b, c] = [2.0, -3.0, 10.0];
    const d1 = a * b + c;
    const d2 = a * b + (c + h2);
    console.log(`d1 ${pyFloat(d1)}  d2 ${pyFloat(d2)}  slope ${pyFloat((d2 - d1) / h2)}`);
  }

  // The expression graph L = (a*b + c) * f, its gradients, and one step along them.
  const a = new Value(2.0, 'a');
  const b = new Value(-3.0, 'b');
  const c = new Value(10.0, 'c');
  const e = a.mul(b).named('e');
  const d = e.add(c).named('d');
  const ff = new Value(-2.0, 'f');
  const L = d.mul(ff).named('L');
  console.log(`L = ${L}`);
  L.backward();
  console.log('grads:', [L, d, ff, e, c, a, b].map((v) => `${v.label} ${pyFloat(v.grad)}`).join(', '));
  for (const v of [a, b, c, ff]) v.data += 0.01 * v.grad;
  console.log(`after one step of 0.01 * grad: L = ${pyFloat(a.mul(b).add(c).mul(ff).data)}`);

  // The neuron o = tanh(x1*w1 + x2*w2 + b).
  const x1 = new Value(2.0, 'x1');
  const x2 = new Value(0.0, 'x2');
  const w1 = new Value(-3.0, 'w1');
  const w2 = new Value(1.0, 'w2');
  const bias = new Value(6.8813735870195432, 'b');
  const x1w1 = x1.mul(w1).named('x1*w1');
  const x2w2 = x2.mul(w2).named('x2*w2');
  const x1w1x2w2 = x1w1.add(x2w2).named('x1*w1 + x2*w2');
  const n = x1w1x2w2.add(bias).named('n');
  const o = n.tanh().named('o');
  console.log(`o = ${pyFloat(o.data)};  1 - o**2 = ${pyFloat(1 - o.data ** 2)}`);

  // By hand first, as in the lecture: do/dn set to 0.5, then each node's local rule.
  o.grad = 1.0;
  n.grad = 0.5;
  for (const v of [n, x1w1x2w2, x1w1, x2w2]) v.backwardLocal();
  console.log('by hand:', [x1, w1, x2, w2].map((v) => `${v.label} ${pyFloat(v.grad)}`).join(', '));

  // Then automatically.
  for (const v of o.topo()) v.grad = 0;
  o.backward();
  console.log('backward():', [x1, w1, x2, w2].map((v) => `${v.label} ${pyFloat(v.grad)}`).join(', '));
  console.log('topological order:', o.topo().map((v) => pyFloat(v.data)).join(', '));
  const drawn = await writeGraph(o, 'out/micrograd/neuron');
  console.log(`neuron graph: ${drawn.svg}, ${drawn.png}`);

  // A value used twice must receive both gradient contributions.
  const p = new Value(3.0, 'a');
  const twice = p.add(p);
  twice.backward();
  console.log(`b = a + a: da = ${pyFloat(p.grad)}`);

  // The small MLP of the second half, with the lecture's tanh neurons, trained for 20 steps.
  const xs = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
  ];
  const ys = [1.0, -1.0, -1.0, 1.0];
  const net = new MLP(3, [4, 4, 1], { activation: 'tanh', outputActivation: 'tanh', biasInit: 'uniform', seed: 0 });
  console.log(`MLP(3, [4, 4, 1]): ${net.parameters().length} parameters`);
  let ypred: micrograd.Value[] = [];
  for (let k = 0; k < 20; k++) {
    ypred = xs.map((row) => net.forwardScalar(row));
    const loss = Value.sum(ypred.map((yout, i) => yout.sub(ys[i]!).pow(2)));
    net.zeroGrad();
    loss.backward();
    for (const q of net.parameters()) q.data += -0.1 * q.grad;
    console.log(k, pyFloat(loss.data));
  }
  console.log(`ypred [${ypred.map((v) => pyFloat(v.data)).join(', ')}]`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
