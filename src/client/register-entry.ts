/**
 * `node --import <raysl>/dist/register-entry.mjs <entrypoint>`: registers entry-hooks.mjs before the
 * entrypoint loads. Runs in the user's process, so it does that one thing and nothing else.
 */
import * as nodeModule from 'node:module';

// module.register arrived in Node 20.6; on an older node say so instead of a missing-export SyntaxError
if (typeof nodeModule.register !== 'function') {
  throw new Error(
    `raysl: running a .ts/.js entrypoint needs Node >= 20.6 (module.register); this node is ${process.version}. Hint: put a newer node first on PATH and reinstall raysl with it`,
  );
}
nodeModule.register('./entry-hooks.mjs', import.meta.url);
