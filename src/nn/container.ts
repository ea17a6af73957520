// Containers: Sequential (runs its children in order) and ModuleList (holds them). Children are
// the properties '0', '1', ... so their state-dict keys are '0.weight' as in torch.
import { Tensor } from '../tensor/tensor.js';
import { Module, indentTail } from './module.js';

type Bag = Record<string, unknown>;

function checkModule(op: string, m: unknown, i: number): Module {
  if (!(m instanceof Module)) {
    const what = m === null ? 'null' : typeof m === 'object' ? (m as object).constructor?.name : typeof m;
    throw new Error(`${op}: argument ${i} is not a Module (got ${what})`);
  }
  return m;
}

/** The numbered children, in index order. */
function numbered(self: Module): Module[] {
  const bag = self as unknown as Bag;
  const keys = Object.keys(bag);
  const out: Module[] = [];
  for (let i = 0; i < keys.length; i++) {
    const v = bag[keys[i]];
    if (v instanceof Module) out.push(v);
  }
  return out;
}

function normIndex(op: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n) throw new Error(`${op}: index ${i} is out of range for ${n} modules`);
  return i < 0 ? i + n : i;
}

/** Modules run one after the other: new Sequential(new Linear(30, 200), new Tanh(), ...).
 *  A single plain object of named modules gives named children, as torch's OrderedDict form
 *  (integer-like names sort first in JS objects). */
export class Sequential extends Module {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const bag = this as unknown as Bag;
    const first = modules[0] as unknown;
    if (modules.length === 1 && first !== null && typeof first === 'object' && !(first instanceof Module)) {
      for (const [name, m] of Object.entries(first as Record<string, unknown>)) this.registerModule(name, checkModule('Sequential', m, 0));
    } else {
      (modules as unknown[]).forEach((m, i) => {
        bag[String(i)] = checkModule('Sequential', m, i);
      });
    }
  }

  get length(): number {
    return numbered(this).length;
  }

  /** The i-th module (negative counts from the end), as seq[i] in torch. */
  at(i: number): Module {
    const mods = numbered(this);
    return mods[normIndex('Sequential.at', i, mods.length)];
  }

  append(m: Module): this {
    (this as unknown as Bag)[String(this.length)] = checkModule('Sequential.append', m, 0);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return numbered(this)[Symbol.iterator]();
  }

  forward(input: Tensor): Tensor {
    let x = input;
    for (const m of numbered(this)) x = m.forward(x);
    return x;
  }
}

/** A list of modules that registers them (a plain array would not): iterate and call them yourself. */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return numbered(this).length;
  }

  at(i: number): Module {
    const mods = numbered(this);
    return mods[normIndex('ModuleList.at', i, mods.length)];
  }

  append(m: Module): this {
    (this as unknown as Bag)[String(this.length)] = checkModule('ModuleList.append', m, this.length);
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Insert before index i, renumbering the modules after it. */
  insert(i: number, m: Module): this {
    const mods = numbered(this);
    const at = i === mods.length ? i : normIndex('ModuleList.insert', i, mods.length);
    mods.splice(at, 0, checkModule('ModuleList.insert', m, 0));
    const bag = this as unknown as Bag;
    mods.forEach((mod, k) => {
      bag[String(k)] = mod;
    });
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return numbered(this)[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleList has no forward: iterate over it and call the modules it holds');
  }

  /** As torch: runs of identical consecutive children print once, '(0-2): 3 x Linear(...)'. */
  protected override childReprLines(): string[] {
    const reprs = numbered(this).map((m) => m.toString());
    const out: string[] = [];
    let start = 0;
    for (let i = 1; i <= reprs.length; i++) {
      if (i < reprs.length && reprs[i] === reprs[start]) continue;
      const count = i - start;
      const body = indentTail(reprs[start], 2);
      out.push(count === 1 ? `(${start}): ${body}` : `(${start}-${i - 1}): ${count} x ${body}`);
      start = i;
    }
    return out;
  }
}
