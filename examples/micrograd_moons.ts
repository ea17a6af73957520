// micrograd's demo.ipynb: a 2-16-16-1 MLP learns make_moons with SGD, printing the notebook's
// trajectory, then draws its decision boundary to out/micrograd/moons.svg/.png.
//   npx tsx examples/micrograd_moons.ts
import { micrograd } from 'ferrograd';

const { MLP, pyFloat, trainMoons, writeDecisionBoundary } = micrograd;

async function main(): Promise<void> {
  console.log(String(new MLP(2, [16, 16, 1], { seed: 1337 })));
  const t0 = performance.now();
  const { model, X, y, history } = trainMoons({
    onStep: (s) => console.log(`step ${s.step} loss ${pyFloat(s.loss)}, accuracy ${(s.accuracy * 100).toFixed(1)}%`),
  });
  const ms = performance.now() - t0;
  console.log(`number of parameters ${model.parameters().length}`);
  console.log(`100 steps in ${(ms / 1000).toFixed(3)} s; final loss ${pyFloat(history.at(-1)!.loss)}, accuracy ${history.at(-1)!.accuracy * 100}%`);
  const out = await writeDecisionBoundary(model, X, y, 'out/micrograd/moons');
  console.log(`decision boundary: ${out.svg}, ${out.png}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
