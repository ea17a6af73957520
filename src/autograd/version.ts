// Version counters per storage, as PyTorch's: every user-visible in-place write bumps the version
// of the storage it writes into (all views of it share the counter). Recorded ops remember the
// versions of the tensors their backward reads (record.ts), and backward refuses to run when one
// changed since: it would silently give a wrong gradient.
import type { AnyArray } from '../backend/backend.js';

const versions = new WeakMap<AnyArray, number>();

export function versionOf(data: AnyArray): number {
  return versions.get(data) ?? 0;
}

export function bumpVersion(data: AnyArray): void {
  versions.set(data, (versions.get(data) ?? 0) + 1);
}
