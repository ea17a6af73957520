// `--type conv`: part 5's hierarchical network computed the way its closing remark says it should
// be, as dilated causal convolutions over the whole word at once ("convolution is a for loop"):
// kernel 2 with dilations 1, 2, 4 (log2(contextSize) levels) sees the same 8 characters at every
// position as the wavenet does at one, and shares the work between neighbouring positions. Each
// level is Conv1d (no bias, weights drawn as the lecture's Linear: randn/√fan_in) -> BatchNorm1d
// over the word's real positions -> tanh; then the output Linear (scaled by 0.1). Before the start
// token the convolutions see zeros (causal padding) where the wavenet sees more '.' tokens.
import { Tensor } from '../../tensor/tensor.js';
import { randn } from '../../tensor/creation.js';
import { Module, Parameter } from '../../nn/module.js';
import { conv1d } from '../../ops/conv1d.js';
import { ModuleList } from '../../nn/container.js';
import { BatchNorm1d, Embedding, Linear, scaleParameter_ } from '../lecture-layers.js';
import type { Generator } from '../../random/generator.js';
import { checkPowerOfTwo } from './wavenet.js';
import { validPositions, type LanguageModel, type ModelConfig } from './types.js';
import { scatterRows } from './fixed-context.js';

/** One level: a causal convolution with kernel 2 and a dilation, weight [out, in, 2]. */
export class CausalConv extends Module {
  readonly dilation: number;
  weight: Parameter;

  constructor(inChannels: number, outChannels: number, dilation: number, generator: Generator) {
    super();
    this.dilation = dilation;
    // The lecture's Linear(2·in, out) weight [2·in, out] = randn/√(2·in), as [out, in, 2].
    const w = randn([2, inChannels, outChannels], { generator }).div(Math.sqrt(2 * inChannels));
    this.weight = new Parameter(w.permute([2, 1, 0]).contiguous());
  }

  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, null, { dilation: this.dilation, padding: 'causal' });
  }
}

export class ConvNet extends Module implements LanguageModel {
  readonly contextSize: number;
  wte: Embedding;
  convs: ModuleList;
  norms: ModuleList;
  lm_head: Linear;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.contextSize = config.contextSize;
    const levels = checkPowerOfTwo('conv', config.contextSize);
    this.wte = new Embedding(config.vocabSize, config.nEmbd, { generator });
    const convs: Module[] = [];
    const norms: Module[] = [];
    for (let l = 0; l < levels; l++) {
      convs.push(new CausalConv(l === 0 ? config.nEmbd : config.nEmbd2, config.nEmbd2, 2 ** l, generator));
      norms.push(new BatchNorm1d(config.nEmbd2));
    }
    this.convs = new ModuleList(convs);
    this.norms = new ModuleList(norms);
    this.lm_head = new Linear(config.nEmbd2, config.vocabSize, { generator });
    scaleParameter_(this.lm_head.weight, 0.1);
  }

  contextLength(): number {
    return this.contextSize;
  }

  forward(idx: Tensor): Tensor {
    const [B, T] = idx.shape as [number, number];
    const valid = validPositions(idx);
    const keep: number[] = [];
    const rowOf = new Int32Array(B * T);
    for (let i = 0; i < valid.length; i++) rowOf[i] = valid[i] ? keep.push(i) - 1 : -1;
    for (let i = 0; i < rowOf.length; i++) if (rowOf[i] < 0) rowOf[i] = keep.length;
    const keepIdx = new Tensor(Int32Array.from(keep), [keep.length]);
    const layout = { rowOf, batch: B, time: T };
    let x = this.wte.forward(idx); // [B, T, C]
    const norms = [...this.norms] as BatchNorm1d[];
    [...this.convs].forEach((conv, l) => {
      const y = (conv as CausalConv).forward(x.transpose(1, 2)).transpose(1, 2); // [B, T, H]
      const H = y.shape[2];
      // BatchNorm over the real positions only; the padding after the stop token stays at zero
      // and, the convolutions being causal, never reaches a real position.
      const rows = y.reshape([B * T, H]).index(keepIdx);
      x = scatterRows(norms[l].forward(rows).tanh(), layout);
    });
    return this.lm_head.forward(x);
  }
}
