/**
 * `--setup` under `run --local` / `up --local`: the lines run as the batch script runs them on
 * Slurm, in bash with `set -eo pipefail`, before the controller; the environment they leave
 * (`source venv/bin/activate`, `module load ...`) is the environment of the controller, the agents
 * and the entrypoint. Their output goes to stderr (on Slurm: the batch log); a failing line ends
 * the job before anything starts, with that line's exit code, as it would on Slurm.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { RayslError, UsageError } from '../core/errors.js';
import type { Io } from './io.js';

/** The environment the setup lines leave: `env -0` on fd 3 after the last line. */
export async function runSetupLines(lines: readonly string[], io: Io): Promise<NodeJS.ProcessEnv> {
  if (lines.length === 0) return io.env;
  const script = `set -eo pipefail\n${lines.join('\n')}\nenv -0 >&3\n`;
  const child = spawn('bash', ['-c', script], { cwd: io.cwd, env: io.env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => io.stderr.write(b));
  child.stderr!.on('data', (b: Buffer) => io.stderr.write(b));
  const chunks: Buffer[] = [];
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => chunks.push(b));
  const code = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('close', (c, signal) => resolve(c ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
  if (code !== 0) {
    throw new RayslError(
      `--setup failed with exit ${code} (the lines run in bash with set -eo pipefail, as in the batch script): nothing was started`,
      {
        exitCode: code === 127 && child.pid === undefined ? 2 : code,
        hint: 'run the --setup lines in a shell here to see which one fails; its output is above',
      },
    );
  }
  const env: NodeJS.ProcessEnv = {};
  for (const kv of Buffer.concat(chunks).toString('utf8').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  delete env._; // bash's last argument, not something the user set
  return env;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * `--container-cmd`'s program must run here (after --setup, which may `module load` it): a wrapper
 * that is not installed is one clear error before anything starts, not a cluster whose agents all
 * fail to start.
 */
export function assertWrapperRuns(program: string, env: NodeJS.ProcessEnv, cwd: string): void {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : join(cwd, program)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, program));
  if (candidates.some(isExecutableFile)) return;
  const where = program.includes('/') ? `${program} is not an executable file` : `${program} is not on PATH`;
  throw new UsageError(`--container-cmd: ${where}, so no agent could start`, {
    hint: `install ${program} or load it in --setup (e.g. --setup 'module load apptainer'), or drop --container-cmd to run without a container`,
  });
}
