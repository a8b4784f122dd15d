/**
 * The Slurm release, from `sbatch --version` (the client that submits; it answers without asking
 * slurmctld). Output of Debian's packages: "slurm-wlm 22.05.8", "slurm-wlm 24.11.5"; of SchedMD's
 * own builds: "slurm 23.11.4".
 */
import { SlurmError } from '../core/errors.js';
import type { SlurmVersion } from '../core/slurm-support.js';
import { runSlurm, type SlurmRunOptions } from './exec.js';

export function slurmVersionArgv(): string[] {
  return ['sbatch', '--version'];
}

export function parseSlurmVersion(stdout: string): SlurmVersion {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!m) {
    throw new SlurmError(
      `cannot read a Slurm version from ${JSON.stringify(stdout.trim())}; expected e.g. "slurm 22.05.8"`,
      {
        hint: 'run `sbatch --version` by hand',
      },
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}` };
}

export async function runSlurmVersion(opts: SlurmRunOptions = {}): Promise<SlurmVersion> {
  return parseSlurmVersion(await runSlurm(slurmVersionArgv(), opts));
}
