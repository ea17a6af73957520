// The CommonJS entry of ferrograd ("require" in package.json "exports"). ferrograd is an ES
// module; Node.js versions that can require() an ES module (20.19+, 22.12+) take the
// "module-sync" entry and never reach this file. Older ones get here and are told what to do,
// instead of a resolution error that blames the package.
'use strict';

const error = new Error(
  `ferrograd is an ES module and this Node.js (${process.version}) cannot load an ES module with require(). ` +
    "Use `const ferrograd = await import('ferrograd')` (dynamic import() works in CommonJS too), " +
    "or `import { tensor } from 'ferrograd'` in an ES module (.mjs, or \"type\": \"module\" in package.json), " +
    "or upgrade to Node.js 20.19+ or 22.12+, where require('ferrograd') works.",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
