// Memory of a compiled makemore transformer step (the command's defaults: 4 layers, 64 channels,
// AdamW, batch 32) over batch lengths 4..16, one tape each: the bytes of the intermediates that
// share memory, laid out one by one and in the shared arena, and what stays allocated after a
// collection, with and without buffer sharing.
//   node --expose-gc --import tsx bench/compile-sharing.ts [--no-share]
import { Generator, compile, optim, randint, type Tensor } from '../index.js';
import { createModel } from '../src/makemore/models/index.js';
import { crossEntropy } from '../src/ops/cross-entropy.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (node --expose-gc --import tsx bench/compile-sharing.ts)');
const shareBuffers = !process.argv.includes('--no-share');
const V = 27;
const g = new Generator().manualSeed(1);
const model = createModel('transformer', { vocabSize: V, blockSize: 16, nLayer: 4, nEmbd: 64, nEmbd2: 64, nHead: 4, contextSize: 0, dropout: 0 }, g);
const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
const step = (x: Tensor, y: Tensor): number => {
  const loss = crossEntropy(model.forward(x).reshape([y.shape[0], V]), y, { ignoreIndex: -1 });
  model.zeroGrad();
  loss.backward();
  opt.step();
  return loss.item();
};
const c = compile(step, { shareBuffers });
let separate = 0;
let arena = 0;
for (let T = 4; T <= 16; T++) {
  for (let i = 0; i < 4; i++) c(randint(0, V, [32, T], { generator: g }), randint(0, V, [32 * T], { generator: g }));
  separate += c.info.separateBytes;
  arena = Math.max(arena, c.info.arenaBytes);
}
// A few collections with turns of the event loop between them (finalizers run in between).
for (let i = 0; i < 3; i++) {
  gc();
  await new Promise((r) => setImmediate(r));
}
const m = process.memoryUsage();
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
console.log(
  `shareBuffers ${shareBuffers}: ${c.info.compiledShapes} tapes; shared intermediates ${mb(separate)} one by one, in one arena of ${mb(arena)}; ` +
    `after gc: arrayBuffers ${mb(m.arrayBuffers)}, rss ${mb(m.rss)}`,
);
