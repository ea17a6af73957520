// Version counters per storage, as PyTorch's: every user-visible in-place write bumps the version
// of the storage it writes into; recorded ops remember their inputs' versions, and backward
// refuses to use a tensor that changed since (it would silently give a wrong gradient).
import type { AnyArray } from '../backend/backend.js';

const versions = new WeakMap<AnyArray, number>();

export function versionOf(data: AnyArray): number {
  return versions.get(data) ?? 0;
}

export function bumpVersion(data: AnyArray): void {
  versions.set(data, (versions.get(data) ?? 0) + 1);
}
