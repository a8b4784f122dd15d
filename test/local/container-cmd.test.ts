// --container-cmd under run --local: the same wrapper prefix as on Slurm, with a stand-in wrapper
// (apptainer cannot run here) that records its argv and execs the command. --container-image has
// no srun here and is refused with exit 2.
import { mkdirSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitWithin, jobGone, runLocal } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

const WRAPPER = `#!/bin/bash
set -e
test "$1" = --tag
printf '%s\\0' "$@" > "$(dirname "$0")/calls/$$"
export RAYSL_TEST_WRAPPED="$2"
shift 2
exec "$@"
`;

describe('run --local --container-cmd', () => {
  it('every agent and the entrypoint run through the wrapper; exit code passed on; nothing left', async () => {
    const dir = tempDir('raysl-ccmd-');
    const bin = join(dir, 'wrap dir');
    mkdirSync(join(bin, 'calls'), { recursive: true });
    writeFileSync(join(bin, 'fake-apptainer'), WRAPPER, { mode: 0o755 });
    const entry = join(dir, 'entry.sh');
    writeFileSync(entry, 'echo "wrapped=$RAYSL_TEST_WRAPPED"\nexit 4\n', { mode: 0o755 });
    const run = runLocal(['-N', '3', '--container-cmd', `'${join(bin, 'fake-apptainer')}' --tag 'a b'`, entry]);
    const { code } = await exitWithin(run, 60_000);
    expect(code, run.stderr()).toBe(4);
    expect(run.stdout()).toMatch(/^wrapped=a b$/m);
    const calls = readdirSync(join(bin, 'calls')).map((f) =>
      readFileSync(join(bin, 'calls', f), 'utf8')
        .split('\0')
        .slice(0, -1),
    );
    const roles = calls
      .filter((a) => a.includes('agent'))
      .map((a) => a[a.indexOf('--role') + 1])
      .sort();
    expect(roles).toEqual(['head', 'worker', 'worker']);
    expect(calls.filter((a) => a.includes(entry))).toEqual([['--tag', 'a b', 'bash', entry]]);
    expect(run.status()).toMatchObject({ exitCode: 4 });
    expect(await jobGone(run.status().jobId, 10_000)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  it('--container-image is refused: exit 2 and a hint', async () => {
    const job = runLocal(['--container-image', 'nvcr.io#nvidia/pytorch:24.01-py3', 'examples/train.ts']);
    const { code } = await exitWithin(job, 30_000);
    expect(code).toBe(2);
    expect(job.stderr()).toMatch(/--container-image .*: run --local has no srun/);
    expect(job.stderr()).toMatch(/^\s*hint: use raysl submit for --container-image/m);
  });
});
