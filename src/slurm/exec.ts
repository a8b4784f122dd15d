/**
 * The one place Slurm binaries are run. Wrappers (squeue.ts, sbatch.ts, ...) build argv and parse
 * output as pure functions and hand the argv to `runSlurm`, which maps every failure to a
 * SlurmError naming the command, its stderr and a hint. The runner is injectable so callers
 * (controller, CLI) can be tested without Slurm.
 */
import { SlurmError } from '../core/errors.js';

export interface SlurmExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface SlurmExecRequest {
  /** argv[0] is the binary (sbatch, squeue, ...), looked up on PATH. */
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command and reports how it ended; throws only if it could not run at all. */
export type SlurmExec = (req: SlurmExecRequest) => Promise<SlurmExecResult>;

export interface SlurmRunOptions {
  exec?: SlurmExec;
  env?: NodeJS.ProcessEnv;
  /** Slurm clients retry an unreachable controller for a long time; bound every call. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

const execaSlurm: SlurmExec = async ({ argv, env, timeoutMs }) => {
  const [file, ...args] = argv;
  if (file === undefined) throw new SlurmError('empty Slurm command line', { hint: 'this is a bug in raysl' });
  try {
    // loaded on the first Slurm call: render --no-check, hostnames and the agent never make one
    const { execa } = await import('execa');
    const r = await execa(file, args, {
      env: env ?? process.env,
      extendEnv: false,
      reject: false,
      timeout: timeoutMs ?? DEFAULT_TIMEOUT_MS,
      stdin: 'ignore',
      stripFinalNewline: false,
    });
    if (r.failed && r.exitCode === undefined) throw r;
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? 1 };
  } catch (err) {
    throw spawnFailure(argv, err, timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }
};

function spawnFailure(argv: readonly string[], err: unknown, timeoutMs: number): SlurmError {
  const e = err as { code?: string; timedOut?: boolean; message?: string };
  const cmd = commandLine(argv);
  if (e.code === 'ENOENT') {
    return new SlurmError(`${argv[0]} not found on PATH (needed to run: ${cmd})`, {
      hint: `run raysl on a Slurm login node, or load the Slurm module (e.g. \`module load slurm\`); ${NO_SLURM_TRY}`,
      cause: err,
    });
  }
  if (e.timedOut) {
    return new SlurmError(`${cmd} did not finish within ${timeoutMs} ms`, {
      hint: 'slurmctld may be down or overloaded: check `scontrol ping` and SLURM_CONF',
      cause: err,
    });
  }
  return new SlurmError(`could not run ${cmd}: ${e.message ?? String(err)}`, {
    hint: 'check that the Slurm client tools work: `sinfo`',
    cause: err,
  });
}

/** Runs argv; returns stdout on exit 0, throws SlurmError otherwise. */
export async function runSlurm(argv: readonly string[], opts: SlurmRunOptions = {}): Promise<string> {
  const r = await runSlurmRaw(argv, opts);
  if (r.exitCode !== 0) throw slurmFailure(argv, r);
  return r.stdout;
}

/** Runs argv and returns the result whatever the exit code (for callers that read known errors). */
export async function runSlurmRaw(argv: readonly string[], opts: SlurmRunOptions = {}): Promise<SlurmExecResult> {
  const exec = opts.exec ?? execaSlurm;
  return exec({ argv, env: opts.env ?? process.env, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
}

export function slurmFailure(argv: readonly string[], r: SlurmExecResult): SlurmError {
  const stderr = r.stderr.trim();
  // Some errors go to stdout (scontrol show node: "Node x not found").
  const said = stderr || r.stdout.trim() || '(no output)';
  return new SlurmError(`${commandLine(argv)} failed with exit code ${r.exitCode}: ${keyLine(said)}`, {
    hint: hintFor(said),
    details: { argv: [...argv], commandExitCode: r.exitCode, stderr },
  });
}

/**
 * Slurm clients often print a cascade (error, error, fatal): the message keeps the line that says
 * why (the last fatal/error line); --json keeps the whole text in details.stderr.
 */
export function keyLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // getopt's complaints ("unrecognized option", "invalid option", "requires an argument") say what is
  // wrong; the "Try sbatch --help" line after them does not
  const telling = lines.filter((l) =>
    /fatal|error|unrecognized option|invalid option|unknown option|requires an argument/i.test(l),
  );
  return telling[telling.length - 1] ?? lines[lines.length - 1] ?? text;
}

/** Where no Slurm is configured, the same job runs on simulated nodes of this machine. */
const NO_SLURM_TRY = 'without Slurm, run the job on this machine with --local (raysl run --local -N 2 <entrypoint>)';

/** Pure: the most useful next step for a Slurm client's error text. */
export function hintFor(stderr: string): string {
  if (
    /Could not establish a configuration source|cannot stat file|Unable to process configuration file/i.test(stderr)
  ) {
    return `the Slurm client cannot find its config: set SLURM_CONF to your cluster's slurm.conf (your site documents where it is); ${NO_SLURM_TRY}`;
  }
  if (/Unable to contact slurm controller|Connection refused|Socket timed out/i.test(stderr)) {
    return 'slurmctld is not reachable: check `scontrol ping` and SLURM_CONF, or ask your site whether Slurm is down';
  }
  if (/Invalid job id/i.test(stderr)) return 'the job is unknown or already purged: list jobs with `squeue -u $USER`';
  if (/Node \S+ not found/i.test(stderr)) return "list the cluster's nodes with `sinfo -N`";
  if (/Invalid partition/i.test(stderr)) return 'list partitions with `sinfo -s` and pass one with -p';
  if (/Access\/permission denied|Access denied|not authorized/i.test(stderr))
    return 'you may only change your own jobs; check the job id';
  if (/Requested node configuration is not available/i.test(stderr))
    return 'ask for fewer nodes/CPUs/GPUs, or check what the partition has with `sinfo -N -o "%N %c %G"`';
  if (/munge/i.test(stderr)) return 'munge authentication failed: is munged running (`munge -n | unmunge`)?';
  return 'run the command above by hand to see the full Slurm error';
}

/** Pure: a copy-pasteable rendering of argv for messages (POSIX single quotes where needed). */
export function commandLine(argv: readonly string[]): string {
  return argv.map(shellWord).join(' ');
}

/** One word as a shell reads it back; control characters (squeue's \x1f separators) as $'\x1f', never raw. */
function shellWord(a: string): string {
  if (/^[\w@%+=:,./-]+$/.test(a)) return a;
  if (!/[\x00-\x1f\x7f]/.test(a)) return `'${a.replaceAll("'", `'\\''`)}'`;
  const escaped = a.replace(/[\x00-\x1f\x7f'\\]/g, (c) =>
    c === "'" || c === '\\' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return `$'${escaped}'`;
}
