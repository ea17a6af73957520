// The optimizer base class, as torch.optim.Optimizer: parameter groups with per-group options
// (defaults filled in per group), per-parameter state buffers, zeroGrad, and a state dict in
// torch's layout (state keyed by the parameter's integer index across groups, groups listing
// those indices) with camelCase field names; `stateDictToTorch` gives torch's snake_case names.
import { Tensor } from '../tensor/tensor.js';
import { isFloat } from '../tensor/dtype.js';
import { fmtShape, sameShape } from '../tensor/shape.js';
import { enableGrad } from '../autograd/grad-mode.js';
import type { Backend, FloatArray } from '../backend/backend.js';
import { backendFor, referenceBackend } from '../backend/index.js';

/** The options every optimizer's groups have. */
export interface LrGroupOptions {
  lr: number;
}

/** One parameter group: the options in force for it (defaults filled in) and its parameters. */
export type ParamGroup<O extends LrGroupOptions = LrGroupOptions> = O & {
  params: Tensor[];
  /** Names, when the group was given `[name, tensor]` pairs (e.g. `model.namedParameters()`). */
  paramNames?: string[];
  /** Set by the first learning-rate scheduler attached (torch's `initial_lr`). */
  initialLr?: number;
};

/** A named parameter, as `namedParameters()` yields it. */
export type NamedParam = readonly [string, Tensor];

/** What a group is given as: parameters plus any options that differ from the defaults. */
export type ParamGroupSpec<O extends LrGroupOptions = LrGroupOptions> = Partial<O> & {
  params: Iterable<Tensor> | Iterable<NamedParam> | Tensor;
  initialLr?: number;
};

/** Parameters: a list of tensors (or named tensors), or a list of groups. */
export type Params<O extends LrGroupOptions = LrGroupOptions> =
  | Iterable<Tensor>
  | Iterable<NamedParam>
  | Iterable<ParamGroupSpec<O>>;

/** A state entry: buffers (tensors) and counters (numbers). */
export type ParamState = Record<string, Tensor | number | undefined>;

/** torch's optimizer state_dict layout, camelCased. Tensors are snapshots (copies). */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

export type Closure = () => number | Tensor;

export abstract class Optimizer<O extends LrGroupOptions = LrGroupOptions, S extends ParamState = ParamState> {
  /** Options used for anything a group does not set. */
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state (created on the first step), as torch's `optimizer.state`. */
  readonly state = new Map<Tensor, S>();
  /** The optimizer's name in error messages (`SGD`, `Adam`, ...). */
  protected readonly opName: string;

  protected constructor(opName: string, params: Params<O>, defaults: O) {
    this.opName = opName;
    this.defaults = Object.freeze({ ...defaults });
    this.checkOptions(this.defaults, 'defaults');
    if (params instanceof Tensor) {
      throw new TypeError(`${opName}: params argument given to the optimizer should be an iterable of Tensors or objects (groups), but got a Tensor; wrap it in an array: [tensor]`);
    }
    if (params === null || params === undefined || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${opName}: params must be an iterable of Tensors or of parameter groups, got ${describe(params)}`);
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error(`${opName}: optimizer got an empty parameter list`);
    const isGroup = (x: unknown) => x !== null && typeof x === 'object' && !(x instanceof Tensor) && !Array.isArray(x);
    if (isGroup(list[0])) {
      for (const g of list) {
        if (!isGroup(g)) throw new TypeError(`${opName}: params mixes parameter groups with ${describe(g)}; give either tensors or groups`);
        this.addParamGroup(g as ParamGroupSpec<O>);
      }
    } else {
      this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupSpec<O>);
    }
  }

  /** Check option values (throw a clear error for a bad one). `where` names the group. */
  protected abstract checkOptions(options: O, where: string): void;

  /** Update every parameter that has a gradient, in place. With a closure, re-evaluate the
   *  loss first (with gradients enabled) and return it, as torch's `step(closure)`. */
  step(closure?: Closure): number | Tensor | undefined {
    let loss: number | Tensor | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') throw new TypeError(`${this.opName}.step: closure must be a function, got ${describe(closure)}`);
      loss = enableGrad(closure);
    }
    for (let gi = 0; gi < this.paramGroups.length; gi++) {
      const group = this.paramGroups[gi];
      this.checkOptions(group, `paramGroups[${gi}]`);
      this.updateGroup(group);
    }
    stepped.add(this);
    return loss;
  }

  /** Apply one step to the parameters of one group. */
  protected abstract updateGroup(group: ParamGroup<O>): void;

  /** Add a group; options it does not give are taken from the defaults, as torch does. */
  addParamGroup(spec: ParamGroupSpec<O>): void {
    const op = `${this.opName}.addParamGroup`;
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec) || spec instanceof Tensor) {
      throw new TypeError(`${op}: a parameter group must be an object { params, ...options }, got ${describe(spec)}`);
    }
    if (!('params' in spec)) throw new TypeError(`${op}: the parameter group has no 'params'`);
    const where = `paramGroups[${this.paramGroups.length}]`;
    const raw = spec.params instanceof Tensor ? [spec.params] : spec.params;
    if (raw === null || raw === undefined || typeof (raw as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${op}: ${where}.params must be an iterable of Tensors, got ${describe(raw)}`);
    }
    const items = [...(raw as Iterable<unknown>)];
    const params: Tensor[] = [];
    const names: string[] = [];
    let named: boolean | undefined;
    items.forEach((item, i) => {
      const isNamed = Array.isArray(item) && item.length === 2 && typeof item[0] === 'string';
      const pair = item as unknown as NamedParam;
      if (named !== undefined && isNamed !== named) {
        throw new TypeError(`${op}: ${where} mixes named ([name, tensor]) and unnamed parameters`);
      }
      named = isNamed;
      const p = isNamed ? pair[1] : item;
      const label = isNamed ? `'${pair[0]}'` : `${i}`;
      this.checkParam(op, `${where}.params[${label}]`, p);
      if (isNamed) names.push(pair[0]);
      params.push(p as Tensor);
    });
    if (new Set(params).size !== params.length) {
      throw new Error(`${op}: ${where} contains the same parameter more than once`);
    }
    for (let gi = 0; gi < this.paramGroups.length; gi++) {
      const other = this.paramGroups[gi];
      const i = params.findIndex((p) => other.params.includes(p));
      if (i >= 0) {
        throw new Error(`${op}: some parameters appear in more than one parameter group (${where}.params[${i}], shape ${fmtShape(params[i].shape)}, is already in paramGroups[${gi}])`);
      }
    }
    const group = { ...this.defaults } as ParamGroup<O>;
    for (const [k, v] of Object.entries(spec)) {
      if (k === 'params') continue;
      if (k !== 'initialLr' && !(k in this.defaults)) {
        throw new Error(`${op}: ${where} has an unknown option '${k}' (${this.opName} options: ${Object.keys(this.defaults).join(', ')})`);
      }
      (group as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
    }
    this.checkOptions(group, where);
    group.params = params;
    if (named) group.paramNames = names;
    this.paramGroups.push(group);
  }

  private checkParam(op: string, where: string, p: unknown): asserts p is Tensor {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: optimizer can only optimize Tensors, but ${where} is ${describe(p)}`);
    if (!isFloat(p.dtype)) throw new TypeError(`${op}: ${where} has dtype ${p.dtype}; only floating point tensors can be optimized`);
    if (!p.isLeaf) throw new Error(`${op}: can't optimize a non-leaf Tensor (${where}, shape ${fmtShape(p.shape)}, made by ${p.gradFn?.name}); optimize the leaf it was computed from`);
    // A frozen parameter (requiresGrad false) is accepted, as torch.optim does: it never gets a
    // gradient, so step() skips it, and unfreezing it later makes it train.
    if (!p.isContiguous()) {
      throw new Error(`${op}: ${where} (shape ${fmtShape(p.shape)}, strides ${fmtShape(p.strides)}) is not contiguous; optimizers update the storage directly, so make the parameter a contiguous leaf (p.contiguous().detach().requiresGrad_())`);
    }
  }

  /** Reset gradients: to null (the default, as torch), or to zeros keeping the buffers. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (setToNone) p.grad = null;
        else {
          // A gradient that is itself recorded (create_graph) is cut loose first, as torch does.
          if (p.grad.gradFn !== null) p.grad = p.grad.detach();
          p.grad.zero_();
        }
      }
    }
  }

  /** The optimizer's state as torch lays it out: `state[i]` for the i-th parameter counted
   *  across groups in order, and `paramGroups` with `params` as those indices. The tensors are
   *  copies, so later steps do not change a saved state dict. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const entry: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(group)) {
        if (k !== 'params') entry[k] = Array.isArray(v) ? [...v] : v;
      }
      const ids: number[] = [];
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s !== undefined) {
          const copy: ParamState = {};
          for (const [k, v] of Object.entries(s)) copy[k] = v instanceof Tensor ? v.clone() : v;
          state[index] = copy;
        }
        ids.push(index++);
      }
      paramGroups.push({ ...entry, params: ids });
    }
    return { state, paramGroups };
  }

  /** Restore a state dict from `stateDict()` (or torch's, after `stateDictFromTorch`): group
   *  options (lr, betas, ...) and per-parameter buffers, matched to this optimizer's parameters
   *  by position. Buffers are copied, so the saved dict stays unchanged. */
  loadStateDict(sd: OptimizerStateDict): void {
    const op = `${this.opName}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || sd.state === null || typeof sd.state !== 'object') {
      throw new TypeError(`${op}: expected { state, paramGroups } as stateDict() returns, got ${describe(sd)}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${op}: loaded state dict has a different number of parameter groups (${sd.paramGroups.length}, optimizer has ${this.paramGroups.length})`);
    }
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((saved, gi) => {
      const mine = this.paramGroups[gi];
      if (!Array.isArray(saved.params) || saved.params.length !== mine.params.length) {
        throw new Error(`${op}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (paramGroups[${gi}] has ${Array.isArray(saved.params) ? saved.params.length : 'no'} params, optimizer's has ${mine.params.length})`);
      }
      saved.params.forEach((id, j) => byIndex.set(id, mine.params[j]));
    });
    // Validate everything before changing anything, so a bad dict leaves the optimizer intact.
    const groups = sd.paramGroups.map((saved, gi) => {
      const where = `paramGroups[${gi}]`;
      const next = { ...this.paramGroups[gi] } as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(saved)) {
        if (k === 'params' || k === 'paramNames') continue;
        if (k !== 'initialLr' && !(k in this.defaults)) throw new Error(`${op}: ${where} has an unknown option '${k}'`);
        next[k] = Array.isArray(v) ? [...v] : v;
      }
      this.checkOptions(next as unknown as O, `${op}: ${where}`);
      return next as unknown as ParamGroup<O>;
    });
    const states = new Map<Tensor, S>();
    for (const [key, saved] of Object.entries(sd.state)) {
      const id = Number(key);
      const p = byIndex.get(id);
      if (p === undefined) throw new Error(`${op}: state[${key}] refers to no parameter (the groups list indices ${[...byIndex.keys()].join(', ')})`);
      const entry: ParamState = {};
      for (const [k, v] of Object.entries(saved ?? {})) {
        if (v instanceof Tensor) {
          if (!sameShape(v.shape, p.shape)) {
            throw new Error(`${op}: state[${key}].${k} has shape ${fmtShape(v.shape)} but the parameter has shape ${fmtShape(p.shape)}`);
          }
          entry[k] = v.to(p.dtype).contiguous().clone();
        } else if (typeof v === 'number') entry[k] = v;
        else if (v !== null && v !== undefined) throw new TypeError(`${op}: state[${key}].${k} must be a Tensor or a number, got ${describe(v)}`);
      }
      this.checkState(op, `state[${key}]`, entry, p);
      states.set(p, entry as S);
    }
    groups.forEach((g, gi) => Object.assign(this.paramGroups[gi], g));
    this.state.clear();
    for (const [p, s] of states) this.state.set(p, s);
  }

  /** Check a loaded state entry (its keys) for one parameter. */
  protected abstract checkState(op: string, where: string, entry: ParamState, p: Tensor): void;

  toString(): string {
    const lines = [`${this.opName} (`];
    this.paramGroups.forEach((g, i) => {
      lines.push(`Parameter Group ${i}`);
      for (const [k, v] of Object.entries(g)) if (k !== 'params' && k !== 'paramNames') lines.push(`    ${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`);
    });
    lines.push(')');
    return lines.join('\n');
  }
}

// ---- helpers for the optimizers --------------------------------------------------------

const stepped = new WeakSet<object>();

/** Whether step() has run (the schedulers warn when they are stepped first, as torch does). */
export function hasStepped(optimizer: object): boolean {
  return stepped.has(optimizer);
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x instanceof Tensor) return `a Tensor of shape ${fmtShape(x.shape)}`;
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'number') return String(x);
  return typeof x;
}

export function checkNonNegative(op: string, name: string, v: unknown, where: string): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || v === Infinity) {
    throw new RangeError(`${op}: invalid ${name} ${String(v)} in ${where}: must be a finite number >= 0`);
  }
}

export function checkBool(op: string, name: string, v: unknown, where: string): void {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} in ${where} must be a boolean, got ${describe(v)}`);
}

/** The gradient of p as a flat array of p's dtype, or null when p has none. Gradients are
 *  contiguous as the engine deposits them; anything else is copied (rare, and only then allocates). */
export function flatGrad(op: string, p: Tensor): FloatArray | null {
  let g = p.grad;
  if (g === null) return null;
  if (!sameShape(g.shape, p.shape)) {
    throw new Error(`${op}: the gradient has shape ${fmtShape(g.shape)} but its parameter has shape ${fmtShape(p.shape)}`);
  }
  if (g.dtype !== p.dtype) g = g.to(p.dtype);
  return g.contiguous().flatFloat();
}

/** The parameter's storage segment to update in place (checked again: `data` may be swapped). */
export function flatParam(op: string, p: Tensor): FloatArray {
  if (!p.isContiguous()) throw new Error(`${op}: parameter of shape ${fmtShape(p.shape)} is not contiguous`);
  return p.flatFloat();
}

/** The backend that runs a fused update over the parameter storage P and its companions: P's
 *  (the native addon for float32), or the reference loops when the arrays mix float32 and float64
 *  (a state dict loaded in another precision), which the float32 kernels cannot take. */
export function kernelsFor(P: FloatArray, others: (FloatArray | null)[]): Backend {
  for (const a of others) if (a !== null && a.constructor !== P.constructor) return referenceBackend;
  return backendFor(P instanceof Float64Array ? 'float64' : 'float32');
}

/** g itself, or a copy when it shares memory with one of the arrays the update writes (a kernel
 *  refuses aliased arguments; a gradient that is its own parameter is legal, if odd). */
export function distinctFrom(g: FloatArray, written: (FloatArray | null)[]): FloatArray {
  for (const a of written) {
    if (a === null || a.buffer !== g.buffer) continue;
    if (a.byteOffset < g.byteOffset + g.byteLength && g.byteOffset < a.byteOffset + a.byteLength) return g.slice();
  }
  return g;
}

/** A zero-filled state buffer shaped like p (allocated once, at the first step). */
export function zerosLikeParam(p: Tensor): Tensor {
  const data = p.dtype === 'float64' ? new Float64Array(p.numel()) : new Float32Array(p.numel());
  return new Tensor(data, [...p.shape]);
}

/** Rounding after each arithmetic operation: float32 for float32 parameters (so the update is
 *  the sequence of float32 operations torch performs), none for float64. */
export function roundingFor(p: Tensor): (x: number) => number {
  return p.dtype === 'float32' ? Math.fround : identity;
}

function identity(x: number): number {
  return x;
}

export function checkStateTensor(op: string, where: string, entry: ParamState, key: string, p: Tensor): void {
  const v = entry[key];
  if (!(v instanceof Tensor)) throw new Error(`${op}: ${where} has no '${key}' tensor`);
  if (!sameShape(v.shape, p.shape)) throw new Error(`${op}: ${where}.${key} has shape ${fmtShape(v.shape)}, expected ${fmtShape(p.shape)}`);
}

// ---- torch's names ------------------------------------------------------------------------

/** torch's state_dict layout with its snake_case names. */
export interface TorchOptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  param_groups: (Record<string, unknown> & { params: number[] })[];
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
/** Options of torch's that choose an implementation, not the update: nothing to load. */
const TORCH_ONLY = new Set(['foreach', 'capturable', 'differentiable', 'fused']);
/** ferrograd's options that torch has no use for (loading keeps the optimizer's own value). */
const FERROGRAD_ONLY = new Set(['fusedMultiplyAdd']);

function renameKeys(o: Record<string, unknown>, f: (k: string) => string, drop?: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (drop?.has(k) || v === undefined) continue;
    out[f(k)] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

/** A state dict with torch's names (`param_groups`, `weight_decay`, `exp_avg_sq`, ...), ready
 *  for `optimizer.load_state_dict` once its tensors are torch tensors (checked: torch resumes
 *  from it and continues bit for bit). `fusedMultiplyAdd` is left out: torch has no such option. */
export function stateDictToTorch(sd: OptimizerStateDict): TorchOptimizerStateDict {
  const state: TorchOptimizerStateDict['state'] = {};
  for (const [k, v] of Object.entries(sd.state)) state[Number(k)] = renameKeys(v, snake) as Record<string, Tensor | number>;
  return { state, param_groups: sd.paramGroups.map((g) => renameKeys(g, snake, FERROGRAD_ONLY) as TorchOptimizerStateDict['param_groups'][number]) };
}

/** The inverse of `stateDictToTorch`, for a state dict saved by torch (its `foreach`,
 *  `capturable`, `differentiable` and `fused` flags are dropped). */
export function stateDictFromTorch(sd: TorchOptimizerStateDict): OptimizerStateDict {
  if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.param_groups)) {
    throw new TypeError(`stateDictFromTorch: expected torch's { state, param_groups }, got ${describe(sd)}`);
  }
  const state: OptimizerStateDict['state'] = {};
  for (const [k, v] of Object.entries(sd.state ?? {})) state[Number(k)] = renameKeys(v, camel) as ParamState;
  return { state, paramGroups: sd.param_groups.map((g) => renameKeys(g, camel, TORCH_ONLY) as OptimizerStateDict['paramGroups'][number]) };
}
