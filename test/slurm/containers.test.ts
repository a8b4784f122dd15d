// --container-cmd on the real test cluster. Neither apptainer nor pyxis runs here, so the wrapper is
// a stand-in executable: it records its argv (NUL-separated, one file per call, named by the Slurm
// node it ran on), marks the environment, drops its own two options and execs the command. That
// proves every agent and the entrypoint ran through the wrapper, with each word intact (a path with
// a space, an argument with a space), and that the job still forms, exits with the entrypoint's own
// code and leaves nothing behind. --container-image is tested as srun argv (test/unit/container.test.ts):
// a stand-in srun is not what this tier is for.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, rayslDone, readJobStatus } from './raysl-cli.js';

slurmConf();

const WRAPPER = `#!/bin/bash
# stand-in for "apptainer exec --nv IMAGE": record argv, then run the command
set -e
calls="$(dirname "$0")/calls"
test "$1" = --tag
printf '%s\\0' "$@" > "$calls/\${SLURMD_NODENAME:-unknown}-$$"
export RAYSL_TEST_WRAPPED="$2"
shift 2
exec "$@"
`;

function callsOf(dir: string): Array<{ node: string; argv: string[] }> {
  return readdirSync(dir).map((f) => ({
    node: f.replace(/-\d+$/, ''),
    argv: readFileSync(join(dir, f), 'utf8').split('\0').slice(0, -1),
  }));
}

describe('--container-cmd (stand-in wrapper)', () => {
  it("agents and the entrypoint run through the wrapper; the job forms, exits with the entrypoint's code, leaves nothing", async () => {
    const jobRoot = newJobRoot('ccmd');
    const bin = join(jobRoot, 'wrap dir');
    mkdirSync(join(bin, 'calls'), { recursive: true });
    writeFileSync(join(bin, 'fake-apptainer'), WRAPPER, { mode: 0o755 });
    const entry = join(jobRoot, 'entry.sh');
    writeFileSync(entry, 'echo "wrapped=$RAYSL_TEST_WRAPPED"\nexit 3\n', { mode: 0o755 });
    const wrapper = `'${join(bin, 'fake-apptainer')}' --tag 'image one.sif'`;
    const r = await rayslDone([
      'submit',
      '-N',
      '2',
      '--job-dir',
      jobRoot,
      '--container-cmd',
      wrapper,
      entry,
      '--follow',
    ]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/cluster ready: 2\/2 nodes/);
    expect(r.stdout).toMatch(/^wrapped=image one\.sif$/m);
    const jobId = /submitted job (\d+)/.exec(r.stderr)![1]!;

    const calls = callsOf(join(bin, 'calls'));
    const agents = calls.filter((c) => c.argv.includes('agent'));
    expect(agents.map((c) => [c.node, c.argv[c.argv.indexOf('--role') + 1]]).sort()).toEqual([
      ['node1', 'head'],
      ['node2', 'worker'],
    ]);
    for (const a of agents) {
      expect(a.argv.slice(0, 2)).toEqual(['--tag', 'image one.sif']);
      expect(a.argv[2]).toBe(process.execPath);
      // node -- <bundle> agent: `--` ends node's own options (no user argument reaches its parser)
      expect(a.argv[3]).toBe('--');
      expect(a.argv[5]).toBe('agent');
    }
    const entries = calls.filter((c) => c.argv.includes(entry));
    expect(entries).toEqual([{ node: 'node1', argv: ['--tag', 'image one.sif', 'bash', entry] }]);
    expect(calls).toHaveLength(3);

    expect(readJobStatus(jobRoot, jobId)).toMatchObject({ exitCode: 3 });
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });

  it('bad values are refused before anything is submitted: exit 2 and a hint', async () => {
    const jobRoot = newJobRoot('ccmd-bad');
    const entry = join(jobRoot, 'entry.sh');
    writeFileSync(entry, 'exit 0\n');
    for (const [args, message] of [
      [['--container-cmd', 'apptainer exec img.sif; rm -rf ~'], /--container-cmd: expected plain words/],
      [['--container-cmd', "apptainer 'exec"], /matched single quotes/],
      [['--container-image', 'a b'], /--container-image: expected one image reference/],
      [['--container-image', 'img', '--container-cmd', 'apptainer exec x.sif'], /received both/],
    ] as const) {
      const r = await rayslDone(['submit', '--job-dir', jobRoot, ...args, entry]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^\s*hint: /m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readdirSync(jobRoot).filter((f) => /^\d+$/.test(f))).toEqual([]);
  });
});
