import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { resourcesForRole } from '../../src/core/het-plan.js';
import { planJob, type PlanTools } from '../../src/core/plan.js';
import { buildSpec, type JobInput } from '../../src/core/spec.js';
import type { ClusterFacts, NodeFacts } from '../../src/core/types.js';

const tools: PlanTools = {
  tsx: '/opt/raysl/node_modules/tsx/dist/cli.mjs',
  hook: 'file:///opt/raysl/dist/register-entry.mjs',
  node: '/usr/bin/node',
  cwd: '/home/u/proj',
  version: '0.0.0-test',
};
const node = (name: string, over: Partial<NodeFacts> = {}): NodeFacts => ({
  name,
  cpus: 4,
  memoryMb: 4096,
  gpus: 4,
  gres: 'gpu:4',
  state: 'idle',
  partitions: ['debug'],
  features: [],
  ...over,
});
const facts = (nodes: NodeFacts[], partition = 'debug'): ClusterFacts => ({
  source: 'sinfo',
  slurmVersion: '22.05.8',
  partition,
  nodes,
  ephemeralPortRange: [32768, 60999],
});
// the Slurm test cluster: 4 nodes, 4 CPUs and 4 GPUs each
const testCluster = facts([1, 2, 3, 4].map((i) => node(`node${i}`)));
const mixed = facts([
  node('gpu1', { cpus: 64, gpus: 8 }),
  node('gpu2', { cpus: 64, gpus: 8 }),
  node('cpu1', { cpus: 64, gpus: 0, gres: '(null)' }),
]);
const plan = (input: JobInput, f: ClusterFacts = testCluster) =>
  planJob(buildSpec('train.ts', [], { headCpusOnly: true, ...input }, { cwd: tools.cwd }), f, tools);

describe('--head-cpus-only: the plan', () => {
  it('-N 2 --gpus-per-node 1: 3 nodes, the head alone in component 0 without GPUs, the workers in component 1', () => {
    const p = plan({ nodes: 2, gpusPerNode: 1 });
    expect(p.nodes).toBe(3);
    expect(p.minNodes).toBe(3);
    expect(p.hetjob?.map((c) => [c.index, c.role, c.nodes, c.perNode.gpus])).toEqual([
      [0, 'head', 1, 0],
      [1, 'worker', 2, 1],
    ]);
    expect(resourcesForRole(p, 'head')).toEqual({ cpus: 4, gpus: 0 });
    expect(resourcesForRole(p, 'worker')).toEqual({ cpus: 4, gpus: 1 });
    expect(p.aggregate).toEqual({ cpus: 12, gpus: 2 });
  });

  it('component 0 holds the job-wide lines and no GPUs; component 1 the GPU shape, -C and --exclusive', () => {
    const p = plan(
      { nodes: 2, gpusPerNode: 8, exclusive: true, constraint: 'a100', time: '1:00:00', mem: '2G' },
      facts([
        ...mixed.nodes,
        node('gpu3', { cpus: 64, gpus: 8, features: ['a100'] }),
        node('gpu4', { cpus: 64, gpus: 8, features: ['a100'] }),
      ]),
    );
    const [head, workers] = p.hetjob!;
    expect(p.sbatch).toEqual(head.sbatch);
    expect(head.sbatch.map(([f]) => f)).toEqual([
      '--job-name',
      '--nodes',
      '--ntasks-per-node',
      '--cpus-per-task',
      '--mem',
      '--time',
      '--signal',
      '--no-requeue',
      '--output',
    ]);
    expect(workers.sbatch).toEqual([
      ['--nodes', '2'],
      ['--ntasks-per-node', '1'],
      ['--cpus-per-task', '64'],
      ['--gpus-per-node', '8'],
      ['--mem', '2G'],
      ['--time', '1:00:00'],
      ['--exclusive', ''],
      ['--constraint', 'a100'],
    ]);
  });

  it('--min-nodes counts GPU workers like -N: the head is always waited for', () => {
    expect(plan({ nodes: 3, minNodes: 2, gpusPerNode: 1 }).minNodes).toBe(3);
  });

  it('a partition with a CPU node: no warning; one without: the head takes a GPU node, said as a warning', () => {
    expect(plan({ nodes: 2, gpusPerNode: 8 }, mixed).warnings).toEqual([]);
    expect(plan({ nodes: 2, gpusPerNode: 1 }).warnings).toEqual([
      expect.stringMatching(/partition debug has no node without GPUs, so the head takes a GPU node/),
    ]);
  });

  it('a plan without the flag has no components', () => {
    expect(
      planJob(buildSpec('train.ts', [], { nodes: 2, gpusPerNode: 1 }, { cwd: tools.cwd }), testCluster, tools).hetjob,
    ).toBeUndefined();
  });
});

describe('--head-cpus-only: refusals (exit 2 with a hint)', () => {
  it.each<[string, JobInput, ClusterFacts, RegExp, RegExp]>([
    ['no GPUs asked for', { nodes: 2 }, testCluster, /the job asks for no GPUs/, /add --gpus-per-node/],
    [
      '-N 4 on 4 nodes: no node left for the head',
      { nodes: 4, gpusPerNode: 1 },
      testCluster,
      /-N 4: the job needs 5 nodes \(4 GPU workers and the head's own\), partition debug has 4/,
      /use -N 3 or less/,
    ],
    [
      '-N 2 on a partition of 2 nodes',
      { nodes: 2, gpusPerNode: 8 },
      facts(mixed.nodes.slice(0, 2)),
      /needs 3 nodes/,
      /use -N 1 or less/,
    ],
    [
      '-N 1 on a one-node partition',
      { nodes: 1, gpusPerNode: 1 },
      facts([node('only')]),
      /needs 2 nodes/,
      /drop --head-cpus-only/,
    ],
    [
      'a CPU node too small for the head, the GPU nodes all taken',
      { nodes: 2, gpusPerNode: 8, cpusPerTask: 64 },
      facts([...mixed.nodes.slice(0, 2), node('cpu1', { cpus: 8, gpus: 0 })]),
      /has 2 with 64 CPUs/,
      /use -N 1 or less/,
    ],
  ])('%s', (_what, input, f, message, hint) => {
    expect(() => plan(input, f)).toThrow(
      expect.objectContaining({
        constructor: UsageError,
        exitCode: 2,
        message: expect.stringMatching(message),
        hint: expect.stringMatching(hint),
      }),
    );
  });

  it('-N 1 is a 2-node job (the head and one GPU worker), not a refusal', () => {
    expect(plan({ nodes: 1, gpusPerNode: 1 }).nodes).toBe(2);
  });
});
