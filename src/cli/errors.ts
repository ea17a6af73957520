// A failure the command explains to its user (bad input, a bad flag, an unusable checkpoint):
// printed as `makemore: <message>` with a non-zero exit, never as a stack trace.
export class CommandError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CommandError';
  }
}
