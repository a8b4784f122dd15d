// Elastic clusters need Slurm: a cluster of the local launcher refuses grow with exit 2 and a hint
// (a satellite is a Slurm job; there is nothing to submit locally), and shrink has nothing to drain.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli-process.js';
import { bundle, ensureBuilt, root } from './helpers.js';

ensureBuilt();
const env = { ...process.env, NO_COLOR: '1' };
const cli = (args: string[]) =>
  spawnSync(process.execPath, [bundle, ...args], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });

describe('grow and shrink on a local cluster', () => {
  it('grow is exit 2 naming the local launcher, with a hint; shrink of a node of the job is exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raysl-elastic-local-'));
    const u = spawnCli([bundle, 'up', '--local', '-N', '1', '--job-dir', dir], {
      cwd: root,
      env,
      defaultStream: 'stdout',
      defaultMs: 30_000,
    });
    try {
      const id = (await u.waitFor(/^(local-\d+-\d+)$/m))[1]!;
      const g = cli(['grow', id, '-N', '1', '--job-dir', dir]);
      expect(g.status).toBe(2);
      // (a progress line first while the cluster still forms, as raysl exec says it)
      expect(g.stderr).toMatch(
        new RegExp(
          `(^|\\n)raysl: error: job ${id} runs on the local launcher, which cannot add nodes: grow needs a Slurm job\\n  hint: run the cluster on Slurm \\(raysl up -N <n>\\) to grow it\\n$`,
        ),
      );
      const s = cli(['shrink', id, 'node1', '--job-dir', dir]);
      expect(s.status).toBe(2);
      expect(s.stderr).toMatch(
        /^raysl: error: node1 is a node of job \S+'s own allocation: only a satellite's nodes can be shrunk\n {2}hint: /,
      );
      expect(cli(['down', id, '--job-dir', dir]).status).toBe(0);
      expect(await u.exited).toBe(0);
    } finally {
      if (u.child.exitCode === null) u.child.kill('SIGKILL');
    }
  }, 60_000);
});
