// --head-cpus-only below the planner: the batch step's het environment as Slurm 22.05 and 24.11 set
// it on the test cluster (test/fixtures/slurm/het-batch-env-<release>.txt), the allocation read from
// it, and the srun steps that start the agents in their components.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hetGroupsFromEnv } from '../../src/core/het-env.js';
import { planJob, type PlanTools } from '../../src/core/plan.js';
import { buildSpec } from '../../src/core/spec.js';
import type { ClusterFacts, NodeFacts } from '../../src/core/types.js';
import { readAllocation } from '../../src/controller/allocate.js';
import { agentSteps } from '../../src/launchers/srun.js';
import { srunArgv } from '../../src/slurm/srun.js';
import { parseSqueue } from '../../src/slurm/squeue.js';
import { runtimeCommands } from '../../src/runtimes/ray/argv.js';

function recordedEnv(name: string): Record<string, string> {
  const text = readFileSync(new URL(`../fixtures/slurm/${name}`, import.meta.url), 'utf8');
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
const env = recordedEnv('het-batch-env-22.05.txt');
const RELEASES = ['22.05', '24.11'] as const;

const tools: PlanTools = {
  tsx: '/opt/raysl/tsx.mjs',
  hook: 'file:///opt/raysl/hook.mjs',
  node: '/usr/bin/node',
  cwd: '/jobs',
  version: '0.0.0-test',
};
const node = (name: string): NodeFacts => ({
  name,
  cpus: 4,
  memoryMb: 4096,
  gpus: 4,
  gres: 'gpu:4',
  state: 'idle',
  partitions: ['debug'],
  features: [],
});
const facts: ClusterFacts = {
  source: 'sinfo',
  partition: 'debug',
  nodes: [1, 2, 3, 4].map((i) => node(`node${i}`)),
  ephemeralPortRange: [32768, 60999],
};
const hetPlan = planJob(
  buildSpec('train.ts', [], { nodes: 2, gpusPerNode: 1, headCpusOnly: true }, { cwd: '/jobs' }),
  facts,
  tools,
);

describe.each(RELEASES)('het job environment (Slurm %s, recorded)', (release) => {
  const recorded = recordedEnv(`het-batch-env-${release}.txt`);

  it('the recorded batch step sees only component 0 in SLURM_JOB_NODELIST', () => {
    expect(recorded.SLURM_JOB_NODELIST).toBe('node1');
    expect(recorded.SLURM_HET_SIZE).toBe('2');
  });

  it('reads each component from SLURM_JOB_NODELIST_HET_GROUP_<k>', () => {
    expect(hetGroupsFromEnv(recorded)).toEqual({ groups: [['node1'], ['node2', 'node3']] });
  });

  it('the controller reads every node of both components from it, the head (component 0) first', () => {
    const alloc = readAllocation(hetPlan, recorded);
    expect(alloc.nodes).toEqual(['node1', 'node2', 'node3']);
    expect(alloc.head).toBe('node1');
  });
});

describe('het job environment: what 24.11 no longer sets (recorded next to 22.05)', () => {
  const old = recordedEnv('het-batch-env-22.05.txt');
  const now = recordedEnv('het-batch-env-24.11.txt');
  it('per-component task counts and SLURM_NODE_ALIASES are gone; nodelists, sizes and CPUs per task stay', () => {
    for (const name of ['SLURM_NTASKS_HET_GROUP_1', 'SLURM_NPROCS_HET_GROUP_1', 'SLURM_NODE_ALIASES']) {
      expect(old[name], name).toBeDefined();
      expect(now[name], name).toBeUndefined();
    }
    for (const name of [
      'SLURM_HET_SIZE',
      'SLURM_JOB_NODELIST_HET_GROUP_0',
      'SLURM_JOB_NODELIST_HET_GROUP_1',
      'SLURM_CPUS_PER_TASK_HET_GROUP_1',
    ]) {
      expect(now[name], name).toBe(old[name]);
    }
  });
});

describe('het job environment (Slurm 22.05, recorded): names', () => {
  it('reads the PACK names of Slurm before 20.02 too', () => {
    expect(
      hetGroupsFromEnv({
        SLURM_PACK_SIZE: '2',
        SLURM_JOB_NODELIST_PACK_GROUP_0: 'a1',
        SLURM_JOB_NODELIST_PACK_GROUP_1: 'g[1-2]',
      }),
    ).toEqual({ groups: [['a1'], ['g1', 'g2']] });
  });

  it('outside a het job: undefined; a missing component: refused with a hint', () => {
    expect(hetGroupsFromEnv({ SLURM_JOB_NODELIST: 'node[1-2]' })).toBeUndefined();
    expect(() => hetGroupsFromEnv({ SLURM_HET_SIZE: '2', SLURM_JOB_NODELIST_HET_GROUP_0: 'node1' })).toThrow(
      /SLURM_JOB_NODELIST_HET_GROUP_1 is not set/,
    );
    expect(() => hetGroupsFromEnv({ SLURM_HET_SIZE: 'two' })).toThrow(/SLURM_HET_SIZE must be a whole number/);
  });
});

describe('the controller reads a het allocation', () => {
  it('every node of both components, the head (component 0) first', () => {
    const alloc = readAllocation(hetPlan, env);
    expect(alloc.nodes).toEqual(['node1', 'node2', 'node3']);
    expect(alloc.head).toBe('node1');
    expect(alloc.nodelist).toBe('node[1-3]');
  });

  it('refuses components of another shape than the plan (head alone in 0, workers in 1)', () => {
    expect(() => readAllocation(hetPlan, { ...env, SLURM_JOB_NODELIST_HET_GROUP_0: 'node[1-2]' })).toThrow(
      /Slurm gave 2 component\(s\) of 2, 2 node\(s\)/,
    );
  });

  it('without a het environment (run --local) the nodelist is read as usual', () => {
    expect(readAllocation(hetPlan, { SLURM_JOB_ID: '7', SLURM_JOB_NODELIST: 'n[1-3]' }).nodes).toEqual([
      'n1',
      'n2',
      'n3',
    ]);
  });
});

describe('agent steps in their components', () => {
  const targets = ['node1', 'node2', 'node3'].map((n, i) => ({
    node: n,
    role: i === 0 ? ('head' as const) : ('worker' as const),
    address: `10.0.0.${i + 1}`,
    log: `/jobs/18/agent-${n}.log`,
  }));
  const req = {
    targets,
    agentArgv: ['node', '/x/raysl.mjs', 'agent'],
    controller: '10.0.0.1:20000',
    perNode: hetPlan.perNode,
    hetjob: hetPlan.hetjob!,
  };

  it('the head: --het-group=0 without GPUs; the workers: --het-group=1 with theirs', () => {
    const [head, workers] = agentSteps(req);
    expect(head?.argv.slice(0, 6)).toEqual([
      'srun',
      '--het-group=0',
      '--nodes=1',
      '--ntasks=1',
      '--ntasks-per-node=1',
      '--nodelist=node1',
    ]);
    expect(head?.argv.some((a) => a.startsWith('--gpus'))).toBe(false);
    expect(workers?.argv.slice(0, 6)).toEqual([
      'srun',
      '--het-group=1',
      '--nodes=2',
      '--ntasks=2',
      '--ntasks-per-node=1',
      '--nodelist=node[2-3]',
    ]);
    expect(workers?.argv).toContain('--gpus-per-node=1');
  });

  it('without --head-cpus-only no step names a het group', () => {
    const { hetjob: _, ...plain } = req;
    expect(
      agentSteps({ ...plain, perNode: { cpus: 4, gpus: 1 } })
        .flatMap((s) => s.argv)
        .some((a) => a.startsWith('--het-group')),
    ).toBe(false);
  });

  it('srunArgv refuses a negative het group', () => {
    expect(() =>
      srunArgv({ hetGroup: -1, nodes: 1, nodelist: 'n1', ntasksPerNode: 1, overlap: true, command: ['true'] }),
    ).toThrow(/hetGroup must be an integer >= 0/);
  });
});

describe("Ray's head under --head-cpus-only", () => {
  it('the script header shows the head with --num-gpus=0 and the workers with their GPUs', () => {
    const plan = planJob(
      buildSpec('train.py', [], { nodes: 2, gpusPerNode: 1, headCpusOnly: true }, { cwd: '/jobs' }),
      facts,
      tools,
    );
    const [head, worker] = runtimeCommands(plan);
    expect(head?.command).toMatch(/--head .*--num-gpus=0 /);
    expect(worker?.command).toMatch(/--num-gpus=1 /);
  });
});

describe('squeue lists a het job as one job (Slurm 24.11, recorded: test/fixtures/slurm/squeue-het-24.11.txt)', () => {
  const recorded = readFileSync(new URL('../fixtures/slurm/squeue-het-24.11.txt', import.meta.url), 'utf8');
  const out = recorded.slice(recorded.indexOf('\n') + 1);

  it('"<id>+0" and "<id>+1" merge into one job: component 0 first, nodes and CPUs summed', () => {
    const jobs = parseSqueue(out);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      hetComponents: 2,
      state: 'PENDING',
      numNodes: 3,
      numCpus: 6,
      tresPerNode: 'gres/gpu:1',
    });
    expect(jobs[0]?.id).toMatch(/^10000\d\d$/);
  });
});

describe('squeue lists a het job as one job (Slurm 22.05, recorded: test/fixtures/slurm/squeue-het-22.05.txt)', () => {
  const recorded = readFileSync(new URL('../fixtures/slurm/squeue-het-22.05.txt', import.meta.url), 'utf8');
  const out = recorded.slice(recorded.indexOf('\n') + 1);

  it('"6+0" and "6+1" merge into job 6: component 0 first, nodes and CPUs summed, the Comment kept', () => {
    const jobs = parseSqueue(out);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      id: '6',
      hetComponents: 2,
      state: 'PENDING',
      numNodes: 3,
      numCpus: 3,
      comment: 'raysl:ports=20480-20543',
      tresPerNode: 'gres:gpu:1',
    });
  });

  it('running components merge their nodelists', () => {
    const running = out
      .replaceAll('PENDING', 'RUNNING')
      .replace('\x1f\x1fNone', '\x1fnode1\x1fNone')
      .replace('\x1f\x1fNone', '\x1fnode[2-3]\x1fNone');
    expect(parseSqueue(running)[0]?.nodelist).toBe('node[1-3]');
  });
});
