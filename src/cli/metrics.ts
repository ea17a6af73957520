// metrics.jsonl in the work dir: one JSON object per line, for plotting and for the report.
//   {"kind":"step","step":10,"loss":2.91,"lr":0.0005,"seconds":1.2}
//   {"kind":"eval","step":500,"train":2.21,"test":2.23,"best":true,"seconds":40.1}
//   {"kind":"samples","step":200,"samples":[{"word":"ana","where":"train"},...]}
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeAll } from '../io/atomic-write.js';

export const METRICS_FILE = 'metrics.jsonl';

export type Where = 'train' | 'test' | 'new';

export type Metric =
  | { kind: 'step'; step: number; loss: number; lr: number; seconds: number }
  | { kind: 'eval'; step: number; train: number; test: number; best: boolean; seconds: number }
  | { kind: 'samples'; step: number; samples: { word: string; where: Where; stopped: boolean }[] };

export class MetricsLog {
  readonly path: string;
  readonly entries: Metric[] = [];

  constructor(dir: string) {
    this.path = join(dir, METRICS_FILE);
  }

  /** Continue a resumed run: keep what was logged before `step` (a kill may have logged more
   *  after the state that is resumed), and rewrite the file to match. */
  resumeAt(step: number): void {
    if (existsSync(this.path)) {
      for (const line of readFileSync(this.path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          const m = JSON.parse(line) as Metric;
          if (m.step < step) this.entries.push(m);
        } catch {
          // a line torn by a kill: dropped
        }
      }
    }
    const text = this.entries.map((m) => JSON.stringify(m) + '\n').join('');
    writeFileAtomic(this.path, (fd) => writeAll(fd, new TextEncoder().encode(text)));
  }

  startFresh(): void {
    writeFileAtomic(this.path, () => {});
  }

  /** Set when a line could not be written (a full disk): the entries stay in memory. */
  writeError: Error | null = null;

  add(m: Metric): void {
    this.entries.push(m);
    try {
      appendFileSync(this.path, JSON.stringify(m) + '\n');
    } catch (e) {
      this.writeError ??= e as Error;
    }
  }
}
