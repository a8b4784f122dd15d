/**
 * Entry point of the bundle (bin/raysl imports it). `raysl --version` answers before anything else
 * loads; every other call loads main.ts, which loads only the command being run (command-index.ts).
 */
const GLOBAL_FLAGS = new Set(['--json', '--no-color', '--debug']);

/** `raysl --version` / `-V`, alone or with the global flags: what commander would print, without commander. */
function isVersionOnly(argv: readonly string[]): boolean {
  const asksVersion = argv.some((a) => a === '--version' || a === '-V');
  return asksVersion && argv.every((a) => a === '--version' || a === '-V' || GLOBAL_FLAGS.has(a));
}

const argv = process.argv.slice(2);
if (isVersionOnly(argv)) process.stdout.write(`${RAYSL_VERSION}\n`);
else (await import('./main.js')).main(argv);
