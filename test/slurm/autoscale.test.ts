// Automatic scaling on the Slurm test cluster (issue 22, section 3): `raysl up -N 2 --max-nodes 4`
// holds a builtin cluster; work that needs all 4 nodes (a STRICT_SPREAD placement group of 4
// one-CPU bundles, a task in each) makes the controller grow by a satellite of 2 nodes; the work
// runs on 4 distinct nodes and ends; after --idle-timeout the satellite is shrunk whole and its
// Slurm job ends; the timeline holds each decision with its reason. Then down: nothing is left on
// any node. The cluster has 4 nodes shared with other tests: the satellite may queue a while.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/core/status.js';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { until } from '../support/until.js';
import { newJobRoot, rayslDone, readJobStatus, root, waitForStatus } from './raysl-cli.js';
import { activate, rayBinEnv } from './ray-helpers.js';

slurmConf();

const autoscaleEvents = (s: JobStatus | undefined) =>
  (s?.timeline ?? []).filter((e) => e.phase === 'autoscale').map((e) => e.detail ?? '');

/** scancel of the job and its satellite if a failure left them, then until both left the queue. */
async function cleanUp(jobRoot: string, jobId: string, satelliteJob: string | undefined): Promise<void> {
  const conf = { env: { ...process.env, SLURM_CONF: slurmConf() } };
  if (readJobStatus(jobRoot, jobId)?.state === 'running') spawnSync('scancel', [jobId], conf);
  if (satelliteJob) spawnSync('scancel', [satelliteJob], conf);
  const ids = [jobId, satelliteJob].filter(Boolean).join(',');
  await until(
    'the job and its satellite to leave the queue',
    async () =>
      spawnSync('squeue', ['-h', '-j', ids], { ...conf, encoding: 'utf8' }).stdout.trim() === '' ? true : undefined,
    60_000,
  ).catch(() => undefined);
}

/** After the work: the grow event, then the satellite shrunk whole after the idle timeout and its job gone; then down leaves nothing. */
async function expectGrowThenShrink(jobRoot: string, jobId: string, what: RegExp): Promise<string | undefined> {
  const grown = readJobStatus(jobRoot, jobId)!;
  expect(autoscaleEvents(grown).filter((d) => d.startsWith('grow by'))).toEqual([expect.stringMatching(what)]);
  expect(grown.satellites).toHaveLength(1);
  const satelliteJob = grown.satellites![0]!.slurmJobId;
  const shrunk = await waitForStatus(
    jobRoot,
    jobId,
    'the satellite shrunk and ended',
    (s) => s.satellites?.[0]?.state === 'ended',
    120_000,
  );
  expect(autoscaleEvents(shrunk).filter((d) => d.startsWith('shrink'))).toEqual([
    expect.stringMatching(
      /^shrink \S+: satellite \S+ \(node\d, node\d\) idle for \d+(\.\d)? s, over --idle-timeout 10 s, and no work waits$/,
    ),
  ]);
  expect(shrunk.state).toBe('running');
  if (satelliteJob) {
    await waitForJobEnd(satelliteJob, { timeoutMs: 60_000 });
    expect(jobProcesses(satelliteJob)).toEqual([]);
  }
  const st = await rayslDone(['status', jobId, '--job-dir', jobRoot]);
  expect(st.stdout).toMatch(/autoscale: grow by 2 nodes/);
  expect(st.stdout).toMatch(/autoscale: shrink /);
  const down = await rayslDone(['down', jobId, '--job-dir', jobRoot]);
  expect(down.code, down.stderr).toBe(0);
  await waitForJobEnd(jobId);
  expect(jobProcesses(jobId)).toEqual([]);
  return satelliteJob;
}

describe('autoscaling (--max-nodes) on Slurm', () => {
  it('up -N 2 --max-nodes 4: grows by 2 for a group that needs 4 nodes, runs it, shrinks back after the idle timeout', async () => {
    const jobRoot = newJobRoot('autoscale');
    const up = await rayslDone([
      'up',
      '-N',
      '2',
      '--max-nodes',
      '4',
      '--scale-up-delay',
      '1',
      '--idle-timeout',
      '10',
      '--job-dir',
      jobRoot,
    ]);
    expect(up.code, up.stderr).toBe(0);
    const jobId = up.stdout.trim();
    let satelliteJob: string | undefined;
    try {
      const client = join(jobRoot, 'spread4.mjs');
      writeFileSync(
        client,
        [
          `import { connect } from ${JSON.stringify(join(root, 'dist', 'client.mjs'))};`,
          'const c = await connect();',
          "const pg = c.placementGroup([{ cpus: 1 }, { cpus: 1 }, { cpus: 1 }, { cpus: 1 }], { strategy: 'STRICT_SPREAD' });",
          'await pg.ready({ timeoutMs: 240_000 });',
          "const ran = await Promise.all([0, 1, 2, 3].map((bundle) => c.run(['hostname'], { cpus: 1, placementGroup: pg, bundle })));",
          "console.log('ran on', ran.map((r) => r.node).sort().join(','), 'exits', ran.map((r) => r.exitCode).join(','));",
          'await pg.remove();',
          'c.close();',
        ].join('\n'),
      );
      const work = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'node', client]);
      expect(work.code, work.stderr).toBe(0);
      const line = /^ran on (\S+) exits (\S+)$/m.exec(work.stdout);
      expect(line?.[2]).toBe('0,0,0,0');
      expect(new Set(line?.[1]?.split(',')).size).toBe(4);

      satelliteJob = await expectGrowThenShrink(
        jobRoot,
        jobId,
        /^grow by 2 nodes: placement group \S+ \(4 bundles, STRICT_SPREAD\) waited over 1 s .*--max-nodes 4$/,
      );
    } finally {
      await cleanUp(jobRoot, jobId, satelliteJob ?? readJobStatus(jobRoot, jobId)?.satellites?.[0]?.slurmJobId);
    }
  }, 420_000);

  it('Ray: up -N 2 --runtime ray --max-nodes 4 grows for a STRICT_SPREAD group Ray reports pending, and shrinks back', async () => {
    const jobRoot = newJobRoot('autoscale-ray');
    const up = await rayslDone(
      [
        'up',
        '-N',
        '2',
        '--runtime',
        'ray',
        '--max-nodes',
        '4',
        '--scale-up-delay',
        '1',
        '--idle-timeout',
        '10',
        '--job-dir',
        jobRoot,
        ...activate(),
      ],
      { env: rayBinEnv() },
    );
    expect(up.code, up.stderr).toBe(0);
    const jobId = up.stdout.trim();
    let satelliteJob: string | undefined;
    try {
      const driver = join(jobRoot, 'spread4.py');
      writeFileSync(
        driver,
        [
          'import ray',
          'from ray.util.placement_group import placement_group, remove_placement_group',
          'from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy',
          'ray.init()',
          'pg = placement_group([{"CPU": 1}] * 4, strategy="STRICT_SPREAD")',
          'ray.get(pg.ready(), timeout=240)',
          '@ray.remote(num_cpus=1)',
          'def where():',
          '    return ray.get_runtime_context().get_node_id()',
          'ids = ray.get([where.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=i)).remote() for i in range(4)])',
          'print("distinct", len(set(ids)), "alive", len([n for n in ray.nodes() if n["Alive"]]), flush=True)',
          'remove_placement_group(pg)',
        ].join('\n'),
      );
      const work = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'python3', driver]);
      expect(work.code, work.stderr).toBe(0);
      expect(work.stdout).toMatch(/^distinct 4 alive 4$/m);
      satelliteJob = await expectGrowThenShrink(
        jobRoot,
        jobId,
        /^grow by 2 nodes: Ray placement group \S+ \(4 bundles, STRICT_SPREAD\) waited over 1 s .*--max-nodes 4$/,
      );
    } finally {
      await cleanUp(jobRoot, jobId, satelliteJob ?? readJobStatus(jobRoot, jobId)?.satellites?.[0]?.slurmJobId);
    }
  }, 480_000);
});
