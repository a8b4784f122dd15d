// The Jobs API path of Ray's libraries on raysl (real Ray 2.60, the venv of scripts/ray-venv.sh with
// ray[default,train,...] and torch): `raysl up`, `eval "$(raysl attach <id>)"`, `ray job submit
// --working-dir . -- python train.py`: the driver runs inside Ray (the head's job supervisor), Train's
// ranks on all 4 nodes, and nothing listens outside the job's block that Ray's own code does not
// explain. A file of its own so that the Slurm 24.11 tier runs it and the 22.05 tier runs the other
// libraries (scripts/test.mjs: what does not depend on the Slurm release runs once).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { slurmConf } from './helpers.js';
import { newJobRoot, rayslDone, root } from './raysl-cli.js';
import { activate, cleanUp, venvBin } from './ray-helpers.js';
import { checks, expectNothingLeft, type Listener, listenersOutsideBlock, unexplained } from './ray-library-checks.js';

const conf = slurmConf();

describe('Ray libraries through the Jobs API of a raysl cluster (real Ray 2.60 with train)', () => {
  it('the Jobs API path: raysl up, eval "$(raysl attach <id>)", ray job submit --working-dir . -- python train.py; down leaves nothing', {
    timeout: 420_000,
  }, async () => {
    const jobRoot = newJobRoot('ray-jobsapi');
    const up = await rayslDone(['up', '-N', '4', '--runtime', 'ray', '--wait', '--job-dir', jobRoot, ...activate()]);
    expect(up.code, up.stderr).toBe(0);
    const jobId = up.stdout.trim();
    try {
      const script = [
        'set -e',
        `eval "$(${join(root, 'bin', 'raysl')} attach ${jobId} --job-dir ${jobRoot})"`,
        `cd ${join(root, 'examples', 'ray')}`,
        'ray job submit --working-dir . -- python train.py',
      ].join('\n');
      // what the training opens outside the block, seen while it runs (a /proc scan every 250 ms)
      const seen = new Map<string, Listener>();
      const scan = setInterval(() => {
        for (const l of listenersOutsideBlock(jobRoot, jobId)) seen.set(`${l.node}:${l.port}`, l);
      }, 250);
      const r = await new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          'bash',
          ['-c', script],
          {
            env: { ...process.env, SLURM_CONF: conf, NO_COLOR: '1', PATH: `${venvBin()}:${process.env.PATH ?? ''}` },
            timeout: 360_000,
            maxBuffer: 64 << 20,
            encoding: 'utf8',
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        );
      });
      clearInterval(scan);
      expect(r.code, r.out).toBe(0);
      expect(checks(r.out).failed).toEqual([]);
      expect(checks(r.out).ok, r.out).toHaveLength(5);
      expect(unexplained([...seen.values()])).toEqual([]);
      console.log(
        `train through the Jobs API, listeners outside the block: ${[...seen.values()].map((l) => `${l.port}@${l.node} ${l.cmd.split(' ')[0]}`).join(', ') || 'none seen'}`,
      );
      expect(r.out).toMatch(/^ok {3}ranks on 4 nodes/m);
      // the driver ran inside Ray (the head's job supervisor) and still wrote to this job's dir
      const path = /^checkpoint: (\S+)$/m.exec(r.out)?.[1] ?? '';
      expect(path.startsWith(join(jobRoot, jobId, 'ray_results', 'train-example') + '/'), path).toBe(true);
      expect(existsSync(join(path, 'model.pt'))).toBe(true);
      expect(r.out).toMatch(/Job 'raysubmit_\w+' succeeded/);

      const down = await rayslDone(['down', jobId, '--job-dir', jobRoot, '--json']);
      expect(down.code, down.stderr).toBe(0);
      await expectNothingLeft(jobId);
    } finally {
      await cleanUp([], [jobId]);
    }
  });
});
