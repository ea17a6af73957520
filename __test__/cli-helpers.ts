// The makemore command run in-process, with its output captured line by line (shared by the
// cli-*.test.ts suites).
import { main } from '../src/cli/makemore.js';
import type { Output } from '../src/cli/output.js';

export function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), isTTY: false };
}

/** `makemore ...args`: the exit code, stdout as lines and as one text, stderr as one text. */
export async function runMakemore(args: string[]): Promise<{ code: number; stdoutLines: string[]; stdout: string; stderr: string }> {
  const out = capture();
  const code = await main(args, out);
  return { code, stdoutLines: out.stdout, stdout: out.stdout.join('\n'), stderr: out.stderr.join('\n') };
}
