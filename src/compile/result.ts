// What a compiled call returns. fn's result is matched against the step: a number must be a value
// read with item() from a tensor of the step (the replay reads the same element again, so it is
// fresh every call), a tensor is returned as a copy (the step's buffers are reused by the next
// call), and arrays and plain objects of these are rebuilt; anything else must be the same on
// every call. Reading values with item() that fn does not return is refused: such a value may
// decide what fn does next, which a replay would not notice.
import type { AnyArray } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad-mode.js';
import { CompileRefusal, type Recording } from './recording.js';

export interface ResultTemplate {
  build(): unknown;
  /** For comparing two recordings: equal when both return the same kind of thing from the same reads. */
  readonly shape: unknown;
}

export function templateOf(rec: Recording, result: unknown, written: Set<AnyArray>): ResultTemplate {
  const used = new Set<string>();
  // One read per element: the last one (reading the same element twice is one value).
  const reads = new Map<string, { array: AnyArray; index: number; value: number; order: number }>();
  rec.items.forEach((r, order) => {
    const key = `${rec.arrayId(r.array)}:${r.index}`;
    reads.set(key, { ...r, order });
  });
  const build = (v: unknown, path: string): { make: () => unknown; shape: unknown } => {
    if (typeof v === 'number') {
      let best: [string, { array: AnyArray; index: number; order: number }] | null = null;
      for (const entry of reads) {
        if (Object.is(entry[1].value, v) && (best === null || entry[1].order > best[1].order)) best = entry;
      }
      if (best === null) {
        throw new CompileRefusal(
          `compile: fn returned the number ${v}${path} which is not a value read with item() from a tensor of the step; return loss.item() or the tensor itself (numbers fn computes in JavaScript would be stale on replay)`,
        );
      }
      used.add(best[0]);
      const { array, index } = best[1];
      return { make: () => array[index], shape: ['item', best[0]] };
    }
    if (v instanceof Tensor) {
      const t = v;
      return { make: () => noGrad(() => t.detach().clone()), shape: ['tensor', [...t.shape], t.dtype, rec.arrayId(t.data)] };
    }
    if (Array.isArray(v)) {
      const parts = v.map((x, i) => build(x, `${path}[${i}]`));
      return { make: () => parts.map((p) => p.make()), shape: ['array', parts.map((p) => p.shape)] };
    }
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const keys = Object.keys(v);
      const parts = keys.map((k) => build((v as Record<string, unknown>)[k], `${path}.${k}`));
      return {
        make: () => {
          const o: Record<string, unknown> = {};
          for (let i = 0; i < keys.length; i++) o[keys[i]] = parts[i].make();
          return o;
        },
        shape: ['object', keys, parts.map((p) => p.shape)],
      };
    }
    if (v === undefined || v === null || typeof v === 'string' || typeof v === 'boolean') {
      return { make: () => v, shape: ['const', v] };
    }
    throw new CompileRefusal(`compile: fn returned ${typeof v}${path ? ` at ${path}` : ''}; a compiled function may return numbers read with item(), tensors, and arrays or plain objects of them`);
  };
  const top = build(result, '');
  for (const [key, r] of reads) {
    if (used.has(key)) continue;
    // The backward seed (ones) and other constants of the step never change: reading them is safe.
    if (rec.classify(r.array).kind === 'step' && !written.has(r.array) && !rec.isWritten(r.array)) continue;
    throw new CompileRefusal(
      `compile: fn read the value ${r.value} with item() and did not return it; a value read into JavaScript may decide what fn does next, which a replayed step would not notice. Return it (compile returns a fresh value each call), or read it outside the compiled function`,
    );
  }
  return { build: top.make, shape: top.shape };
}
