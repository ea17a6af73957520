// What the compile suites share: a small step whose index and target checks can fail on demand,
// and the message of a call that throws.
import { F, Generator, compile, randint, randn, type Tensor } from '../index.js';

/** The message a call throws, or 'no error'. */
export function message(body: () => unknown): string {
  try {
    body();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

/** A step that indexes an embedding table with X and takes cross-entropy against Y, eager (f)
 *  and compiled (c), the compiled one already called three times (recorded twice, replayed once). */
export function indexedStep(): { f: (X: Tensor, Y: Tensor) => number; c: ReturnType<typeof compile<[Tensor, Tensor], number>>; X: Tensor; Y: Tensor } {
  const g = new Generator().manualSeed(6);
  const C = randn([27, 2], { generator: g, requiresGrad: true });
  const W = randn([6, 27], { generator: g, requiresGrad: true });
  const f = (X: Tensor, Y: Tensor) => {
    const loss = F.crossEntropy(C.index(X).view(-1, 6).matmul(W), Y);
    C.grad = null;
    W.grad = null;
    loss.backward();
    return loss.item();
  };
  const c = compile(f);
  const X = randint(0, 27, [4, 3], { generator: g });
  const Y = randint(0, 27, [4], { generator: g });
  for (let i = 0; i < 3; i++) c(X, Y);
  return { f, c, X, Y };
}
