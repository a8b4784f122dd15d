// Elastic clusters, the pure parts: the wire schemas of grow/shrink, the satellite's batch script
// (every value quoted for the reader that reads it, no secret in it), the status view of
// satellites, and the scheduler's drain.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { planJob, type PlanTools } from '../../src/core/plan.js';
import { buildSpec } from '../../src/core/spec.js';
import { Scheduler } from '../../src/core/scheduler/index.js';
import { initialStatus, withPhase, type JobStatus } from '../../src/core/status.js';
import type { ClusterFacts, NodeFacts } from '../../src/core/types.js';
import {
  parseGrowRequest,
  parseSatellite,
  parseSatelliteStarted,
  parseShrinkRequest,
} from '../../src/protocol/elastic.js';
import { renderSatelliteScript, satelliteSbatch } from '../../src/render/satellite.js';
import { eventLine, formatStatus, satelliteLines, statusView } from '../../src/cli/status-view.js';

const tools: PlanTools = {
  tsx: '/opt/raysl/node_modules/tsx/dist/cli.mjs',
  hook: 'file:///opt/raysl/dist/register-entry.mjs',
  node: '/usr/bin/node',
  cwd: '/home/alice/proj',
  version: '0.0.0-test',
};
const n = (name: string): NodeFacts => ({
  name,
  cpus: 8,
  memoryMb: 16_000,
  gpus: 4,
  gres: 'gpu:4',
  state: 'idle',
  partitions: [],
  features: [],
});
const facts: ClusterFacts = {
  source: 'sinfo',
  slurmVersion: '22.05.8',
  partition: 'gpu',
  nodes: [n('g1'), n('g2'), n('g3')],
  ephemeralPortRange: [32768, 60999],
};
const SECRET = 's3cr3t-v@lue';
const plan = planJob(
  buildSpec(
    'train.py',
    [],
    {
      nodes: 2,
      gpusPerNode: 2,
      cpusPerTask: 8,
      partition: 'gpu',
      time: '1:00:00',
      env: { WANDB_API_KEY: SECRET },
      setup: ['module load cuda'],
    },
    { cwd: tools.cwd },
  ),
  facts,
  tools,
);
const ctx = {
  jobId: '4242',
  satellite: 's1',
  jobDir: "/jobs/al'ice/4242",
  controller: '10.0.0.1:20480',
  node: '/usr/bin/node',
  raysl: '/opt/ray sl/dist/raysl.mjs',
  reason: 'by hand\n(raysl grow)',
  exclude: ['g1', 'g2'],
};

describe('elastic wire schemas', () => {
  it('grow: nodes is a whole number >= 1; the job flags are optional strings/counts', () => {
    expect(parseGrowRequest({ nodes: 2, partition: 'gpu', gpusPerNode: 0, waitMs: 1000 })).toEqual({
      nodes: 2,
      partition: 'gpu',
      gpusPerNode: 0,
      waitMs: 1000,
    });
    expect(() => parseGrowRequest({ nodes: 0 })).toThrow(/malformed grow request: nodes: must be at least 1/);
    expect(() => parseGrowRequest({ nodes: 1.5 })).toThrow(/nodes: expected int/);
    expect(() => parseGrowRequest({ nodes: 1, partition: '' })).toThrow(/partition: must be at least 1/);
    expect(() => parseGrowRequest({})).toThrow(/nodes: expected/);
  });
  it('shrink: at least one target; the drain timeout is optional and >= 0', () => {
    expect(parseShrinkRequest({ targets: ['s1', 'node3'], drainTimeoutMs: 0 })).toEqual({
      targets: ['s1', 'node3'],
      drainTimeoutMs: 0,
    });
    expect(() => parseShrinkRequest({ targets: [] })).toThrow(/targets: must be at least 1/);
    expect(() => parseShrinkRequest({ targets: ['s1'], drainTimeoutMs: -1 })).toThrow(
      /drainTimeoutMs: must be at least 0/,
    );
  });
  it('a satellite start names its Slurm job and at least one node; a satellite has a known state', () => {
    expect(parseSatelliteStarted({ slurmJobId: '17', nodes: ['node3'] })).toEqual({
      slurmJobId: '17',
      nodes: ['node3'],
    });
    expect(() => parseSatelliteStarted({ slurmJobId: '17', nodes: [] })).toThrow(/nodes: must be at least 1/);
    const sat = {
      id: 's1',
      state: 'joined',
      requested: 1,
      nodes: ['node3'],
      joined: ['node3'],
      submittedAt: '2026-01-01T00:00:00.000Z',
      reason: 'by hand',
    };
    expect(parseSatellite(sat)).toEqual(sat);
    expect(() => parseSatellite({ ...sat, state: 'gone' })).toThrow(/state: expected one of "queued"/);
  });
});

describe('the satellite batch script', () => {
  it("takes the job's node shape, the grow flags over it, excludes the cluster's nodes and writes its log to the job dir", () => {
    expect(satelliteSbatch(plan, { nodes: 2, partition: 'other', gpusPerNode: 0, qos: 'low' }, ctx)).toEqual([
      ['--job-name', 'raysl-sat-4242-s1'],
      ['--nodes', '2'],
      ['--ntasks-per-node', '1'],
      ['--cpus-per-task', '8'],
      ['--partition', 'other'],
      ['--time', '1:00:00'],
      ['--qos', 'low'],
      ['--exclude', 'g1,g2'],
      ['--no-requeue', ''],
      ['--output', "/jobs/al'ice/4242/satellite-s1.out"],
    ]);
    expect(satelliteSbatch(plan, { nodes: 1 }, { ...ctx, exclude: [] })).toContainEqual(['--gpus-per-node', '2']);
  });

  it('quotes every value for sbatch and bash; the token and the job env never appear in it', () => {
    const hostile = 'x"; touch /tmp/pwned; "';
    const text = renderSatelliteScript(
      plan,
      { nodes: 1, constraint: hostile, account: "it's", containerImage: 'nvcr.io/x:1 $(id)' },
      ctx,
    );
    expect(text).toContain(`#SBATCH --constraint="x\\"; touch /tmp/pwned; \\""`);
    expect(text).toContain(`#SBATCH --account="it's"`);
    expect(text).toContain('# why:        by hand?(raysl grow)');
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/RAYSL_TOKEN|token=/i);
    expect(text).toContain('module load cuda');
    expect(spawnSync('bash', ['-n'], { input: text }).status).toBe(0);
    // the exec line, read by bash, is exactly raysl's argv
    const exec = text.split('\n').find((l) => l.startsWith('exec '))!;
    const argv = spawnSync('bash', ['-c', `args() { printf '%s\\n' "$@"; }; args ${exec.slice('exec '.length)}`], {
      encoding: 'utf8',
    })
      .stdout.trim()
      .split('\n');
    expect(argv).toEqual([
      '/usr/bin/node',
      '--',
      '/opt/ray sl/dist/raysl.mjs',
      'satellite',
      '--job-dir',
      "/jobs/al'ice/4242",
      '--satellite',
      's1',
      '--controller',
      '10.0.0.1:20480',
      '--container-image',
      'nvcr.io/x:1 $(id)',
    ]);
  });

  it('refuses a newline in a value that reaches an #SBATCH line', () => {
    expect(() => renderSatelliteScript(plan, { nodes: 1, partition: 'a\nb' }, ctx)).toThrow(/--partition/);
  });
});

describe('status of an elastic cluster', () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  let s: JobStatus = initialStatus({
    jobId: '42',
    runtime: 'builtin',
    launcher: 'srun',
    nodes: ['node1', 'node2'].map((x, i) => ({
      name: x,
      address: `10.0.0.${i + 1}`,
      role: i === 0 ? 'head' : 'worker',
      log: `/j/42/agent-${x}.log`,
    })),
    minNodes: 2,
    startedAtMs: T0,
  });
  s = {
    ...s,
    nodes: [
      ...s.nodes.map((x) => ({ ...x, state: 'joined' as const })),
      {
        name: 'node3',
        address: '10.0.0.3',
        role: 'worker',
        state: 'lost',
        log: '/j/42/agent-node3.log',
        satellite: 's1',
        reason: 'its satellite s1 was stopped by Slurm',
      },
    ],
    joined: ['node1', 'node2', 'node3'],
    satellites: [
      {
        id: 's1',
        slurmJobId: '43',
        state: 'cancelled',
        requested: 1,
        nodes: ['node3'],
        joined: ['node3'],
        submittedAt: '2026-01-01T00:00:01.000Z',
        reason: 'by hand (raysl grow)',
        why: 'its Slurm job 43 was stopped from outside',
      },
      {
        id: 's2',
        slurmJobId: '44',
        state: 'queued',
        requested: 2,
        nodes: [],
        joined: [],
        submittedAt: '2026-01-01T00:00:02.000Z',
        reason: 'by hand (raysl grow)',
      },
    ],
  };
  s = withPhase(withPhase(s, T0 + 500, { phase: 'node-joined', node: 'node1' }), T0 + 600, {
    phase: 'node-joined',
    node: 'node2',
  });
  s = withPhase(s, T0 + 3000, { phase: 'node-joined', node: 'node3' });

  it('one line per satellite: its Slurm id, state, nodes and why', () => {
    expect(satelliteLines(s)).toEqual([
      'satellites:',
      '  s1  slurm 43  cancelled  node3 (1/1 joined)  its Slurm job 43 was stopped from outside',
      '  s2  slurm 44  queued     2 node(s) asked     by hand (raysl grow)',
    ]);
    expect(satelliteLines({})).toEqual([]);
  });
  it("counts the job's own nodes apart from a satellite's in the timeline", () => {
    expect(eventLine(s, s.timeline[0]!)).toBe('allocated node1,node2; head node1');
    expect(eventLine(s, s.timeline[2]!)).toBe('node2 joined 2/2');
    expect(eventLine(s, s.timeline[3]!)).toBe('node3 joined from satellite s1');
    expect(eventLine(s, { phase: 'satellite-cancelled', at: '', t: 9, detail: 's1 (Slurm 43) node3: why' })).toBe(
      'satellite cancelled: s1 (Slurm 43) node3: why',
    );
  });
  it('status names the satellite of each node', () => {
    const out = formatStatus(statusView('42', '/j/42', s, { state: 'RUNNING', reason: 'None', nodelist: 'node[1-2]' }));
    expect(out).toMatch(/node3\s+worker\s+lost\s+10\.0\.0\.3\s+satellite s1\s+its satellite s1 was stopped by Slurm/);
    expect(out).toContain('satellites:\n  s1  slurm 43  cancelled');
  });
});

describe('scheduler drain', () => {
  it('places nothing new on a draining node; holdsOn says when its work is gone', () => {
    const s = new Scheduler();
    s.addNode({ name: 'a', cpus: 2, gpuIds: [] });
    s.addNode({ name: 'b', cpus: 2, gpuIds: [] });
    expect(s.submit('t1', { cpus: 2 })).toMatchObject({ status: 'placed', grant: { node: 'a' } });
    s.drainNode('a');
    expect(s.holdsOn('a')).toBe(true);
    expect(s.submit('t2', { cpus: 2 })).toMatchObject({ status: 'placed', grant: { node: 'b' } });
    expect(s.submit('t3', { cpus: 1 })).toEqual({ status: 'pending' });
    // a's task ends: a frees, but stays out of placement; nothing waits for it to be removed
    expect(s.release('t1')).toEqual([]);
    expect(s.holdsOn('a')).toBe(false);
    expect(s.createGroup('g', [{ cpus: 1 }], 'PACK')).toEqual({ status: 'pending' });
    expect(s.release('t2').map((d) => d.kind)).toEqual(['placed', 'group-ready']);
    expect(s.removeNode('a').evicted).toEqual([]);
  });
});
