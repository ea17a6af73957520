// TypeScript work over tensor data outside the ops (gradient clipping), which a compiled step
// must redo on every replay: the code doing it hands it here as a closure over its arrays, and a
// recording in progress logs it as a host op (recording.ts). Without a recording it just runs.
// This file imports nothing at run time, so any module may use it.
import type { AnyArray } from '../backend/backend.js';

export interface HostWork {
  /** Names the work in messages and in the comparison of two recordings. */
  readonly name: string;
  /** Every array it touches; `run` receives them (the replay's, which are the same ones). */
  readonly arrays: AnyArray[];
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  /** Values that must agree between two recordings (options, counts). */
  readonly signature: readonly unknown[];
  run(arrays: readonly AnyArray[]): void;
}

export interface HostWorkSink {
  log(work: HostWork): void;
  /** Work that cannot be replayed: the recording refuses the function with this message. */
  refuse(message: string): void;
}

let sink: HostWorkSink | null = null;

/** Internal (compile): where work goes while a recording runs; null afterwards. */
export function _setHostWorkSink(s: HostWorkSink | null): void {
  sink = s;
}

/** Runs `work` now, and logs it for the replay when a compiled function is being recorded. */
export function runHostWork(work: HostWork): void {
  work.run(work.arrays);
  sink?.log(work);
}

/** Says that TypeScript work just done over tensor data has no replayable form: a recording in
 *  progress refuses with `message` (which should say what to do instead). */
export function refuseHostWork(message: string): void {
  sink?.refuse(message);
}
