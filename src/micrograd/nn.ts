// micrograd's neural-net library: Module, Neuron, Layer, MLP over scalar Values.
//
// Defaults follow the micrograd repository (nn.py), which the moons demo uses: weights drawn
// with Python's random.uniform(-1, 1), bias 0, ReLU on hidden layers, a linear output layer.
// The lecture's variant (tanh everywhere, bias drawn too) is one option away:
//   new MLP(3, [4, 4, 1], { activation: 'tanh', outputActivation: 'tanh', biasInit: 'uniform' })

import { PyRandom } from '../random/pyrandom.js';
import { Value, type Operand } from './value.js';

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear';

/** Anything with Python's `random.uniform(a, b)`; PyRandom matches CPython draw for draw. */
export interface UniformSource {
  uniform(a: number, b: number): number;
}

export interface NeuronOptions {
  /** Non-linearity after the weighted sum; default 'relu' (micrograd's nonlin=True). */
  activation?: Activation;
  /** 'zero' (micrograd repo, default) or 'uniform' (the lecture: b ~ U(-1, 1), drawn after the weights). */
  biasInit?: 'zero' | 'uniform';
  /** Where the initial weights come from; default the module generator (see `manualSeed`). */
  rng?: UniformSource;
}

export interface MLPOptions {
  /** Activation of the hidden layers; default 'relu'. */
  activation?: Activation;
  /** Activation of the last layer; default 'linear' (micrograd repo). */
  outputActivation?: Activation;
  biasInit?: 'zero' | 'uniform';
  /** A generator to draw from; wins over `seed`. */
  rng?: UniformSource;
  /** Seed a fresh Python-compatible generator for this model, like random.seed(seed) before MLP(...). */
  seed?: number;
}

/** Python's `random.seed(1337)` of the demo: the default stream starts there, so results repeat. */
const DEFAULT_SEED = 1337;
let defaultRng = new PyRandom(DEFAULT_SEED);

/** Re-seed the generator that Neuron/Layer/MLP draw from when given no `rng` (Python's random.seed). */
export function manualSeed(seed: number): void {
  defaultRng = new PyRandom(seed);
}

const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'linear'];
const NEURON_NAMES: Record<Activation, string> = { relu: 'ReLU', tanh: 'Tanh', sigmoid: 'Sigmoid', linear: 'Linear' };

function checkCount(what: string, name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new RangeError(`${what}: ${name} must be a positive integer, got ${String(n)}`);
  }
  return n;
}

function checkActivation(what: string, a: unknown): Activation {
  if (!ACTIVATIONS.includes(a as Activation)) {
    throw new RangeError(`${what}: activation must be one of ${ACTIVATIONS.join(', ')}, got ${String(a)}`);
  }
  return a as Activation;
}

function checkInputs(what: string, x: unknown, nin: number): ReadonlyArray<Operand> {
  if (!Array.isArray(x)) {
    throw new TypeError(`${what}: expected an array of ${nin} inputs (Values or numbers), got ${x instanceof Value ? 'a single Value' : typeof x}`);
  }
  if (x.length !== nin) throw new RangeError(`${what}: expected ${nin} inputs, got ${x.length}`);
  return x as ReadonlyArray<Operand>;
}

export abstract class Module {
  /** Every trainable Value, in a fixed order. */
  abstract parameters(): Value[];

  /** Set every parameter's grad to 0 (call before each backward). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = 0;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

export class Neuron extends Module {
  readonly w: Value[];
  readonly b: Value;
  readonly activation: Activation;

  constructor(nin: number, options: NeuronOptions = {}) {
    super();
    checkCount('Neuron', 'nin', nin);
    this.activation = checkActivation('Neuron', options.activation ?? 'relu');
    const biasInit = options.biasInit ?? 'zero';
    if (biasInit !== 'zero' && biasInit !== 'uniform') {
      throw new RangeError(`Neuron: biasInit must be 'zero' or 'uniform', got ${String(biasInit)}`);
    }
    const rng = options.rng ?? defaultRng;
    this.w = [];
    for (let i = 0; i < nin; i++) this.w.push(new Value(rng.uniform(-1, 1)));
    this.b = new Value(biasInit === 'uniform' ? rng.uniform(-1, 1) : 0);
  }

  get nin(): number {
    return this.w.length;
  }

  /** activation(b + w·x), summed left to right from b as in micrograd. */
  forward(x: ReadonlyArray<Operand>): Value {
    const w = this.w;
    const xs = checkInputs('Neuron.forward', x, w.length);
    let act = this.b;
    for (let i = 0; i < w.length; i++) act = act.add(w[i]!.mul(xs[i]!));
    switch (this.activation) {
      case 'relu':
        return act.relu();
      case 'tanh':
        return act.tanh();
      case 'sigmoid':
        return act.sigmoid();
      default:
        return act;
    }
  }

  parameters(): Value[] {
    return [...this.w, this.b];
  }

  override toString(): string {
    return `${NEURON_NAMES[this.activation]}Neuron(${this.w.length})`;
  }
}

export class Layer extends Module {
  readonly neurons: Neuron[];

  constructor(nin: number, nout: number, options: NeuronOptions = {}) {
    super();
    checkCount('Layer', 'nin', nin);
    checkCount('Layer', 'nout', nout);
    this.neurons = [];
    for (let i = 0; i < nout; i++) this.neurons.push(new Neuron(nin, options));
  }

  get nin(): number {
    return this.neurons[0]!.nin;
  }

  get nout(): number {
    return this.neurons.length;
  }

  /** One output per neuron (micrograd returns a bare Value when nout is 1: use forwardScalar). */
  forward(x: ReadonlyArray<Operand>): Value[] {
    checkInputs('Layer.forward', x, this.nin);
    return this.neurons.map((n) => n.forward(x));
  }

  /** The single output of a one-neuron layer. */
  forwardScalar(x: ReadonlyArray<Operand>): Value {
    if (this.neurons.length !== 1) {
      throw new RangeError(`Layer.forwardScalar: the layer has ${this.neurons.length} outputs; use forward() for a list`);
    }
    return this.forward(x)[0]!;
  }

  parameters(): Value[] {
    const out: Value[] = [];
    for (const n of this.neurons) out.push(...n.parameters());
    return out;
  }

  override toString(): string {
    return `Layer of [${this.neurons.map(String).join(', ')}]`;
  }
}

export class MLP extends Module {
  readonly layers: Layer[];

  /** A stack of layers of sizes nin -> nouts[0] -> ... -> nouts[last]. */
  constructor(nin: number, nouts: readonly number[], options: MLPOptions = {}) {
    super();
    checkCount('MLP', 'nin', nin);
    if (!Array.isArray(nouts) || nouts.length === 0) {
      throw new TypeError(`MLP: nouts must be a non-empty array of layer sizes, got ${String(nouts)}`);
    }
    nouts.forEach((n, i) => checkCount('MLP', `nouts[${i}]`, n));
    const hidden = checkActivation('MLP', options.activation ?? 'relu');
    const last = checkActivation('MLP', options.outputActivation ?? 'linear');
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new TypeError(`MLP: seed must be an integer, got ${String(options.seed)}`);
    }
    const rng = options.rng ?? (options.seed !== undefined ? new PyRandom(options.seed) : defaultRng);
    const sizes = [nin, ...nouts];
    this.layers = [];
    for (let i = 0; i < nouts.length; i++) {
      this.layers.push(
        new Layer(sizes[i]!, sizes[i + 1]!, {
          activation: i === nouts.length - 1 ? last : hidden,
          biasInit: options.biasInit,
          rng,
        }),
      );
    }
  }

  get nin(): number {
    return this.layers[0]!.nin;
  }

  get nout(): number {
    return this.layers[this.layers.length - 1]!.nout;
  }

  forward(x: ReadonlyArray<Operand>): Value[] {
    checkInputs('MLP.forward', x, this.nin);
    let h: ReadonlyArray<Operand> = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h as Value[];
  }

  /** The output of a network whose last layer has one neuron (micrograd's `model(x)`). */
  forwardScalar(x: ReadonlyArray<Operand>): Value {
    if (this.nout !== 1) {
      throw new RangeError(`MLP.forwardScalar: the last layer has ${this.nout} outputs; use forward() for a list`);
    }
    return this.forward(x)[0]!;
  }

  parameters(): Value[] {
    const out: Value[] = [];
    for (const l of this.layers) out.push(...l.parameters());
    return out;
  }

  override toString(): string {
    return `MLP of [${this.layers.map(String).join(', ')}]`;
  }
}
