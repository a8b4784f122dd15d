import type { Command } from 'commander';
import type { GlobalOptions, Io } from './io.js';

/** What every command gets: the injected edges and the global flags. */
export interface App {
  io: Io;
  /** The command line as given (after `raysl`): `up --local --wait` starts itself again with it. */
  argv: readonly string[];
  /** Exit code a command asks for when it completes without an error (e.g. check-ports: 1 on collision). */
  setExitCode(code: number): void;
}

export type Register = (program: Command, app: App) => void;

/** Global flags (--json, --no-color, --debug) merged with the command's own. */
export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}
