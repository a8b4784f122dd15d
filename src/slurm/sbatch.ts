/**
 * sbatch: submit a rendered batch script. `--parsable` prints "<jobid>" or "<jobid>;<cluster>" on
 * stdout; warnings go to stderr and are not part of the id.
 */
import { SlurmError } from '../core/errors.js';
import { runSlurm, type SlurmRunOptions } from './exec.js';

export function sbatchArgv(scriptPath: string, extraArgs: readonly string[] = []): string[] {
  // Options must precede the script path: anything after it is passed to the script as arguments.
  return ['sbatch', '--parsable', ...extraArgs, scriptPath];
}

export interface ParsedSubmit {
  jobId: string;
  cluster?: string;
}

export function parseSbatchParsable(stdout: string): ParsedSubmit {
  const line = stdout.trim().split('\n').pop()?.trim() ?? '';
  const m = /^(\d+)(?:;(\S+))?$/.exec(line);
  if (!m) {
    throw new SlurmError(
      `sbatch --parsable printed ${JSON.stringify(stdout.trim())}, expected a job id such as "123" or "123;cluster"`,
      {
        hint: 'run the sbatch command by hand to see what it prints',
      },
    );
  }
  return m[2] === undefined ? { jobId: m[1]! } : { jobId: m[1]!, cluster: m[2] };
}

/** Submits the script; resolves to the job id. */
export async function submit(
  scriptPath: string,
  extraArgs: readonly string[] = [],
  opts: SlurmRunOptions = {},
): Promise<string> {
  return parseSbatchParsable(await runSlurm(sbatchArgv(scriptPath, extraArgs), opts)).jobId;
}
