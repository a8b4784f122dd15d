/**
 * The only place that calls process.exit: parses argv, runs one command, turns errors into
 * one line + one hint (or JSON under --json) and the exit codes of DESIGN.md.
 */
import { Command, CommanderError } from 'commander';
import { asRayslError, ExitCode, UsageError, type RayslError } from '../core/errors.js';
import { keepRunningPastClosedReaders, painter, processIo, untilFlushed, writeJson, type Io } from './io.js';
import { isVersionOnly, misplacedVersionFlag } from './version-flag.js';
import type { App, Register } from './app.js';
import { commandsFor } from './command-index.js';

export function buildProgram(app: App, commands: Register[]): Command {
  const program = new Command('raysl')
    .description('Run an ephemeral compute cluster inside one Slurm allocation, correctly.')
    // raysl's own option only: runCli answers or refuses it before commander sees argv (version-flag.ts)
    .option('-V, --version', 'print the version (alone: raysl --version)')
    .option('--json', 'machine-readable output on stdout (errors too)')
    .option('--no-color', 'no colour (also off with NO_COLOR, --json, or no TTY)')
    .option('--debug', 'show stack traces for errors')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => app.io.stdout.write(s),
      writeErr: (s) => app.io.stderr.write(s),
      // commander's own messages go through our error path instead
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `
Examples:
  $ raysl run --local -N 4 examples/train.ts          # a 4-node cluster on this machine, no Slurm
  $ raysl submit -N 4 --gpus-per-node 8 -p gpu -t 2:00:00 train.ts -- --epochs 3
  $ raysl render -N 2 train.py > job.sh && sbatch job.sh
  $ raysl check-ports -p gpu
  $ raysl up -N 4 -t 8:00:00 --wait                   # an interactive cluster; then raysl exec <id> -- python3 job.py, raysl down <id>
  $ raysl hostnames 'gpu-[001-004]'

Exit codes: the entrypoint's own code when it ran; 130/143/129 when you interrupted or cancelled it
(Ctrl-C, TERM or scancel, HUP); otherwise 1 a port collision (check-ports), 2 usage/config error,
3 a Slurm command failed, 4 the cluster did not form, 5 a node was lost or failed, 6 stopped at
Slurm's warning, 70 internal error.`,
    );
  for (const register of commands) register(program, app);
  // every subcommand: same error routing, help after errors
  for (const sub of program.commands) {
    sub.exitOverride().configureOutput({
      writeOut: (s) => app.io.stdout.write(s),
      writeErr: (s) => app.io.stderr.write(s),
      outputError: () => {},
    });
  }
  return program;
}

function wantsJson(argv: string[]): boolean {
  const dd = argv.indexOf('--');
  return (dd === -1 ? argv : argv.slice(0, dd)).includes('--json');
}

function reportError(err: RayslError, io: Io, argv: string[]): void {
  if (wantsJson(argv)) {
    // details come first: no detail may stand in for raysl's own exit code or message
    writeJson(io, { error: { ...(err.details ?? {}), message: err.message, exitCode: err.exitCode, hint: err.hint } });
    return;
  }
  const c = painter({ color: !argv.includes('--no-color') }, io);
  io.stderr.write(`${c.red('raysl: error:')} ${err.message}\n`);
  if (err.hint) io.stderr.write(`${c.dim('  hint:')} ${err.hint}\n`);
  if (argv.includes('--debug') && err.stack) io.stderr.write(`${err.stack}\n`);
  if (argv.includes('--debug') && err.cause instanceof Error && err.cause.stack)
    io.stderr.write(`caused by: ${err.cause.stack}\n`);
}

const JOB_COMMANDS = new Set(['render', 'submit', 'run']);

/** An unknown option after the entrypoint of a job command is most likely meant for the entrypoint. */
function hintForCommanderError(err: CommanderError, argv: string[]): string {
  const dd = argv.indexOf('--');
  const words = dd === -1 ? argv : argv.slice(0, dd);
  const command = words.find((a) => !a.startsWith('-'));
  if (err.code === 'commander.unknownOption' && command === 'exec') {
    // `raysl exec ID ls -la`: the command's own flags reached raysl's parser
    const at = argv.indexOf('exec');
    const [id, ...rest] = argv.slice(at + 1).filter((a) => a !== '--json' && a !== '--no-color' && a !== '--debug');
    return `put the command after --, so its flags are its own: raysl exec ${id ?? '<jobid>'} -- ${rest.join(' ') || '<command>'}`;
  }
  if (err.code === 'commander.unknownOption' && command !== undefined && JOB_COMMANDS.has(command)) {
    return `arguments for the entrypoint go after --, e.g. raysl ${command} train.py -- --epochs 3; raysl's own flags: raysl ${command} --help`;
  }
  return 'run `raysl --help` or `raysl <command> --help` for usage and examples';
}

function missingCommandError(argv: string[]): UsageError {
  const words = argv.filter((a) => !a.startsWith('-'));
  const hint = 'the commands are listed above; e.g. raysl run --local -N 2 examples/train.ts';
  if (words[0] === 'help' && words[1] !== undefined) return new UsageError(`unknown command '${words[1]}'`, { hint });
  return new UsageError('no command given', { hint });
}

/** Runs the CLI and returns the exit code (tests call this in-process). */
export async function runCli(argv: string[], io: Io = processIo()): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const app: App = { io, argv, setExitCode: (c) => void (exitCode = c) };
  try {
    if (isVersionOnly(argv)) {
      io.stdout.write(`${RAYSL_VERSION}\n`);
      return ExitCode.ok;
    }
    const misplaced = misplacedVersionFlag(argv);
    if (misplaced !== undefined) {
      throw new UsageError(
        `${misplaced} is raysl's own option: it prints the version only alone (raysl ${misplaced}), not with a command or as a value`,
        {
          hint: "for the entrypoint's own flag put it after --, e.g. raysl submit train.py -- --version; for raysl's version run raysl --version",
        },
      );
    }
    const program = buildProgram(app, await commandsFor(argv));
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || (err.code === 'commander.help' && err.exitCode === 0)) {
        return ExitCode.ok;
      }
      if (err.code === 'commander.help') {
        // bare `raysl` or `raysl help nosuch`: commander printed the usage to stderr; like git and
        // npm this is a usage error, and ours is 2 (1 means a port collision for check-ports)
        reportError(missingCommandError(argv), io, argv);
        return ExitCode.usage;
      }
      const message = err.message.replace(/^error: /, '');
      reportError(new UsageError(message, { hint: hintForCommanderError(err, argv) }), io, argv);
      return ExitCode.usage;
    }
    const e = asRayslError(err);
    reportError(e, io, argv);
    return e.exitCode;
  }
}

/**
 * The exit: once stdout and stderr have taken every byte written (a pipe takes 64 KiB at a time;
 * what it does not take at once waits in the stream), exit explicitly, so a stray handle never keeps
 * a finished raysl alive. The one way out of the process, for every command.
 */
async function exitWhenFlushed(code: number): Promise<never> {
  await Promise.all([untilFlushed(process.stdout), untilFlushed(process.stderr)]);
  process.exit(code);
}

/** Runs the CLI as the process: bin.ts (the bundle's entry) calls it, or tsx on this file. */
export function main(argv: string[]): void {
  keepRunningPastClosedReaders([process.stdout, process.stderr]);
  runCli(argv).then(
    (code) => exitWhenFlushed(code),
    (err: unknown) => {
      process.stderr.write(`raysl: internal error: ${String(err)}\n`);
      return exitWhenFlushed(ExitCode.internal);
    },
  );
}

// Run from source (`npx tsx src/cli/main.ts ...`). Not run when imported by tests.
if (process.argv[1] !== undefined && /main\.ts$/.test(process.argv[1])) main(process.argv.slice(2));
