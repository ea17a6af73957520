// Whether operations record the graph. noGrad(fn) turns recording off for the duration of fn,
// as torch.no_grad() does; it nests and restores the previous mode even if fn throws.

let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

export function setGradEnabled(on: boolean): void {
  enabled = on;
}

export function noGrad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw new Error('noGrad: the callback returned a Promise; noGrad only covers synchronous code');
    }
    return r;
  } finally {
    enabled = prev;
  }
}

/** Run fn with recording on (inside a noGrad block, as torch.enable_grad does). */
export function enableGrad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = true;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}
