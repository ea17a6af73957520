// The scalar autograd engine of lecture 1: a Value holds one number, remembers the op and the
// operands that produced it, and `backward()` applies the chain rule over the whole expression.
//
// Built for speed as well as clarity (the moons demo creates ~70k nodes per step):
// - no closure per node: each node stores an op code, up to two operands and one constant, and
//   backward is one switch over op codes;
// - the topological sort is an iterative DFS (a million-node chain must not overflow the stack)
//   that marks visited nodes with an epoch number instead of filling a Set.

import { pyFloat } from './format.js';

// Op codes. Plain numbers (not a TS enum) so that every tool compiles them the same way.
const LEAF = 0;
const ADD = 1;
const SUB = 2;
const MUL = 3;
const DIV = 4;
const POW = 5;
const NEG = 6;
const EXP = 7;
const LOG = 8;
const TANH = 9;
const RELU = 10;
const SIGMOID = 11;

const OP_NAMES = ['', '+', '-', '*', '/', '**', 'neg', 'exp', 'log', 'tanh', 'ReLU', 'sigmoid'];

/** Something an operation accepts as its other operand. */
export type Operand = Value | number;

let visitEpoch = 0;

// Labels live beside the values rather than in them: most values (~66k per step of the moons
// demo) have none, and a smaller object means less for the garbage collector to copy.
const labels = new WeakMap<Value, string>();

/** A short, safe description of an unexpected argument for error messages. */
function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (typeof x === 'number') return String(x);
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 20 ? `${x.slice(0, 20)}...` : x)}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return `a ${typeof x}`;
}

function operand(op: string, other: unknown): Value {
  if (other instanceof Value) return other;
  if (typeof other === 'number') {
    if (!Number.isFinite(other)) throw new RangeError(`Value.${op}: operand must be finite, got ${other}`);
    return new Value(other);
  }
  const hint = Array.isArray(other) ? ' (to combine many values use Value.sum)' : '';
  throw new TypeError(`Value.${op}: expected a Value or a finite number, got ${describe(other)}${hint}`);
}

function overflow(op: string, detail: string, result: number): never {
  throw new RangeError(`Value.${op}: result of ${detail} is ${result}, not a finite number`);
}

// Fields are `declare`d and set in the constructor only: a class-field definition would first
// store undefined, which makes V8 keep data/grad as generic fields that box every new double.
export class Value {
  /** The number this node holds. */
  declare data: number;
  /** d(root)/d(this) after `root.backward()`. Leaves accumulate across calls; see `backward`. */
  declare grad: number;
  /** @internal op code */
  declare _op: number;
  /** @internal first operand */
  declare _a: Value | null;
  /** @internal second operand */
  declare _b: Value | null;
  /**
   * @internal constant of the op (the exponent of pow), null otherwise. Starting as null keeps
   * the field tagged: a Smi-then-double field would box a number in every Value once any
   * fractional exponent had been seen.
   */
  declare _k: number | null;
  /** @internal visit mark of the topological sort */
  declare _mark: number;

  constructor(data: number, label?: string) {
    if (typeof data !== 'number') {
      throw new TypeError(`Value: data must be a number, got ${describe(data)}`);
    }
    if (!Number.isFinite(data)) throw new RangeError(`Value: data must be finite, got ${data}`);
    this.data = data;
    this.grad = 0;
    if (label !== undefined) this.label = label;
    this._op = LEAF;
    this._a = null;
    this._b = null;
    this._k = null;
    this._mark = 0;
  }

  /** The op that produced this value, as drawn in graphs: '+', '*', '**2', 'tanh', ... ('' for a leaf). */
  get op(): string {
    return this._op === POW ? `**${pyFloat(this._k!).replace(/\.0$/, '')}` : OP_NAMES[this._op]!;
  }

  /** The operands this value was computed from (Python's `_prev`), without duplicates. */
  get children(): Value[] {
    const a = this._a;
    const b = this._b;
    if (a === null) return [];
    if (b === null || b === a) return [a];
    return [a, b];
  }

  /** Optional name, shown by `drawDot` and `toString`. */
  get label(): string {
    return labels.get(this) ?? '';
  }

  set label(label: string) {
    if (typeof label !== 'string') throw new TypeError(`Value.label: expected a string, got ${describe(label)}`);
    if (label === '') labels.delete(this);
    else labels.set(this, label);
  }

  /** Set the label and return this, for `new Value(2).named('a')`-style chains. */
  named(label: string): this {
    this.label = label;
    return this;
  }

  // --- binary ops -----------------------------------------------------------------------------

  add(other: Operand): Value {
    const o = other instanceof Value ? other : operand('add', other);
    const d = this.data + o.data;
    if (!Number.isFinite(d)) overflow('add', `${this.data} + ${o.data}`, d);
    return node(d, ADD, this, o, null);
  }

  sub(other: Operand): Value {
    const o = other instanceof Value ? other : operand('sub', other);
    const d = this.data - o.data;
    if (!Number.isFinite(d)) overflow('sub', `${this.data} - ${o.data}`, d);
    return node(d, SUB, this, o, null);
  }

  mul(other: Operand): Value {
    const o = other instanceof Value ? other : operand('mul', other);
    const d = this.data * o.data;
    if (!Number.isFinite(d)) overflow('mul', `${this.data} * ${o.data}`, d);
    return node(d, MUL, this, o, null);
  }

  div(other: Operand): Value {
    const o = other instanceof Value ? other : operand('div', other);
    if (o.data === 0) throw new RangeError(`Value.div: division by zero (${this.data} / 0)`);
    const d = this.data / o.data;
    if (!Number.isFinite(d)) overflow('div', `${this.data} / ${o.data}`, d);
    return node(d, DIV, this, o, null);
  }

  /** this ** exponent, for a number exponent (as in micrograd; use exp/log for a Value exponent). */
  pow(exponent: number): Value {
    if (typeof exponent !== 'number') {
      const hint = (exponent as unknown) instanceof Value ? ' (a Value exponent is not supported: write x.log().mul(y).exp())' : '';
      throw new TypeError(`Value.pow: exponent must be a number, got ${describe(exponent)}${hint}`);
    }
    if (!Number.isFinite(exponent)) throw new RangeError(`Value.pow: exponent must be finite, got ${exponent}`);
    const x = this.data;
    if (x < 0 && !Number.isInteger(exponent)) {
      throw new RangeError(`Value.pow: a negative base (${x}) needs an integer exponent, got ${exponent}`);
    }
    const d = x ** exponent;
    if (!Number.isFinite(d)) overflow('pow', `${x} ** ${exponent}`, d);
    return node(d, POW, this, null, exponent);
  }

  /** Reversed operands, for `number - value` (Python's __rsub__). */
  rsub(other: Operand): Value {
    return operand('rsub', other).sub(this);
  }

  /** Reversed operands, for `number / value` (Python's __rtruediv__). */
  rdiv(other: Operand): Value {
    return operand('rdiv', other).div(this);
  }

  // --- unary ops ------------------------------------------------------------------------------

  neg(): Value {
    return node(-this.data, NEG, this, null, null);
  }

  exp(): Value {
    const d = Math.exp(this.data);
    if (!Number.isFinite(d)) overflow('exp', `exp(${this.data})`, d);
    return node(d, EXP, this, null, null);
  }

  /** Natural logarithm; the input must be positive. */
  log(): Value {
    const x = this.data;
    if (!(x > 0)) throw new RangeError(`Value.log: input must be positive, got ${x}`);
    return node(Math.log(x), LOG, this, null, null);
  }

  tanh(): Value {
    return node(tanh(this.data), TANH, this, null, null);
  }

  relu(): Value {
    const x = this.data;
    return node(x < 0 ? 0 : x, RELU, this, null, null);
  }

  sigmoid(): Value {
    const x = this.data;
    // Each branch only exponentiates a non-positive number, so nothing overflows.
    let s: number;
    if (x >= 0) s = 1 / (1 + Math.exp(-x));
    else {
      const e = Math.exp(x);
      s = e / (1 + e);
    }
    return node(s, SIGMOID, this, null, null);
  }

  // --- autograd -------------------------------------------------------------------------------

  /**
   * Every value this one depends on (itself included), operands before results: the order in
   * which the forward pass could have computed them. Iterative, so any depth works.
   */
  topo(): Value[] {
    return topoSort(this);
  }

  /**
   * Backpropagate from this value: afterwards each value v in its graph has
   * v.grad = d(this)/d(v) (times `gradient`, default 1).
   *
   * Leaves (inputs and parameters) accumulate: a second backward adds to their grads, as in
   * PyTorch, so call `zeroGrad()` between steps. Intermediate values are reset first, so that
   * they hold the gradient of this call only (micrograd would re-send stale intermediate grads).
   */
  backward(gradient = 1): void {
    if (typeof gradient !== 'number') {
      throw new TypeError(
        `Value.backward: gradient must be a number (the seed d(root)/d(root)), got ${describe(gradient)}`,
      );
    }
    if (!Number.isFinite(gradient)) throw new RangeError(`Value.backward: gradient must be finite, got ${gradient}`);
    // Only non-leaf values have a rule to apply; they are listed into a reused array.
    const order = backwardOrder;
    const n = sortFrom(this, true, order);
    this.grad += gradient;
    try {
      for (let i = n - 1; i >= 0; i--) propagate(order[i]!);
    } finally {
      // Drop references so the array does not keep a dead graph alive (and give back a huge one).
      if (n > 1 << 18) order.length = 0;
      else order.fill(undefined as unknown as Value, 0, n);
    }
  }

  /**
   * Apply this node's local chain rule once: add grad × local derivative to each operand's grad.
   * This is the lecture's `_backward()`, for walking through backpropagation by hand.
   */
  backwardLocal(): void {
    if (this._op !== LEAF) propagate(this);
  }

  // --- conveniences ---------------------------------------------------------------------------

  /** Sum of values (and numbers), left to right like Python's `sum(values, start)`. */
  static sum(values: Iterable<Operand>, start: Operand = 0): Value {
    if (values === null || typeof values !== 'object' || typeof (values as Iterable<Operand>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`Value.sum: expected an array of Values or numbers, got ${describe(values)}`);
    }
    let acc = operand('sum', start);
    let i = 0;
    for (const v of values) {
      if (!(v instanceof Value) && typeof v !== 'number') {
        throw new TypeError(`Value.sum: element ${i} is ${describe(v)}, expected a Value or a finite number`);
      }
      acc = acc.add(v);
      i++;
    }
    return acc;
  }

  toString(): string {
    const name = this.label ? `, label='${this.label}'` : '';
    return `Value(data=${pyFloat(this.data)}, grad=${pyFloat(this.grad)}${name})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function node(data: number, op: number, a: Value, b: Value | null, k: number | null): Value {
  const v = new Value(data);
  v._op = op;
  v._a = a;
  v._b = b;
  v._k = k;
  return v;
}

/**
 * tanh as expm1(2x) / (expm1(2x) + 2): accurate near 0 (no cancellation) and it reproduces the
 * lecture's (e^2x - 1)/(e^2x + 1) digits, e.g. tanh(0.8813735870195432) = 0.7071067811865476
 * where Math.tanh gives ...477. Beyond |x| = 20, tanh is ±1 in float64 (and e^2x would overflow).
 */
function tanh(x: number): number {
  if (x > 20) return 1;
  if (x < -20) return -1;
  const e = Math.expm1(2 * x);
  return e / (e + 2);
}

// Reused arrays: the sort and backward never call out, so they cannot be re-entered.
const dfsStack: Value[] = [];
const backwardOrder: Value[] = [];

/**
 * Postorder DFS from `root`, operands in order, written into `order`; returns the count. A node
 * stays on the stack until neither operand is unvisited, so no per-entry state is needed. In
 * backward mode (`forBackward`) only non-leaf values are listed and their grads are reset as
 * they are emitted (saving backward a pass).
 */
function sortFrom(root: Value, forBackward: boolean, order: Value[]): number {
  const mark = ++visitEpoch;
  const stack = dfsStack;
  let n = 0;
  let sp = 1;
  let depth = 1;
  stack[0] = root;
  root._mark = mark;
  while (sp > 0) {
    const v = stack[sp - 1]!;
    const a = v._a;
    if (a !== null && a._mark !== mark) {
      a._mark = mark;
      stack[sp++] = a;
      if (sp > depth) depth = sp;
      continue;
    }
    const b = v._b;
    if (b !== null && b._mark !== mark) {
      b._mark = mark;
      stack[sp++] = b;
      if (sp > depth) depth = sp;
      continue;
    }
    sp--;
    if (forBackward) {
      if (v._op === LEAF) continue;
      v.grad = 0;
    }
    order[n++] = v;
  }
  // Drop references so the stack does not keep a dead graph alive (and give back a huge one).
  if (depth > 1 << 16) stack.length = 0;
  else stack.fill(undefined as unknown as Value, 0, depth);
  return n;
}

/** Every value `root` depends on, itself last, operands before results (postorder DFS). */
export function topoSort(root: Value): Value[] {
  if (!(root instanceof Value)) throw new TypeError(`topoSort: expected a Value, got ${describe(root)}`);
  const order: Value[] = [];
  sortFrom(root, false, order);
  return order;
}

function nonFiniteGrad(v: Value, which: string, value: number): never {
  const where = v.label ? ` '${v.label}'` : '';
  throw new RangeError(
    `Value.backward: the gradient through ${which}${where} (data ${v.data}) is ${value}: ` +
      `the derivative is not finite there or the gradient overflowed`,
  );
}

/** One node's chain rule (the `_backward` closures of micrograd, as one switch). */
function propagate(v: Value): void {
  const g = v.grad;
  if (g === 0) return; // nothing to send (also skips dead ReLU subtrees cheaply)
  if (!Number.isFinite(g)) nonFiniteGrad(v, v.op || 'a leaf', g);
  const a = v._a!;
  switch (v._op) {
    case ADD: {
      a.grad += g;
      v._b!.grad += g;
      return;
    }
    case SUB: {
      a.grad += g;
      v._b!.grad -= g;
      return;
    }
    case MUL: {
      const b = v._b!;
      a.grad += b.data * g;
      b.grad += a.data * g;
      return;
    }
    case DIV: {
      const b = v._b!;
      const inv = 1 / b.data;
      const da = inv * g;
      const db = -v.data * inv * g; // d(a/b)/db = -a/b^2 = -(a/b)/b
      if (!Number.isFinite(da) || !Number.isFinite(db)) nonFiniteGrad(v, "'/'", Number.isFinite(da) ? db : da);
      a.grad += da;
      b.grad += db;
      return;
    }
    case POW: {
      const k = v._k!;
      if (k === 0) return; // x**0 is constant (also at x = 0, where 0 * 0**-1 would be NaN)
      const d = k * a.data ** (k - 1) * g;
      if (!Number.isFinite(d)) nonFiniteGrad(v, `'${v.op}'`, d);
      a.grad += d;
      return;
    }
    case NEG: {
      a.grad -= g;
      return;
    }
    case EXP: {
      a.grad += v.data * g;
      return;
    }
    case LOG: {
      const d = g / a.data;
      if (!Number.isFinite(d)) nonFiniteGrad(v, "'log'", d);
      a.grad += d;
      return;
    }
    case TANH: {
      const t = v.data;
      a.grad += (1 - t * t) * g;
      return;
    }
    case RELU: {
      if (v.data > 0) a.grad += g;
      return;
    }
    case SIGMOID: {
      const s = v.data;
      a.grad += s * (1 - s) * g;
      return;
    }
  }
}
