// The makemore MLP training steps that the benchmark times, written with ferrograd's public API the
// way a learner following the lectures would write them.
//
// Part 3 is the model of the peers' np_mlp.py / torch_mlp.py / tfjs_bench.js: embedding 10,
// block 3, hidden 200, W1 without bias, BatchNorm with the batch's unbiased std, tanh, W2 + b2,
// cross-entropy, SGD lr 0.1. One step = sample a minibatch with replacement + forward + backward +
// update + loss.item(). Two differences from np_mlp.py, neither changing the work done per step:
// F.batchNorm divides by sqrt(var + 1e-5) where the lecture divides by std, and its running
// statistics track the variance (momentum 0.001) where the lecture tracks the std.
//
// Part 2 is the lecture's final MLP before BatchNorm: W1 with bias b1, tanh, W2 + b2.
import {
  F, Generator, Tensor, compile, makemore, nn, noGrad, ones, optim, randint, randn, tensor, zeros,
} from '../index.js';

export interface Dataset {
  Xtr: Tensor; // [n, 3] int32
  Ytr: Tensor; // [n] int32
  vocab: number;
  blockSize: number;
}

/** The lectures' training split: seed-42 shuffle of names.txt, first 80%, contexts of 3. */
export function loadDataset(blockSize = 3): Dataset {
  const words = makemore.readWords();
  const vocab = makemore.Vocabulary.fromWords(words);
  const { train } = makemore.splitWords(words);
  const ds = makemore.buildContexts(train, vocab, blockSize);
  return {
    Xtr: tensor(ds.X, { shape: [ds.rows, blockSize] }),
    Ytr: tensor(ds.Y, { shape: [ds.rows] }),
    vocab: vocab.size,
    blockSize,
  };
}

export type Phase = 'sample' | 'forward' | 'backward' | 'update';

export interface TrainStep {
  /** One full training step; returns loss.item(). `mark`, when given, is called at the end of each
   *  phase (sample, forward, backward, update) so that a profiler can time them. */
  step: (mark?: (phase: Phase) => void) => number;
  params: Tensor[];
  /** Matmul FLOPs of one step (forward + the two backward products per layer). */
  flop: number;
}

const N_EMBD = 10;
const N_HIDDEN = 200;
const LR = 0.1;

/** How part 3 normalises: the fused F.batchNorm (the library's way), or the lecture's own lines
 *  (mean, std, subtract, divide) composed from elementary ops. */
export type Mlp3Variant = 'fused' | 'composed';

export function makeMlp3(ds: Dataset, batch: number, variant: Mlp3Variant = 'fused'): TrainStep {
  const { Xtr, Ytr, vocab: V, blockSize } = ds;
  const n = Xtr.shape[0];
  const fanIn = N_EMBD * blockSize;
  const g = new Generator().manualSeed(2147483647);
  const C = randn([V, N_EMBD], { generator: g });
  const W1 = randn([fanIn, N_HIDDEN], { generator: g }).mul((5 / 3) / Math.sqrt(fanIn));
  const W2 = randn([N_HIDDEN, V], { generator: g }).mul(0.01);
  const b2 = randn([V], { generator: g }).mul(0);
  const bngain = ones([1, N_HIDDEN]);
  const bnbias = zeros([1, N_HIDDEN]);
  let bnmeanRunning = zeros([1, N_HIDDEN]);
  let bnstdRunning = ones([1, N_HIDDEN]);
  const bnvarRunning = ones([1, N_HIDDEN]);
  const params = [C, W1, W2, b2, bngain, bnbias];
  for (const p of params) p.requiresGrad = true;

  const step = (mark?: (phase: Phase) => void): number => {
    const ix = randint(0, n, [batch], { generator: g });
    const Xb = Xtr.index(ix);
    const Yb = Ytr.index(ix);
    mark?.('sample');
    const emb = C.index(Xb);
    const embcat = emb.view(emb.shape[0], -1);
    const hpreact = embcat.matmul(W1);
    let hbn: Tensor;
    if (variant === 'fused') {
      hbn = F.batchNorm(hpreact, {
        weight: bngain, bias: bnbias, runningMean: bnmeanRunning, runningVar: bnvarRunning, momentum: 0.001, correction: 1,
      });
    } else {
      const bnmeani = hpreact.mean(0, true);
      const bnstdi = hpreact.std(0, { keepdim: true });
      hbn = bngain.mul(hpreact.sub(bnmeani)).div(bnstdi).add(bnbias);
      noGrad(() => {
        bnmeanRunning = bnmeanRunning.mul(0.999).add(bnmeani.mul(0.001));
        bnstdRunning = bnstdRunning.mul(0.999).add(bnstdi.mul(0.001));
      });
    }
    const h = hbn.tanh();
    const logits = h.matmul(W2).add(b2);
    const loss = F.crossEntropy(logits, Yb);
    mark?.('forward');
    for (const p of params) p.grad = null;
    loss.backward();
    mark?.('backward');
    noGrad(() => {
      for (const p of params) p.sub_(p.grad!, LR);
    });
    const value = loss.item();
    mark?.('update');
    return value;
  };
  return { step, params, flop: 3 * 2 * batch * (fanIn * N_HIDDEN + N_HIDDEN * V) };
}

/**
 * The part 3 MLP as a library user writes it: nn.Sequential(Embedding, Flatten, Linear(no bias),
 * BatchNorm1d(momentum 0.001), Tanh, Linear) and optim.SGD(lr 0.1), stepped with
 * `optimizer.zeroGrad(); loss.backward(); optimizer.step()`. The same work per step as makeMlp3
 * (nn's BatchNorm1d normalises with the biased variance, as torch's, where makeMlp3 uses the
 * unbiased one: the same kernel). Starts from makeMlp3's weights (W1 transposed into nn's
 * [out, in] layout) and draws the same minibatches, so the losses can be compared.
 */
/** The row label of makeMlp3Nn in the bench table. */
export const NN_IMPL = 'ferrograd, nn modules + optim.SGD';

export function makeMlp3Nn(ds: Dataset, batch: number): TrainStep {
  const { Xtr, Ytr, vocab: V, blockSize } = ds;
  const n = Xtr.shape[0];
  const fanIn = N_EMBD * blockSize;
  const g = new Generator().manualSeed(2147483647);
  const C = randn([V, N_EMBD], { generator: g });
  const W1 = randn([fanIn, N_HIDDEN], { generator: g }).mul((5 / 3) / Math.sqrt(fanIn));
  const W2 = randn([N_HIDDEN, V], { generator: g }).mul(0.01);
  const b2 = randn([V], { generator: g }).mul(0);
  const emb = new nn.Embedding(V, N_EMBD);
  const fc1 = new nn.Linear(fanIn, N_HIDDEN, { bias: false });
  const fc2 = new nn.Linear(N_HIDDEN, V);
  noGrad(() => {
    emb.weight.copy_(C);
    fc1.weight.copy_(W1.transpose(0, 1));
    fc2.weight.copy_(W2.transpose(0, 1));
    fc2.bias!.copy_(b2);
  });
  const model = new nn.Sequential(emb, new nn.Flatten(), fc1, new nn.BatchNorm1d(N_HIDDEN, { momentum: 0.001 }), new nn.Tanh(), fc2);
  const params = model.parameters();
  const optimizer = new optim.SGD(params, { lr: LR });

  const step = (mark?: (phase: Phase) => void): number => {
    const ix = randint(0, n, [batch], { generator: g });
    const Xb = Xtr.index(ix);
    const Yb = Ytr.index(ix);
    mark?.('sample');
    const loss = F.crossEntropy(model.forward(Xb), Yb);
    mark?.('forward');
    optimizer.zeroGrad();
    loss.backward();
    mark?.('backward');
    optimizer.step();
    const value = loss.item();
    mark?.('update');
    return value;
  };
  return { step, params, flop: 3 * 2 * batch * (fanIn * N_HIDDEN + N_HIDDEN * V) };
}

export function makeMlp2(ds: Dataset, batch: number): TrainStep {
  const { Xtr, Ytr, vocab: V, blockSize } = ds;
  const n = Xtr.shape[0];
  const fanIn = N_EMBD * blockSize;
  const g = new Generator().manualSeed(2147483647);
  const C = randn([V, N_EMBD], { generator: g });
  const W1 = randn([fanIn, N_HIDDEN], { generator: g });
  const b1 = randn([N_HIDDEN], { generator: g });
  const W2 = randn([N_HIDDEN, V], { generator: g });
  const b2 = randn([V], { generator: g });
  const params = [C, W1, b1, W2, b2];
  for (const p of params) p.requiresGrad = true;

  const step = (mark?: (phase: Phase) => void): number => {
    const ix = randint(0, n, [batch], { generator: g });
    const Xb = Xtr.index(ix);
    const Yb = Ytr.index(ix);
    mark?.('sample');
    const emb = C.index(Xb);
    const h = emb.view(-1, fanIn).matmul(W1).add(b1).tanh();
    const logits = h.matmul(W2).add(b2);
    const loss = F.crossEntropy(logits, Yb);
    mark?.('forward');
    for (const p of params) p.grad = null;
    loss.backward();
    mark?.('backward');
    noGrad(() => {
      for (const p of params) p.sub_(p.grad!, LR);
    });
    const value = loss.item();
    mark?.('update');
    return value;
  };
  return { step, params, flop: 3 * 2 * batch * (fanIn * N_HIDDEN + N_HIDDEN * V) };
}

/** The row label of a step run through compile() (defined beside the table that compares it). */
export { COMPILED as COMPILED_IMPL } from './results.js';

/** The same step through compile(): recorded on the first calls, replayed after (no phase marks). */
export function compiledStep(t: TrainStep): TrainStep {
  const c = compile(() => t.step());
  return { ...t, step: () => c() };
}
