// The layers the makemore notebooks write for themselves (part 3's "PyTorchifying" cell and part
// 5's layer library), exported as `makemore.lecture`: Linear, BatchNorm1d, Tanh, Embedding,
// FlattenConsecutive and Sequential, each a small nn.Module, so parameters(), namedParameters(),
// stateDict(), train() and eval() work on them as on any module.
//
// Why they are separate from `nn`: they differ from torch.nn on purpose, and each difference
// changes the numbers. The lecture's Linear keeps its weight as [in, out] (`x @ W`) and draws it
// as `randn(generator=g) / sqrt(fan_in)`, where nn.Linear holds [out, in] drawn from torch's
// kaiming-uniform; its BatchNorm1d normalises with the unbiased batch variance `x.var(0)` and
// names its parameters gamma/beta, where nn.BatchNorm1d uses the biased variance, weight/bias,
// and channels-first 3-D input. Options on the nn modules for all of this would make nn's
// checkpoints stop meaning what torch's do; these classes reproduce the notebooks' seeded numbers
// exactly (part 3's deep net: step-0 loss 3.2870, train/val 2.4003/2.3982 after 1001 steps).
//
// Every layer keeps its last output in `out` (the notebook's `self.out`), which the diagnostics
// read; call `layer.out.retainGrad()` before backward() to get the gradient flowing through it.
import { Tensor } from '../tensor/tensor.js';
import { ones, randn, zeros } from '../tensor/creation.js';
import { batchNorm } from '../ops/batchnorm.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { fmtShape } from '../tensor/shape.js';
import { Module, Parameter } from '../nn/module.js';
import { Sequential as NnSequential } from '../nn/container.js';

export interface LectureInitOptions {
  /** Draws the weights (the notebook's `generator=g`; part 5 uses the global generator). Default: the global generator. */
  generator?: Generator;
}

function checkSize(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${op}: ${name} must be an integer >= 1, got ${String(v)}`);
  return v as number;
}

function checkGenerator(op: string, g: unknown): Generator {
  if (g === undefined) return defaultGenerator;
  if (!(g instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator (e.g. new Generator().manualSeed(2147483647))`);
  return g;
}

function checkInput(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor input, got ${x === null ? 'null' : typeof x}`);
}

export interface LinearOptions extends LectureInitOptions {
  /** Add a bias (zeros). Default true; the BatchNorm networks use bias: false. */
  bias?: boolean;
}

/** `x @ W + b` with W [fanIn, fanOut] = randn / sqrt(fanIn) ("kaiming init" without the gain) and b = 0. */
export class Linear extends Module {
  readonly fanIn: number;
  readonly fanOut: number;
  weight: Parameter;
  bias: Parameter | null;
  /** The last output (`self.out`). */
  out: Tensor | null = null;

  constructor(fanIn: number, fanOut: number, options: LinearOptions = {}) {
    super();
    const op = 'lecture.Linear';
    this.fanIn = checkSize(op, 'fanIn', fanIn);
    this.fanOut = checkSize(op, 'fanOut', fanOut);
    const generator = checkGenerator(op, options.generator);
    // torch.randn(...) / fan_in**0.5: one float32 division by the float32 of the double sqrt.
    this.weight = new Parameter(randn([fanIn, fanOut], { generator }).div(Math.sqrt(fanIn)));
    this.bias = (options.bias ?? true) ? new Parameter(zeros([fanOut])) : null;
  }

  forward(x: Tensor): Tensor {
    const op = 'lecture.Linear';
    checkInput(op, x);
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.fanIn) {
      throw new RangeError(`${op}: input has ${x.shape[x.ndim - 1] ?? 0} features but the layer expects ${this.fanIn} (input ${fmtShape(x.shape)}, weight ${fmtShape(this.weight.shape)})`);
    }
    const y = x.matmul(this.weight);
    this.out = this.bias === null ? y : y.add(this.bias);
    return this.out;
  }

  override extraRepr(): string {
    return `fan_in=${this.fanIn}, fan_out=${this.fanOut}, bias=${this.bias === null ? 'False' : 'True'}`;
  }
}

export interface BatchNorm1dOptions {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** running = (1 - momentum)·running + momentum·batch. Default 0.1. */
  momentum?: number;
}

/**
 * The notebook's BatchNorm1d: in training, `xhat = (x - x.mean(0)) / sqrt(x.var(0) + eps)` with the
 * UNBIASED batch variance, `out = gamma * xhat + beta`, and the running buffers move towards the
 * batch statistics (under noGrad); in eval mode the running statistics normalise. Channels are
 * last: [N, C] is normalised over dim 0, [N, T, C] over dims (0, 1) (part 5's "fix bug in
 * batchnorm"). Computed by the fused F.batchNorm with correction 1, which gives the notebook's
 * numbers bit for bit.
 */
export class BatchNorm1d extends Module {
  readonly dim: number;
  readonly eps: number;
  readonly momentum: number;
  gamma: Parameter;
  beta: Parameter;
  declare runningMean: Tensor;
  declare runningVar: Tensor;
  out: Tensor | null = null;

  constructor(dim: number, options: BatchNorm1dOptions = {}) {
    super();
    const op = 'lecture.BatchNorm1d';
    this.dim = checkSize(op, 'dim', dim);
    const { eps = 1e-5, momentum = 0.1 } = options;
    if (!(typeof eps === 'number' && eps > 0 && Number.isFinite(eps))) throw new RangeError(`${op}: eps must be a finite number > 0, got ${String(eps)}`);
    if (!(typeof momentum === 'number' && momentum >= 0 && momentum <= 1)) throw new RangeError(`${op}: momentum must be in [0, 1], got ${String(momentum)}`);
    this.eps = eps;
    this.momentum = momentum;
    this.gamma = new Parameter(ones([dim]));
    this.beta = new Parameter(zeros([dim]));
    this.registerBuffer('runningMean', zeros([dim]));
    this.registerBuffer('runningVar', ones([dim]));
  }

  forward(x: Tensor): Tensor {
    const op = 'lecture.BatchNorm1d';
    checkInput(op, x);
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[x.ndim - 1] !== this.dim) {
      throw new RangeError(`${op}: expected input [N, ${this.dim}] or [N, T, ${this.dim}] (channels last), got ${fmtShape(x.shape)}`);
    }
    this.out = batchNorm(x, {
      weight: this.gamma,
      bias: this.beta,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      correction: 1,
    });
    return this.out;
  }

  override extraRepr(): string {
    return `${this.dim}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/** tanh, keeping its output. */
export class Tanh extends Module {
  out: Tensor | null = null;

  forward(x: Tensor): Tensor {
    checkInput('lecture.Tanh', x);
    this.out = x.tanh();
    return this.out;
  }
}

/** A lookup table weight [num, dim] = randn; `forward(IX)` is `weight[IX]`. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  weight: Parameter;
  out: Tensor | null = null;

  constructor(numEmbeddings: number, embeddingDim: number, options: LectureInitOptions = {}) {
    super();
    const op = 'lecture.Embedding';
    this.numEmbeddings = checkSize(op, 'numEmbeddings', numEmbeddings);
    this.embeddingDim = checkSize(op, 'embeddingDim', embeddingDim);
    this.weight = new Parameter(randn([numEmbeddings, embeddingDim], { generator: checkGenerator(op, options.generator) }));
  }

  forward(ix: Tensor): Tensor {
    const op = 'lecture.Embedding';
    checkInput(op, ix);
    if (ix.dtype !== 'int32') throw new TypeError(`${op}: indices must be an int32 tensor, got dtype ${ix.dtype}`);
    const d = ix.contiguous().flat();
    for (let i = 0; i < d.length; i++) {
      if (d[i]! < 0 || d[i]! >= this.numEmbeddings) {
        throw new RangeError(`${op}: index ${d[i]} at position ${i} is out of range for ${this.numEmbeddings} embeddings (input ${fmtShape(ix.shape)})`);
      }
    }
    this.out = this.weight.index(ix);
    return this.out;
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}

/** Part 5's FlattenConsecutive(n): [B, T, C] -> [B, T/n, C·n], squeezed to [B, C·n] when T/n = 1. */
export class FlattenConsecutive extends Module {
  readonly n: number;
  out: Tensor | null = null;

  constructor(n: number) {
    super();
    this.n = checkSize('lecture.FlattenConsecutive', 'n', n);
  }

  forward(x: Tensor): Tensor {
    const op = 'lecture.FlattenConsecutive';
    checkInput(op, x);
    if (x.ndim !== 3) throw new RangeError(`${op}: expected input [B, T, C], got ${fmtShape(x.shape)}`);
    const [B, T, C] = x.shape as [number, number, number];
    if (T % this.n !== 0) throw new RangeError(`${op}: T = ${T} (input ${fmtShape(x.shape)}) is not divisible by n = ${this.n}`);
    const groups = T / this.n;
    const y = x.reshape([B, groups, C * this.n]);
    this.out = groups === 1 ? y.squeeze(1) : y;
    return this.out;
  }

  override extraRepr(): string {
    return `${this.n}`;
  }
}

/** Part 5's Sequential(layers): runs the layers in order (children '0', '1', ... as nn.Sequential). */
export class Sequential extends NnSequential {
  out: Tensor | null = null;

  constructor(layers: readonly Module[]) {
    if (!Array.isArray(layers)) throw new TypeError('lecture.Sequential: expected an array of layers, as Sequential([...]) in the notebook');
    super(...layers);
  }

  /** The layers in order (the notebook's `model.layers`). */
  get layers(): Module[] {
    return [...this];
  }

  override forward(x: Tensor): Tensor {
    this.out = super.forward(x);
    return this.out;
  }
}

/** `layer.out.retainGrad()` for every layer that has an output (the notebook's debugging step before backward). */
export function retainOutputGrads(layers: Iterable<Module>): void {
  for (const layer of layers) {
    const out = (layer as { out?: unknown }).out;
    if (out instanceof Tensor && out.requiresGrad) out.retainGrad();
  }
}

/** Multiply a parameter in place without recording it (`with torch.no_grad(): layer.gamma *= 0.1`). */
export function scaleParameter_(p: Tensor, factor: number): void {
  noGrad(() => p.mul_(factor));
}
