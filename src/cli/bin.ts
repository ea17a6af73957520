#!/usr/bin/env node
// The `makemore` executable: everything is in makemore.ts's main().
import { main } from './makemore.js';

// `makemore sample | head`: a closed pipe ends the program quietly, as it does for other commands.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
