/**
 * Module: the base class of every layer, with torch.nn.Module's API in camelCase.
 *
 * How members are found (the registration rule):
 * - A module's parameters, buffers and children are its OWN ENUMERABLE PROPERTIES, read in
 *   insertion order (the order the class fields are declared / the constructor assigns them),
 *   which is the order torch's __setattr__ registers them in. Nothing has to be registered by hand:
 *       class Net extends nn.Module { fc = new nn.Linear(3, 4); act = new nn.Tanh(); forward(x) {...} }
 * - A property holding an `nn.Parameter` is a parameter; one holding a `Module` is a child.
 *   A plain Tensor property is not a parameter (as in torch): wrap it, `new nn.Parameter(t)`.
 *   `null` / `undefined` (an optional bias) is skipped; assigning a Parameter later to the same
 *   property keeps its original position.
 * - Buffers are tensors registered with `registerBuffer(name, tensor, { persistent })`: the tensor
 *   becomes the property `this[name]` (reassigning the property replaces the buffer), and the
 *   buffers of a module come in registration order. Non-persistent buffers stay out of stateDict().
 * - Arrays of modules are NOT discovered (as a Python list is not in torch): use ModuleList or
 *   Sequential. JS orders integer-like property names first, ascending; ModuleList and Sequential
 *   rely on it for '0', '1', ...
 *
 * stateDict() order is torch's: per module its parameters, then its persistent buffers, then each
 * child recursively under `name.`. parameters()/namedParameters()/buffers()/modules() drop
 * duplicates (a parameter shared by two layers is listed once, under its first name), as torch.
 *
 * Differences from torch to know: BatchNorm's num_batches_tracked is an int32 tensor here (int64 in
 * torch); a module is not callable, call `module.forward(x)`; forward hooks are not provided.
 */
import { Tensor } from '../tensor/tensor.js';
import { isFloat, type DType, type FloatDType } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { noGrad } from '../autograd/grad-mode.js';

/** A tensor that is a module parameter (torch.nn.Parameter): a leaf sharing `data`'s storage that
 *  requires grad by default. */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw new Error('Parameter: expected a Tensor');
    super(data.data, [...data.shape], [...data.strides], data.offset);
    if (requiresGrad) this.requiresGrad = true;
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}

export function isParameter(x: unknown): x is Parameter {
  return x instanceof Parameter;
}

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Every key must match (default true). Size mismatches are errors even when false, as torch. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

type Bag = Record<string, unknown>;

export abstract class Module {
  /** Training mode (true after construction), switched by train() / eval() for the whole tree. */
  training = true;
  /** Names of registered buffers, in registration order, with whether each is persistent. */
  private readonly _bufferSpecs = new Map<string, boolean>();

  /** The computation. Subclasses implement it with their own signature. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...inputs: any[]): any;

  // ---- registration ---------------------------------------------------------------------

  /** Add a buffer (state that is not a parameter, e.g. BatchNorm's running mean): it becomes
   *  `this[name]`. persistent = false keeps it out of stateDict(). */
  registerBuffer(name: string, tensor: Tensor | null, opts: { persistent?: boolean } = {}): void {
    checkMemberName('registerBuffer', name);
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new Error(`registerBuffer: cannot assign a ${typeof tensor} as buffer '${name}' (a Tensor or null expected)`);
    }
    if (tensor instanceof Parameter) {
      throw new Error(`registerBuffer: '${name}' is a Parameter; assign it as a property to make it a parameter`);
    }
    const bag = this as unknown as Bag;
    if (name in bag && !this._bufferSpecs.has(name) && bag[name] !== undefined) {
      throw new Error(`registerBuffer: attribute '${name}' already exists`);
    }
    this._bufferSpecs.set(name, opts.persistent ?? true);
    bag[name] = tensor;
  }

  /** torch's register_parameter: the same as assigning the property (null allowed). */
  registerParameter(name: string, param: Parameter | null): void {
    checkMemberName('registerParameter', name);
    if (param !== null && !(param instanceof Parameter)) {
      throw new Error(`registerParameter: cannot assign a ${describe(param)} as parameter '${name}' (nn.Parameter or null expected)`);
    }
    (this as unknown as Bag)[name] = param;
  }

  /** torch's add_module / register_module. */
  registerModule(name: string, module: Module | null): void {
    checkMemberName('registerModule', name);
    if (module !== null && !(module instanceof Module)) {
      throw new Error(`registerModule: ${describe(module)} is not a Module subclass`);
    }
    (this as unknown as Bag)[name] = module;
  }

  /** This module's own parameters (not its children's), in order. */
  protected *ownParameters(): Generator<[string, Parameter]> {
    const bag = this as unknown as Bag;
    for (const key of Object.keys(bag)) {
      const v = bag[key];
      if (v instanceof Parameter && !this._bufferSpecs.has(key)) yield [key, v];
    }
  }

  /** This module's own buffers with their persistence, in registration order. */
  protected *ownBuffers(): Generator<[string, Tensor, boolean]> {
    const bag = this as unknown as Bag;
    for (const [key, persistent] of this._bufferSpecs) {
      const v = bag[key];
      if (v instanceof Tensor) yield [key, v, persistent];
    }
  }

  // ---- traversal --------------------------------------------------------------------------

  /** Direct children with their names (each child once). */
  *namedChildren(): Generator<[string, Module]> {
    const seen = new Set<Module>();
    const bag = this as unknown as Bag;
    for (const key of Object.keys(bag)) {
      const v = bag[key];
      if (v instanceof Module && !seen.has(v)) {
        seen.add(v);
        yield [key, v];
      }
    }
  }

  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every module below it, depth first, each once, named by dotted path ('' for self). */
  *namedModules(prefix = '', memo: Set<Module> = new Set()): Generator<[string, Module]> {
    if (memo.has(this)) return;
    memo.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) {
      yield* child.namedModules(prefix === '' ? name : `${prefix}.${name}`, memo);
    }
  }

  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters with dotted names ('layers.0.weight'); shared parameters once, under the first name. */
  *namedParameters(opts: { prefix?: string; recurse?: boolean } = {}): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    const prefix = opts.prefix ?? '';
    const mods: Iterable<[string, Module]> = opts.recurse === false ? [[prefix, this]] : this.namedModules(prefix);
    for (const [modName, m] of mods) {
      for (const [name, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [modName === '' ? name : `${modName}.${name}`, p];
      }
    }
  }

  /** All parameters, each once (what an optimizer takes). */
  parameters(opts: { recurse?: boolean } = {}): Parameter[] {
    return [...this.namedParameters(opts)].map(([, p]) => p);
  }

  *namedBuffers(opts: { prefix?: string; recurse?: boolean } = {}): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const prefix = opts.prefix ?? '';
    const mods: Iterable<[string, Module]> = opts.recurse === false ? [[prefix, this]] : this.namedModules(prefix);
    for (const [modName, m] of mods) {
      for (const [name, b] of m.ownBuffers()) {
        if (seen.has(b)) continue;
        seen.add(b);
        yield [modName === '' ? name : `${modName}.${name}`, b];
      }
    }
  }

  buffers(opts: { recurse?: boolean } = {}): Tensor[] {
    return [...this.namedBuffers(opts)].map(([, b]) => b);
  }

  /** The submodule at a dotted path ('layers.0'), as torch's get_submodule. */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    let m: Module = this;
    for (const part of target.split('.')) {
      const next = (m as unknown as Bag)[part];
      if (!(next instanceof Module)) {
        throw new Error(`getSubmodule: ${m.constructor.name} has no attribute \`${part}\` that is a Module (path '${target}')`);
      }
      m = next;
    }
    return m;
  }

  /** fn on every submodule (children first, then this), as torch's apply (used for custom init). */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and gradients ----------------------------------------------------------------

  /** Training mode on (default) or off, for this module and all below it. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new Error(`train: training mode is expected to be boolean, got ${describe(mode)}`);
    this.training = mode;
    for (const child of this.children()) child.train(mode);
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Clear gradients: set to null (torch's default set_to_none=True), or zero them in place. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (p.grad === null) continue;
      if (setToNone) p.grad = null;
      else noGrad(() => p.grad!.detach().zero_());
    }
  }

  /** Switch requiresGrad of every parameter (freeze with requiresGrad_(false)). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Number of parameter elements (shared parameters counted once). */
  numParameters(opts: { onlyTrainable?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.onlyTrainable || p.requiresGrad) n += p.numel();
    return n;
  }

  // ---- dtype ------------------------------------------------------------------------------

  /** Convert floating point parameters and buffers to `dtype` (torch's module.to(dtype)). The
   *  Parameter objects are replaced (gradients dropped): build optimizers after converting. */
  to(dtype: FloatDType): this {
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`to: module dtype must be 'float32' or 'float64', got ${String(dtype)}`);
    const converted = new Map<Tensor, Tensor>();
    for (const m of this.modules()) {
      const bag = m as unknown as Bag;
      for (const [name, p] of [...m.ownParameters()]) {
        if (!isFloat(p.dtype) || p.dtype === dtype) continue;
        let q = converted.get(p);
        if (!q) {
          q = new Parameter(p.detach().to(dtype), p.requiresGrad);
          converted.set(p, q);
        }
        bag[name] = q;
      }
      for (const [name, b] of [...m.ownBuffers()]) {
        if (!isFloat(b.dtype) || b.dtype === dtype) continue;
        let q = converted.get(b);
        if (!q) {
          q = b.detach().to(dtype);
          converted.set(b, q);
        }
        bag[name] = q;
      }
    }
    return this;
  }

  double(): this {
    return this.to('float64');
  }

  float(): this {
    return this.to('float32');
  }

  // ---- state dict -------------------------------------------------------------------------

  /** Parameters and persistent buffers by dotted name, in torch's order. The values share storage
   *  with the module (detached, as torch's state_dict()). */
  stateDict(opts: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    const out: StateDict = {};
    this.collectState(opts.prefix ?? '', out, opts.keepVars ?? false);
    return out;
  }

  private collectState(prefix: string, out: StateDict, keepVars: boolean): void {
    for (const [name, p] of this.ownParameters()) out[prefix + name] = keepVars ? p : p.detach();
    for (const [name, b, persistent] of this.ownBuffers()) if (persistent) out[prefix + name] = keepVars ? b : b.detach();
    // Children as in torch's state_dict: every registered child, recursively (not de-duplicated).
    const bag = this as unknown as Bag;
    for (const key of Object.keys(bag)) {
      const v = bag[key];
      if (v instanceof Module) v.collectState(`${prefix}${key}.`, out, keepVars);
    }
  }

  /** Copy values from a state dict into this module's parameters and buffers, in place.
   *  strict (default): throws listing missing keys, unexpected keys and size mismatches, in torch's
   *  wording. strict false: returns the missing and unexpected keys (size mismatches still throw). */
  loadStateDict(stateDict: Record<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    if (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict)) {
      throw new Error(`loadStateDict: expected a plain object of tensors (a state dict), got ${describe(stateDict)}`);
    }
    const expected = new Map<string, { module: Module; name: string; target: Tensor }>();
    const optional = new Set<string>();
    const bag = (m: Module) => m as unknown as Bag;
    const walk = (m: Module, prefix: string): void => {
      for (const [name, p] of m.ownParameters()) expected.set(prefix + name, { module: m, name, target: p });
      for (const [name, b, persistent] of m.ownBuffers()) {
        if (persistent) expected.set(prefix + name, { module: m, name, target: b });
      }
      for (const name of m.optionalStateKeys()) optional.add(prefix + name);
      for (const key of Object.keys(bag(m))) {
        const v = bag(m)[key];
        if (v instanceof Module) walk(v, `${prefix}${key}.`);
      }
    };
    walk(this, '');
    const errors: string[] = [];
    const missingKeys: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [key, { target }] of expected) {
      if (!Object.prototype.hasOwnProperty.call(stateDict, key)) {
        if (!optional.has(key)) missingKeys.push(key);
        continue;
      }
      const src = stateDict[key];
      if (!(src instanceof Tensor)) {
        errors.push(`While copying the parameter named "${key}", expected a Tensor from checkpoint but received ${describe(src)}`);
        continue;
      }
      if (src.shape.length !== target.shape.length || src.shape.some((s, i) => s !== target.shape[i])) {
        errors.push(
          `size mismatch for ${key}: copying a param with shape ${fmtShape(src.shape)} from checkpoint, the shape in current model is ${fmtShape(target.shape)}.`,
        );
        continue;
      }
      if (isFloat(target.dtype) !== isFloat(src.dtype)) {
        errors.push(`dtype mismatch for ${key}: copying a ${src.dtype} tensor from checkpoint, the dtype in current model is ${target.dtype}.`);
        continue;
      }
      copies.push([target, src]);
    }
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !expected.has(k));
    if (strict) {
      if (unexpectedKeys.length > 0) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}. `);
      if (missingKeys.length > 0) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}. `);
    }
    if (errors.length > 0) {
      throw new Error(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`);
    }
    // All checks passed: only now write, so a refused load leaves the module untouched.
    noGrad(() => {
      for (const [target, src] of copies) target.copy_(src.detach());
    });
    return { missingKeys, unexpectedKeys };
  }

  /** State keys (relative to this module) that a state dict may omit without counting as missing:
   *  BatchNorm's num_batches_tracked, which torch fills in for plain (version-less) state dicts. */
  protected optionalStateKeys(): string[] {
    return [];
  }

  // ---- printing ---------------------------------------------------------------------------

  /** The one-line settings shown between the parentheses (torch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  /** The module tree as torch's repr prints it. */
  toString(): string {
    const extraLines = this.extraRepr() === '' ? [] : this.extraRepr().split('\n');
    const childLines = this.childReprLines();
    const lines = [...extraLines, ...childLines];
    let s = `${this.constructor.name}(`;
    if (lines.length > 0) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }

  /** '(name): Child(...)' per registered child, nested lines indented by two. */
  protected childReprLines(): string[] {
    const out: string[] = [];
    const bag = this as unknown as Bag;
    for (const key of Object.keys(bag)) {
      const v = bag[key];
      if (v instanceof Module) out.push(`(${key}): ${indentTail(v.toString(), 2)}`);
    }
    return out;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Indent every line but the first (torch's _addindent). */
export function indentTail(s: string, n: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const pad = ' '.repeat(n);
  return [lines[0], ...lines.slice(1).map((l) => pad + l)].join('\n');
}

/** A number as Python's repr prints a float: 1e-05, 0.1, 1.0. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, e] = x.toExponential().split('e');
  const e10 = Number(e);
  if (e10 >= -4 && e10 < 16) {
    const s = String(x);
    return s.includes('.') || s.includes('e') ? s : `${s}.0`;
  }
  const sign = e10 < 0 ? '-' : '+';
  return `${mant}e${sign}${String(Math.abs(e10)).padStart(2, '0')}`;
}

/** A Python tuple of ints: (2,) or (1, 2). */
export function pyTuple(xs: readonly number[]): string {
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`;
}

function checkMemberName(op: string, name: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new Error(`${op}: name must be a non-empty string without '.', got ${describe(name)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Tensor) return `Tensor of shape ${fmtShape(v.shape)}`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}

export type { DType };
