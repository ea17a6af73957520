// V8's ArrayBuffer sweeping for a training process.
//
// Every eager op returns a new tensor, so a training loop frees ArrayBuffers by the megabyte each
// step. V8 sweeps freed ArrayBuffers on a background thread by default, and until that thread has
// released them their bytes still count against the heap's limits: after a few seconds of such a
// loop V8 starts major collections over and over ("allocation limit" with the old generation half
// empty). Measured with `npm run bench -- --only mlp3 --no-peers`, part 3 MLP batch 1024, eager:
// 859 steps/s with 166 µs of GC per step by default, 1,146 steps/s with 32 µs when the sweep runs
// on the main thread; on 2 threads 841 against 1,489 (README, native boundary). So, as the addon does with glibc's malloc
// thresholds (crates/node/src/malloc.rs), loading the native backend switches that sweep to the
// main thread. FERROGRAD_V8_SWEEP=default leaves V8 as is.
import { setFlagsFromString } from 'node:v8';

let done = false;

/** Applies the setting once (when the native backend loads). */
export function tuneArrayBufferSweeping(): void {
  if (done) return;
  done = true;
  if (process.env.FERROGRAD_V8_SWEEP === 'default') return;
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
}
