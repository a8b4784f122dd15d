// --preflight on the real test cluster, with one node really unfit: node3's scratch filesystem is an
// 8 MiB tmpfs, mounted in node3's own mount namespace only (dev-slurm.sh gives every node one, with
// slave propagation), over the directory every node uses as TMPDIR. The other nodes see the host's
// disk there. node3's agent must name the node and what it found; under --min-nodes the job goes on
// without it, without --min-nodes it fails with exit 4; nothing of the job is left on any node.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobProcesses, slurmConf, slurmDir, waitForJobEnd } from './helpers.js';
import { newJobRoot, raysl, root, submittedId } from './raysl-cli.js';

slurmConf();
const hello = join(root, 'test', 'local', 'fixtures', 'hello.sh');
let scratch = '';
let node3Mnt = '';

beforeAll(() => {
  scratch = mkdtempSync('/tmp/raysl-preflight-');
  const slurmd = readFileSync(join(slurmDir(), 'run', 'slurmd-node3.pid'), 'utf8').trim();
  node3Mnt = `/proc/${slurmd}/ns/mnt`;
  execFileSync('nsenter', [
    `--mount=${node3Mnt}`,
    'mount',
    '-t',
    'tmpfs',
    '-o',
    'size=8m',
    'raysl-preflight-test',
    scratch,
  ]);
});

afterAll(() => {
  if (node3Mnt !== '') execFileSync('nsenter', [`--mount=${node3Mnt}`, 'umount', scratch]);
  if (scratch !== '') rmdirSync(scratch);
});

async function submit(
  name: string,
  flags: string[],
): Promise<{ code: number; stderr: string; jobId: string; jobRoot: string }> {
  const jobRoot = newJobRoot(name);
  // sbatch exports the submitter's environment: the controller puts every node's scratch dir under this TMPDIR
  const c = raysl(
    ['submit', '-N', '4', '--preflight', '--join-timeout', '60', ...flags, '--job-dir', jobRoot, hello, '--follow'],
    { env: { TMPDIR: scratch } },
  );
  const jobId = await submittedId(c);
  const code = await c.exited;
  await waitForJobEnd(jobId);
  return { code, stderr: c.stderr(), jobId, jobRoot };
}

const node3Unfit = (dir: string) =>
  new RegExp(
    `node3 failed: preflight: ${dir.replaceAll('/', '\\/')} has [78]\\.?\\d* MiB free, below the 1\\.0 GiB asked for`,
  );

describe('raysl submit --preflight', () => {
  it('with --min-nodes 3 the job goes on without the unfit node, saying which and why', async () => {
    const r = await submit('pf-min', ['--min-nodes', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(node3Unfit(scratch));
    expect(r.stderr).toMatch(/cluster ready: 3\/4 nodes/);
    for (const n of ['node1', 'node2', 'node4']) {
      expect(readFileSync(join(r.jobRoot, r.jobId, `agent-${n}.log`), 'utf8')).toMatch(
        /preflight: \/dev\/shm [\d.]+ GiB; scratch [\d.]+ GiB free in \/tmp\/raysl-preflight-\w+; GPUs none bound; runtime builtin at \//,
      );
    }
    const status = JSON.parse(readFileSync(join(r.jobRoot, r.jobId, 'status.json'), 'utf8')) as {
      state: string;
      nodes: Array<{ name: string; state: string; reason?: string }>;
    };
    expect(status.state).toBe('succeeded');
    expect(status.nodes.find((n) => n.name === 'node3')).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(
        /^preflight: \/tmp\/raysl-preflight-\w+ has [78] MiB free, below the 1\.0 GiB asked for/,
      ),
    });
    expect(jobProcesses(r.jobId)).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('without --min-nodes the job fails with exit 4, naming node3, what it found, and a hint', async () => {
    const r = await submit('pf-all', []);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /raysl: error: the cluster did not form: 1 node\(s\) failed before joining; \d\/4 nodes joined; missing: .*node3 \(preflight: /,
    );
    expect(r.stderr).toMatch(
      /hint: fix the node or exclude it \(--sbatch-arg=--exclude=<node>\); --min-nodes lets the job go on without it/,
    );
    expect(jobProcesses(r.jobId)).toEqual([]);
    expect(existsSync(join(scratch, `raysl-${r.jobId}`))).toBe(false);
  });
});
