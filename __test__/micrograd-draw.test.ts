// Graph drawing: the DOT text (records, op nodes, edges), rendering through Graphviz-in-WASM
// to SVG and PNG, and the decision-boundary chart spec.
import { describe, expect, it } from 'vitest';
import { MLP, Value, decisionBoundarySpec, drawDot, renderGraph } from '../src/micrograd/index.js';

function neuron(): Value {
  const x1 = new Value(2.0, 'x1');
  const w1 = new Value(-3.0, 'w1');
  const b = new Value(6.8813735870195432, 'b');
  const n = x1.mul(w1).named('x1*w1').add(b).named('n');
  const o = n.tanh().named('o');
  o.backward();
  return o;
}

describe('drawDot', () => {
  it('emits one record per value with label, data and grad, and one node per op', () => {
    const dot = drawDot(neuron());
    expect(dot.startsWith('digraph G {')).toBe(true);
    expect(dot).toContain('rankdir=LR;');
    const records = dot.match(/shape=record/g) ?? [];
    expect(records).toHaveLength(6); // x1, w1, x1*w1, b, n, o
    expect(dot).toContain('label="{ x1 | data 2.0000 | grad -1.5000 }"');
    expect(dot).toContain('label="{ o | data 0.7071 | grad 1.0000 }"');
    expect(dot).toContain('label="{ b | data 6.8814 | grad 0.5000 }"');
    const opLabels = [...dot.matchAll(/_op \[label="([^"]*)"\]/g)].map((m) => m[1]);
    expect(opLabels.sort()).toEqual(['*', '+', 'tanh']);
    // Every op node has one edge out (to its result) and one edge in per operand.
    const edges = [...dot.matchAll(/^ {2}(\w+) -> (\w+);$/gm)].map((m) => [m[1]!, m[2]!]);
    expect(edges).toHaveLength(3 + 2 + 2 + 1);
    for (const [from, to] of edges) expect(from.endsWith('_op') !== to.endsWith('_op')).toBe(true);
  });

  it('omits an empty label, honours rankdir and digits, escapes record syntax', () => {
    const a = new Value(1.23456);
    const b = a.mul(2).named('{x|<y>}');
    const dot = drawDot(b, { rankdir: 'TB', digits: 2 });
    expect(dot).toContain('rankdir=TB;');
    expect(dot).toContain('label="{ data 1.23 | grad 0.00 }"');
    expect(dot).toContain('label="{ \\{x\\|\\<y\\>\\} | data 2.47 | grad 0.00 }"');
  });

  it('draws a value used twice with two edges into its op', () => {
    const a = new Value(3, 'a');
    const dot = drawDot(a.add(a));
    const into = [...dot.matchAll(/(\w+) -> (\w+_op);/g)];
    expect(into).toHaveLength(2);
    expect(into[0]![1]).toBe(into[1]![1]);
  });

  it('refuses huge graphs and bad options clearly', () => {
    let v = new Value(0);
    for (let i = 0; i < 3000; i++) v = v.add(1);
    expect(() => drawDot(v)).toThrow('drawDot: the graph has 6001 values, more than maxNodes=2000');
    expect(() => drawDot(new Value(1), { rankdir: 'RL' as 'LR' })).toThrow("drawDot: rankdir must be 'LR' or 'TB', got RL");
    expect(() => drawDot([new Value(1)] as unknown as Value)).toThrow('drawDot: expected a Value, got an array');
  });
});

describe('renderGraph', () => {
  it('lays the graph out to SVG with WebAssembly Graphviz', async () => {
    const svg = await renderGraph(drawDot(neuron()), 'svg');
    expect(svg).toContain('<svg');
    expect(svg).toContain('data 0.7071');
    expect(svg).toContain('tanh');
    expect((svg.match(/class="node"/g) ?? []).length).toBe(9); // 6 values + 3 ops
    expect((svg.match(/class="edge"/g) ?? []).length).toBe(8);
  });

  it('rasterises to PNG', async () => {
    const png = await renderGraph(drawDot(neuron()), 'png');
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(1000);
  });

  it('reports DOT syntax errors as errors', async () => {
    await expect(renderGraph('digraph { a -> ', 'svg')).rejects.toThrow('renderGraph: Graphviz could not lay out the graph');
    await expect(renderGraph('digraph {}', 'pdf' as 'svg')).rejects.toThrow("renderGraph: format must be 'svg' or 'png', got pdf");
  });
});

describe('decisionBoundarySpec', () => {
  it('colours each grid cell by the sign of the score and overlays the points', () => {
    const model = new MLP(2, [4, 1], { seed: 5 });
    const X = [
      [0, 0],
      [1, 1],
    ];
    const spec = decisionBoundarySpec(model, X, [1, -1], { step: 0.5, margin: 1 }) as unknown as {
      layer: { data: { values: Record<string, number | string>[] } }[];
    };
    const cells = spec.layer[0]!.data.values as { x: number; x2: number; y: number; y2: number; cls: string }[];
    expect(cells).toHaveLength(6 * 6); // [-1, 2] x [-1, 2] in steps of 0.5
    // The score by hand: ReLU hidden layer, linear output.
    const score = (px: number, py: number) => {
      const h = model.layers[0]!.neurons.map((n) => Math.max(0, n.b.data + n.w[0]!.data * px + n.w[1]!.data * py));
      const out = model.layers[1]!.neurons[0]!;
      return out.b.data + out.w.reduce((acc, w, i) => acc + w.data * h[i]!, 0);
    };
    for (const c of cells) {
      expect(c.x2 - c.x).toBe(0.5);
      expect(c.cls).toBe(score((c.x + c.x2) / 2, (c.y + c.y2) / 2) > 0 ? '+1' : '-1');
    }
    const points = spec.layer[1]!.data.values;
    expect(points).toEqual([
      { px: 0, py: 0, cls: '+1' },
      { px: 1, py: 1, cls: '-1' },
    ]);
    expect(() => decisionBoundarySpec(new MLP(3, [1]), X, [1, -1])).toThrow(
      'decisionBoundarySpec: the model must map 2 inputs to 1 score, got 3 -> 1',
    );
  });
});
