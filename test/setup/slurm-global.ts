// globalSetup of the `slurm` test project: make sure the real test cluster runs, and hand its
// SLURM_CONF to the test files. The Slurm tier fails loudly when the cluster cannot start: it
// never skips. Teardown stops the cluster only if this run started it (and RAYSL_SLURM_KEEP != 1).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    slurmConf: string;
    slurmDir: string;
  }
}

const script = fileURLToPath(new URL('../../scripts/dev-slurm.sh', import.meta.url));

/** Runs dev-slurm.sh, streaming its output to stderr; resolves with exit code and the output tail. */
function devSlurm(cmd: 'up' | 'down' | 'status', stream: boolean): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000);
      if (stream) process.stderr.write(chunk);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm';
  let startedHere = false;
  if ((await devSlurm('status', false)).code !== 0) {
    process.stderr.write(`slurm tests: starting the test cluster (scripts/dev-slurm.sh up, ${dir})\n`);
    const up = await devSlurm('up', true);
    if (up.code !== 0) {
      throw new Error(
        `the Slurm test tier needs the test cluster, but 'scripts/dev-slurm.sh up' exited ${up.code}:\n${up.output.trim()}\n` +
          'hint: run scripts/dev-slurm.sh up by hand (as root) and fix what it reports',
      );
    }
    startedHere = true;
  }
  const conf = `${dir}/etc/slurm.conf`;
  // Forked workers inherit this; provide() also carries it for test/slurm/helpers.ts (slurmEnv()).
  process.env.SLURM_CONF = conf;
  project.provide('slurmConf', conf);
  project.provide('slurmDir', dir);

  return async () => {
    if (!startedHere || process.env.RAYSL_SLURM_KEEP === '1') return;
    const down = await devSlurm('down', true);
    if (down.code !== 0) throw new Error(`scripts/dev-slurm.sh down exited ${down.code}:\n${down.output.trim()}`);
  };
}
