/**
 * Entry point of the bundle (bin/raysl imports it). `raysl --version` answers before anything else
 * loads; every other call loads main.ts, which loads only the command being run (command-index.ts).
 */
import { isVersionOnly } from './version-flag.js';

const argv = process.argv.slice(2);
if (isVersionOnly(argv)) process.stdout.write(`${RAYSL_VERSION}\n`);
else (await import('./main.js')).main(argv);
