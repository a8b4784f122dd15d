/**
 * `--version` / `-V` is raysl's own option and nothing else: alone (with the global flags) it prints
 * the version; anywhere else before `--` it is refused, never acted on. commander would take it
 * from any position (after a command, after the entrypoint, as the value another option was waiting
 * for) and print the version instead of running anything: `raysl submit train.ts --version`
 * submitted nothing, silently. No imports: bin.ts answers `raysl --version` before loading anything.
 */
const GLOBAL_FLAGS = new Set(['--json', '--no-color', '--debug']);
const VERSION_FLAGS = new Set(['--version', '-V']);

function beforeDashDash(argv: readonly string[]): readonly string[] {
  const dd = argv.indexOf('--');
  return dd === -1 ? argv : argv.slice(0, dd);
}

/** `raysl --version` / `-V`, alone or with the global flags. */
export function isVersionOnly(argv: readonly string[]): boolean {
  return argv.some((a) => VERSION_FLAGS.has(a)) && argv.every((a) => VERSION_FLAGS.has(a) || GLOBAL_FLAGS.has(a));
}

/** The version flag where it is not raysl's option: with a command, a value or the entrypoint's arguments. */
export function misplacedVersionFlag(argv: readonly string[]): string | undefined {
  if (isVersionOnly(argv)) return undefined;
  return beforeDashDash(argv).find((a) => VERSION_FLAGS.has(a));
}
