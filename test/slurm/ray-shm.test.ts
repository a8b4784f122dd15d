// A node whose /dev/shm is too small for Ray's object store: raysl says so at start, naming the
// node and the size, instead of a Ray that moves its store to disk or dies later. Each test node
// has a mount namespace of its own (dev-slurm.sh), so a small tmpfs over /dev/shm on node3 alone
// is what a container with a 64 MB shm looks like.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { slurmConf, slurmDir } from './helpers.js';
import { newJobRoot, rayslDone, root } from './raysl-cli.js';
import { activate, rayBinEnv } from './ray-helpers.js';

slurmConf();

/** Runs `argv` in node's mount namespace (that of its slurmd, which its job steps share). */
function inNodeMounts(node: string, argv: string[]): void {
  const pid = readFileSync(join(slurmDir(), 'run', `slurmd-${node}.pid`), 'utf8').trim();
  if (!/^\d+$/.test(pid)) throw new Error(`no slurmd pid for ${node}: ${JSON.stringify(pid)}`);
  execFileSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', ...argv], { stdio: 'pipe' });
}

describe('ray runtime: /dev/shm too small', () => {
  it('exit 4 at start with one line naming the node and what /dev/shm has, and a hint; no hang', async () => {
    inNodeMounts('node3', ['mount', '-t', 'tmpfs', '-o', 'size=32m', 'raysl-test-shm', '/dev/shm']);
    try {
      const jobRoot = newJobRoot('shm');
      const r = await rayslDone(
        [
          'submit',
          '-N',
          '1',
          '--sbatch-arg=--nodelist=node3',
          ...activate(),
          '--job-dir',
          jobRoot,
          join(root, 'examples', 'train.py'),
          '--follow',
        ],
        { env: rayBinEnv() },
      );
      expect(r.code, r.stderr).toBe(4);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('raysl: error: '));
      expect(errors, r.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(
        /node3 \(Ray's object store would get \d+ MiB, expected at least 75 MiB: \/dev\/shm has only 32 MiB free/,
      );
      // more memory would not help: the hint is about /dev/shm or the node
      expect(r.stderr).toMatch(/^ {2}hint: run where \/dev\/shm is larger .*--exclude/m);
      expect(r.stdout).not.toMatch(/checks:/);
    } finally {
      inNodeMounts('node3', ['umount', '/dev/shm']);
    }
  }, 120_000);
});
