#!/usr/bin/env node
// The `makemore` executable: everything is in makemore.ts's main().
import { main } from './makemore.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
