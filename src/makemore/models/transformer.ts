// makemore.py's Transformer (GPT-2 as in minGPT, without dropout): token + position embeddings,
// nLayer pre-LayerNorm blocks (causal multi-head self-attention with one fused q/k/v projection,
// then a 4x MLP with the tanh-approximated GELU), a final LayerNorm and a bias-free lm_head.
// Property names are makemore.py's module names, so the state dict keys are the same.
import { Tensor } from '../../tensor/tensor.js';
import { arange } from '../../tensor/creation.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { LayerNorm } from '../../nn/layernorm.js';
import { ModuleList } from '../../nn/container.js';
import { Dropout } from '../../nn/dropout.js';
import type { Generator } from '../../random/generator.js';
import { additiveCausalMask, trilOnes } from './causal-mask.js';
import type { LanguageModel, ModelConfig } from './types.js';

export class CausalSelfAttention extends Module {
  readonly nHead: number;
  readonly nEmbd: number;
  declare bias: Tensor;
  c_attn: Linear;
  c_proj: Linear;
  private masks = new Map<number, Tensor>();

  constructor(config: ModelConfig, generator: Generator) {
    super();
    if (config.nEmbd % config.nHead !== 0) {
      throw new Error(`transformer: --n-embd ${config.nEmbd} is not divisible by --n-head ${config.nHead}`);
    }
    this.nHead = config.nHead;
    this.nEmbd = config.nEmbd;
    // makemore.py registers the mask buffer before it creates c_attn/c_proj: the state dict
    // lists attn.bias first (own buffers come before children in both).
    this.registerBuffer('bias', trilOnes(config.blockSize, [1, 1]));
    this.c_attn = new Linear(config.nEmbd, 3 * config.nEmbd, { generator });
    this.c_proj = new Linear(config.nEmbd, config.nEmbd, { generator });
  }

  /** 0 on and below the diagonal, -inf above: added to the scores it is makemore.py's
   *  masked_fill(bias == 0, -inf), as one native add instead of a selection. */
  private mask(T: number): Tensor {
    let m = this.masks.get(T);
    if (!m) this.masks.set(T, (m = additiveCausalMask(T)));
    return m;
  }

  forward(x: Tensor): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const hs = C / this.nHead;
    const qkv = this.c_attn.forward(x);
    const heads = (i: number) => qkv.narrow(2, i * C, C).reshape([B, T, this.nHead, hs]).transpose(1, 2);
    const q = heads(0);
    const k = heads(1);
    const v = heads(2);
    const att = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(hs)).add(this.mask(T)).softmax(-1);
    const y = att.matmul(v).transpose(1, 2).contiguous().view([B, T, C]);
    return this.c_proj.forward(y);
  }
}

/** makemore.py's NewGELU, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), composed of elementwise
 *  ops as makemore.py writes it: the same function as nn.GELU({ approximate: 'tanh' }) (within
 *  float32 rounding, 5e-7) and, as whole-tensor vectorised ops, about 8 times faster than F.gelu's
 *  kernel, which evaluates every element in float64 (0.7 vs 5.8 ms of CPU forward+backward on
 *  [512, 256], load ~5). */
export class NewGELU extends Module {
  forward(x: Tensor): Tensor {
    const inner = x.pow(3).mul(0.044715).add(x).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
}

/** makemore.py's ModuleDict(c_fc, c_proj, act). */
class BlockMlp extends Module {
  c_fc: Linear;
  c_proj: Linear;
  act: NewGELU;
  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.c_fc = new Linear(config.nEmbd, 4 * config.nEmbd, { generator });
    this.c_proj = new Linear(4 * config.nEmbd, config.nEmbd, { generator });
    this.act = new NewGELU();
  }
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(this.act.forward(this.c_fc.forward(x)));
  }
}

export class Block extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: BlockMlp;
  drop: Dropout | null;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.ln_1 = new LayerNorm(config.nEmbd);
    this.attn = new CausalSelfAttention(config, generator);
    this.ln_2 = new LayerNorm(config.nEmbd);
    this.mlp = new BlockMlp(config, generator);
    this.drop = config.dropout ? new Dropout(config.dropout, { generator }) : null;
  }

  forward(x: Tensor): Tensor {
    const d = (t: Tensor) => (this.drop ? this.drop.forward(t) : t);
    const y = x.add(d(this.attn.forward(this.ln_1.forward(x))));
    return y.add(d(this.mlp.forward(this.ln_2.forward(y))));
  }
}

/** makemore.py's ModuleDict(wte, wpe, h, ln_f). */
class GptBody extends Module {
  wte: Embedding;
  wpe: Embedding;
  h: ModuleList;
  ln_f: LayerNorm;
  drop: Dropout | null;
  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.wte = new Embedding(config.vocabSize, config.nEmbd, { generator });
    this.wpe = new Embedding(config.blockSize, config.nEmbd, { generator });
    this.h = new ModuleList(Array.from({ length: config.nLayer }, () => new Block(config, generator)));
    this.ln_f = new LayerNorm(config.nEmbd);
    this.drop = config.dropout ? new Dropout(config.dropout, { generator }) : null;
  }
  forward(): never {
    throw new Error('transformer: the body is run by Transformer.forward');
  }
}

export class Transformer extends Module implements LanguageModel {
  readonly blockSize: number;
  transformer: GptBody;
  lm_head: Linear;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.blockSize = config.blockSize;
    this.transformer = new GptBody(config, generator);
    this.lm_head = new Linear(config.nEmbd, config.vocabSize, { bias: false, generator });
  }

  contextLength(): number {
    return this.blockSize;
  }

  forward(idx: Tensor): Tensor {
    const T = idx.shape[1];
    if (T > this.blockSize) throw new Error(`transformer: cannot forward a sequence of length ${T}, the block size is only ${this.blockSize}`);
    const body = this.transformer;
    let x = body.wte.forward(idx).add(body.wpe.forward(arange(0, T, 1, { dtype: 'int32' })));
    if (body.drop) x = body.drop.forward(x);
    for (const block of body.h) x = (block as Block).forward(x);
    return this.lm_head.forward(body.ln_f.forward(x));
  }
}
