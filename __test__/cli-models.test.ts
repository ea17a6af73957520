// The makemore command's models: makemore.py's six with its parameter counts and state-dict
// entries on names (from ../shared/reference/makemore-py.md, read from makemore.py with PyTorch),
// the lectures' three with their notebooks' counts, and every type learning on a tiny batch.
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor/tensor.js';
import { Generator } from '../src/random/generator.js';
import { crossEntropy } from '../src/ops/cross-entropy.js';
import { AdamW } from '../src/optim/adam.js';
import { SGD } from '../src/optim/sgd.js';
import { createModel, defaultSizes, isLectureType, MODEL_TYPES, type ModelType } from '../src/makemore/models/index.js';

function config(type: ModelType, vocabSize = 27, blockSize = 16) {
  const s = defaultSizes(type);
  return { vocabSize, blockSize, nLayer: 4, nEmbd: s.nEmbd, nEmbd2: s.nEmbd2, nHead: 4, contextSize: s.contextSize };
}

// makemore.py's models on names (vocab 27, block 16, n_layer 4, n_embd 64, n_embd2 64, n_head 4).
const MAKEMORE_PY: Record<string, { params: number; entries: [string, number[]][] }> = {
  bigram: { params: 729, entries: [['logits', [27, 27]]] },
  mlp: { params: 69147, entries: [['wte.weight', [28, 64]], ['mlp.0.weight', [64, 1024]], ['mlp.0.bias', [64]], ['mlp.2.weight', [27, 64]], ['mlp.2.bias', [27]]] },
  rnn: {
    params: 11803,
    entries: [['start', [1, 64]], ['wte.weight', [27, 64]], ['cell.xh_to_h.weight', [64, 128]], ['cell.xh_to_h.bias', [64]], ['lm_head.weight', [27, 64]], ['lm_head.bias', [27]]],
  },
  gru: {
    params: 28315,
    entries: [
      ['start', [1, 64]], ['wte.weight', [27, 64]],
      ['cell.xh_to_z.weight', [64, 128]], ['cell.xh_to_z.bias', [64]],
      ['cell.xh_to_r.weight', [64, 128]], ['cell.xh_to_r.bias', [64]],
      ['cell.xh_to_hbar.weight', [64, 128]], ['cell.xh_to_hbar.bias', [64]],
      ['lm_head.weight', [27, 64]], ['lm_head.bias', [27]],
    ],
  },
  bow: {
    params: 12827,
    entries: [
      ['wte.weight', [27, 64]], ['wpe.weight', [16, 64]], ['context_block.cbow.bias', [1, 16, 16]],
      ['context_block.mlp.c_fc.weight', [64, 64]], ['context_block.mlp.c_fc.bias', [64]],
      ['context_block.mlp.c_proj.weight', [64, 64]], ['context_block.mlp.c_proj.bias', [64]],
      ['lm_head.weight', [27, 64]], ['lm_head.bias', [27]],
    ],
  },
  transformer: {
    params: 204544,
    entries: [
      ['transformer.wte.weight', [27, 64]], ['transformer.wpe.weight', [16, 64]],
      ...[0, 1, 2, 3].flatMap((i): [string, number[]][] => [
        [`transformer.h.${i}.ln_1.weight`, [64]], [`transformer.h.${i}.ln_1.bias`, [64]],
        [`transformer.h.${i}.attn.bias`, [1, 1, 16, 16]],
        [`transformer.h.${i}.attn.c_attn.weight`, [192, 64]], [`transformer.h.${i}.attn.c_attn.bias`, [192]],
        [`transformer.h.${i}.attn.c_proj.weight`, [64, 64]], [`transformer.h.${i}.attn.c_proj.bias`, [64]],
        [`transformer.h.${i}.ln_2.weight`, [64]], [`transformer.h.${i}.ln_2.bias`, [64]],
        [`transformer.h.${i}.mlp.c_fc.weight`, [256, 64]], [`transformer.h.${i}.mlp.c_fc.bias`, [256]],
        [`transformer.h.${i}.mlp.c_proj.weight`, [64, 256]], [`transformer.h.${i}.mlp.c_proj.bias`, [64]],
      ]),
      ['transformer.ln_f.weight', [64]], ['transformer.ln_f.bias', [64]], ['lm_head.weight', [27, 64]],
    ],
  },
};

describe("makemore.py's models", () => {
  for (const [type, want] of Object.entries(MAKEMORE_PY)) {
    it(`${type}: ${want.params} parameters and makemore.py's state-dict keys, order and shapes`, () => {
      const model = createModel(type as ModelType, config(type as ModelType), new Generator().manualSeed(3407));
      expect(model.numParameters()).toBe(want.params);
      const sd = model.stateDict();
      expect(Object.entries(sd).map(([k, v]) => [k, v.shape])).toEqual(want.entries);
      for (const v of Object.values(sd)) expect(v.dtype).toBe('float32');
    });
  }

  it('the causal-mask buffers are lower-triangular ones, as torch.tril(torch.ones(...))', () => {
    const sd = createModel('transformer', config('transformer'), new Generator().manualSeed(1)).stateDict();
    const m = sd['transformer.h.2.attn.bias'].contiguous().flat();
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) expect(m[i * 16 + j]).toBe(j <= i ? 1 : 0);
  });

  it('the transformer is causal: changing a later token leaves the earlier logits unchanged', () => {
    const model = createModel('transformer', config('transformer'), new Generator().manualSeed(5));
    const a = new Int32Array([0, 3, 4, 5, 6, 7]);
    const b = new Int32Array([0, 3, 4, 9, 9, 9]);
    const la = model.forward(new Tensor(a, [1, 6])).contiguous().flat();
    const lb = model.forward(new Tensor(b, [1, 6])).contiguous().flat();
    expect(Array.from(la.slice(0, 3 * 27))).toEqual(Array.from(lb.slice(0, 3 * 27)));
    expect(Array.from(la.slice(3 * 27, 4 * 27))).not.toEqual(Array.from(lb.slice(3 * 27, 4 * 27)));
  });

  it("the mlp reads makemore.py's <BLANK> token (id = vocab size) before the start", () => {
    const model = createModel('mlp', config('mlp', 5, 4), new Generator().manualSeed(2));
    // Position 0 of any sequence sees [token0, BLANK, BLANK, BLANK]; so two sequences that share
    // their first token share the logits at position 0, whatever follows.
    const l1 = model.forward(new Tensor(new Int32Array([0, 1, 2, 3]), [1, 4])).contiguous().flat();
    const l2 = model.forward(new Tensor(new Int32Array([0, 4, 4, 4]), [1, 4])).contiguous().flat();
    expect(Array.from(l1.slice(0, 5))).toEqual(Array.from(l2.slice(0, 5)));
  });

  it('n_embd not divisible by n_head is refused with a message that names both', () => {
    expect(() => createModel('transformer', { ...config('transformer'), nEmbd: 30 }, new Generator())).toThrow('transformer: --n-embd 30 is not divisible by --n-head 4');
  });
});

describe("the lectures' models", () => {
  it("mlp-bn has part 3's 12,097 parameters, wavenet part 5's 76,579, conv the same as wavenet", () => {
    expect(createModel('mlp-bn', config('mlp-bn'), new Generator()).numParameters()).toBe(12097);
    expect(createModel('wavenet', config('wavenet'), new Generator()).numParameters()).toBe(76579);
    expect(createModel('conv', config('conv'), new Generator()).numParameters()).toBe(76579);
  });

  it('wavenet and conv need a power-of-two context', () => {
    expect(() => createModel('wavenet', { ...config('wavenet'), contextSize: 6 }, new Generator())).toThrow('--block-size must be a power of two');
  });
});

/** A fixed batch of 8 words as makemore.py rows: x = [0, w..., 0], y = [w..., 0, -1...]. */
function batch(): { x: Tensor; y: Tensor; B: number; T: number } {
  const words = [[1, 2, 3], [4, 1], [2, 2, 5, 1], [3], [5, 4, 3, 2, 1], [1, 1], [2, 3, 4], [6, 1, 6]];
  const T = 6;
  const x = new Int32Array(words.length * T);
  const y = new Int32Array(words.length * T).fill(-1);
  words.forEach((w, r) => {
    w.forEach((c, i) => {
      x[r * T + 1 + i] = c;
      y[r * T + i] = c;
    });
    y[r * T + w.length] = 0;
  });
  return { x: new Tensor(x, [words.length, T]), y: new Tensor(y, [words.length * T]), B: words.length, T };
}

describe('every model type learns', () => {
  for (const type of MODEL_TYPES) {
    it(`${type}: 30 steps on a fixed batch lower the loss`, () => {
      const s = defaultSizes(type);
      const cfg = { vocabSize: 7, blockSize: 6, nLayer: 2, nEmbd: type === 'transformer' ? 16 : Math.min(s.nEmbd, 16), nEmbd2: 32, nHead: 2, contextSize: type === 'mlp-bn' ? 3 : 4 };
      const model = createModel(type, cfg, new Generator().manualSeed(42));
      const opt = isLectureType(type) ? new SGD(model.parameters(), { lr: 0.1 }) : new AdamW(model.parameters(), { lr: type === 'bigram' ? 0.1 : 1e-2 });
      const { x, y, B, T } = batch();
      const lossOf = () => crossEntropy(model.forward(x).reshape([B * T, 7]), y, { ignoreIndex: -1 });
      const first = lossOf().item();
      for (let i = 0; i < 30; i++) {
        const loss = lossOf();
        model.zeroGrad();
        loss.backward();
        opt.step();
      }
      const last = lossOf().item();
      expect(Number.isFinite(last)).toBe(true);
      expect(last).toBeLessThan(first - 0.3);
    });
  }
});

