// globalSetup of the `local` and `slurm` test projects: the real Ray (ray[default,train,tune,data,serve]==2.60.0
// and torch==2.13.0, for examples/ray/) in the project's own virtual environment (scripts/ray-venv.sh
// installs it, or reuses it when it matches; it alone names the venv's path).
// A missing or wrong Ray fails the run loudly: the ray tests never skip.
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The venv's `ray` executable (what RAYSL_RAY_BIN points at in the ray tests). */
    rayBin: string;
    /** Its bin directory: put first on PATH, `python3` there imports ray (like an activated venv). */
    rayVenvBin: string;
  }
}

const script = fileURLToPath(new URL('../../scripts/ray-venv.sh', import.meta.url));

export default async function setup(project: TestProject): Promise<void> {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        process.stderr.write(c);
      });
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c ?? 1, stdout: out, stderr: err }));
    },
  );
  const rayBin = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !rayBin.endsWith('/bin/ray')) {
    throw new Error(
      `the ray tests need Ray 2.60 in the project's venv, but scripts/ray-venv.sh exited ${code}:\n${stderr.trim()}\n` +
        'hint: run scripts/ray-venv.sh by hand and fix what it reports',
    );
  }
  project.provide('rayBin', rayBin);
  project.provide('rayVenvBin', dirname(rayBin));
}
