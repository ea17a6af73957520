// makemore.py's recurrent models: a learned start state, then one cell per position (a vanilla
// tanh RNN cell or a GRU cell) and a linear head over the hidden states.
import { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/creation.js';
import { cat, stack } from '../../ops/join.js';
import { Module, Parameter } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import type { Generator } from '../../random/generator.js';
import type { LanguageModel, ModelConfig } from './types.js';

interface Cell extends Module {
  forward(xt: Tensor, hprev: Tensor): Tensor;
}

/** h_t = tanh(W [x_t, h_{t-1}] + b). */
export class RNNCell extends Module implements Cell {
  xh_to_h: Linear;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.xh_to_h = new Linear(config.nEmbd + config.nEmbd2, config.nEmbd2, { generator });
  }

  forward(xt: Tensor, hprev: Tensor): Tensor {
    return this.xh_to_h.forward(cat([xt, hprev], 1)).tanh();
  }
}

/** r = σ(W_r [x, h]); hbar = tanh(W_hbar [x, r·h]); z = σ(W_z [x, h]); h' = (1 - z)·h + z·hbar. */
export class GRUCell extends Module implements Cell {
  // makemore.py's registration order (z, r, hbar) fixes the state dict and the init draws.
  xh_to_z: Linear;
  xh_to_r: Linear;
  xh_to_hbar: Linear;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    const n = config.nEmbd + config.nEmbd2;
    this.xh_to_z = new Linear(n, config.nEmbd2, { generator });
    this.xh_to_r = new Linear(n, config.nEmbd2, { generator });
    this.xh_to_hbar = new Linear(n, config.nEmbd2, { generator });
  }

  forward(xt: Tensor, hprev: Tensor): Tensor {
    const xh = cat([xt, hprev], 1);
    const r = this.xh_to_r.forward(xh).sigmoid();
    const hbar = this.xh_to_hbar.forward(cat([xt, r.mul(hprev)], 1)).tanh();
    const z = this.xh_to_z.forward(xh).sigmoid();
    return z.rsub(1).mul(hprev).add(z.mul(hbar));
  }
}

export class RNN extends Module implements LanguageModel {
  readonly blockSize: number;
  start: Parameter;
  wte: Embedding;
  cell: Cell;
  lm_head: Linear;

  constructor(config: ModelConfig, generator: Generator, cellType: 'rnn' | 'gru') {
    super();
    this.blockSize = config.blockSize;
    this.start = new Parameter(zeros([1, config.nEmbd2]));
    this.wte = new Embedding(config.vocabSize, config.nEmbd, { generator });
    this.cell = cellType === 'rnn' ? new RNNCell(config, generator) : new GRUCell(config, generator);
    this.lm_head = new Linear(config.nEmbd2, config.vocabSize, { generator });
  }

  contextLength(): number {
    return this.blockSize;
  }

  forward(idx: Tensor): Tensor {
    const [B, T] = idx.shape as [number, number];
    const emb = this.wte.forward(idx);
    let h = this.start.expand([B, this.start.shape[1]]);
    const hiddens: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      h = this.cell.forward(emb.select(1, t), h);
      hiddens.push(h);
    }
    return this.lm_head.forward(stack(hiddens, 1));
  }
}
