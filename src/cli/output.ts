// Where the command writes: stdout/stderr, or the strings a test passes in-process.
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** stdout is a terminal (progress bar, not log lines). */
  isTTY: boolean;
  /** The stream a progress bar draws on (a terminal). */
  stream?: NodeJS.WriteStream;
}

export function processOutput(): Output {
  return {
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
    isTTY: process.stdout.isTTY === true,
    stream: process.stdout,
  };
}
