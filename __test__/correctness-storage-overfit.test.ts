// The two things makemore part 2 teaches beside the model: views share one 1-D storage
// (Tensor.storage(), printed as PyTorch prints a storage), and a network with more parameters than
// examples overfits one batch. PyTorch's printout and its losses for the same seeded run are in
// __test__/fixtures/torch_edges.json (scripts/fixtures/torch_edges.py).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { arange, makemore, tensor, zeros } from '../index.js';
import { overfitOneBatch, type OverfitResult } from '../examples/makemore_part2.js';

interface Fixture {
  storage: { values: (number | string)[]; float32: string; int32: string; int32ViewsShareStorage: boolean; float32Bytes: number };
  overfit: {
    words: string[]; examples: number; parameters: number; steps: number;
    lossAtStep: Record<string, number>; finalLoss: number; argmax: number[]; targets: number[];
  };
}
const FX = JSON.parse(readFileSync(new URL('./fixtures/torch_edges.json', import.meta.url), 'utf8')) as Fixture;
const dec = (v: number | string): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : (v as number));
/** PyTorch's info line names torch's class and dtype; ferrograd's names its own. */
const ferrogradInfo = (torchText: string): string =>
  torchText.replace(/\[torch\.storage\.TypedStorage\(dtype=torch\.(\w+), device=cpu\)/, '[ferrograd.TypedStorage(dtype=$1, device=cpu)');

describe('Tensor.storage()', () => {
  it('prints as PyTorch prints a float32 storage (Python reprs, one per line)', () => {
    const t = tensor(FX.storage.values.map(dec));
    expect(t.storage().toString()).toBe(ferrogradInfo(FX.storage.float32));
    expect(t.untypedStorage().nbytes()).toBe(FX.storage.float32Bytes);
  });

  it("the lecture's arange(18): every view shows the same 18-element storage", () => {
    const a = arange(18);
    expect(a.dtype).toBe('int32');
    expect(a.storage().toString()).toBe(ferrogradInfo(FX.storage.int32));
    const views = [a.view(2, 9), a.view(9, 2), a.view(3, 3, 2)];
    for (const v of views) {
      expect(v.storage().toString()).toBe(a.storage().toString());
      expect(v.untypedStorage().dataPtr() === a.untypedStorage().dataPtr()).toBe(FX.storage.int32ViewsShareStorage);
      expect(v.storage().data).toBe(a.storage().data);
    }
    // A copy has its own storage; writing through a view writes the shared one.
    expect(a.clone().untypedStorage().dataPtr()).not.toBe(a.untypedStorage().dataPtr());
    const v = a.view(9, 2);
    v.select(0, 1).fill_(-1);
    expect(a.storage().tolist().slice(0, 4)).toEqual([0, 1, -1, -1]);
  });

  it('dataPtr and storageOffset of slices, as data_ptr() and storage_offset()', () => {
    const a = arange(18);
    const s = a.slice(0, 1);
    expect(s.storageOffset()).toBe(1);
    expect(s.dataPtr() - a.dataPtr()).toBe(4); // one int32
    expect(s.storage().size()).toBe(18);
    expect(s.untypedStorage().dataPtr()).toBe(a.untypedStorage().dataPtr());
    expect(zeros([2]).untypedStorage().dataPtr()).not.toBe(zeros([2]).untypedStorage().dataPtr());
    expect(a.storage().get(-1)).toBe(17);
    expect(() => a.storage().get(18)).toThrow(/^storage: index 18 out of range for storage of size 18/);
  });
});

describe('overfitting one batch (makemore part 2)', () => {
  let r: OverfitResult;
  beforeAll(() => {
    const words = makemore.readWords();
    r = overfitOneBatch(words, vocab(words), FX.overfit.steps);
  });
  const vocab = (words: string[]) => makemore.Vocabulary.fromWords(words);

  it('the first version: 3481 parameters, the 32 examples of the first 5 words', () => {
    expect(r.words).toEqual(FX.overfit.words);
    expect(r.examples).toBe(FX.overfit.examples);
    expect(r.parameters).toBe(FX.overfit.parameters);
    expect(r.parameters).toBeGreaterThan(100 * r.examples);
  });

  it('follows the same losses as PyTorch from the same seed', () => {
    for (const [step, want] of Object.entries(FX.overfit.lossAtStep)) {
      // float32 SGD for up to 1000 steps: the two runs agree to a few parts in 10^4.
      expect(Math.abs(r.losses[Number(step)] - want), `step ${step}: ${r.losses[Number(step)]} vs torch ${want}`).toBeLessThan(2e-3 * Math.max(1, want));
    }
    expect(Math.abs(r.final - FX.overfit.finalLoss)).toBeLessThan(1e-3);
  });

  it('ends far below the whole-data loss, and above 0 only where contexts repeat with other targets', () => {
    expect(r.final).toBeLessThan(0.3); // the 2-D model trained on all the data: about 2.3
    const torchCorrect = FX.overfit.argmax.filter((p, i) => p === FX.overfit.targets[i]).length;
    expect(r.correct).toBe(torchCorrect);
    expect(r.examples - r.correct).toBeLessThanOrEqual(r.ambiguous);
    expect(r.ambiguous).toBeGreaterThan(0);
  });
});
