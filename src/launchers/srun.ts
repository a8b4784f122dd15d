/** The srun launcher (real Slurm). Filled in once src/slurm/{srun,scontrol}.ts land. */
import { InternalError } from '../core/errors.js';
import type { Launcher } from './types.js';

export function srunLauncher(_opts: { env: NodeJS.ProcessEnv }): Launcher {
  const notYet = async (): Promise<never> => {
    throw new InternalError('the srun launcher is not available yet', { hint: 'use `raysl run --local`' });
  };
  return { name: 'srun', resolveAddresses: notYet, takenBlocks: notYet, recordBlock: notYet, releaseBlock: async () => {}, launch: notYet };
}
