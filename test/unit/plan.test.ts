import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { planJob, signalLeadSec, type PlanTools } from '../../src/core/plan.js';
import { buildSpec, type JobInput } from '../../src/core/spec.js';
import type { ClusterFacts, NodeFacts, Plan } from '../../src/core/types.js';

const tools: PlanTools = {
  tsx: '/opt/raysl/node_modules/tsx/dist/cli.mjs',
  hook: 'file:///opt/raysl/dist/register-entry.mjs',
  node: '/usr/bin/node',
  cwd: '/home/u/proj',
  version: '0.0.0-test',
};

function node(name: string, over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    name,
    cpus: 96,
    memoryMb: 1_031_000,
    gpus: 8,
    gres: 'gpu:a100:8',
    state: 'idle',
    partitions: ['gpu'],
    features: ['a100'],
    ...over,
  };
}
function facts(nodes: NodeFacts[], partition = 'gpu'): ClusterFacts {
  return { source: 'sinfo', slurmVersion: '23.11.4', partition, nodes, ephemeralPortRange: [32768, 60999] };
}
const gpuPartition = facts([1, 2, 3, 4].map((i) => node(`gpu-00${i}`)));
const none: ClusterFacts = { source: 'none', nodes: [], ephemeralPortRange: [32768, 60999] };
const spec = (entry: string, input: JobInput = {}, args: string[] = []) =>
  buildSpec(entry, args, input, { cwd: tools.cwd });

describe('planJob: resources', () => {
  it('4 nodes x 8 GPUs x 96 CPUs -> GPU 32, CPU 384', () => {
    const p = planJob(spec('train.py', { nodes: 4, gpusPerNode: 8, cpusPerTask: 96 }), gpuPartition, tools);
    expect(p.perNode).toEqual({ cpus: 96, gpus: 8 });
    expect(p.aggregate).toEqual({ cpus: 384, gpus: 32 });
    expect(p.nodes).toBe(4);
    expect(p.minNodes).toBe(4);
    expect(p.warnings).toEqual([]);
  });

  it('defaults CPUs per node to the smallest eligible node, and renders it explicitly', () => {
    const mixed = facts([
      node('a', { cpus: 128 }),
      node('b', { cpus: 64 }),
      node('c', { cpus: 96 }),
      node('d', { cpus: 32, gpus: 0, gres: '(null)' }),
    ]);
    // 2 nodes with 8 GPUs: the two largest eligible are 128 and 96 -> 96 fits both
    const p = planJob(spec('t.ts', { nodes: 2, gpusPerNode: 8 }), mixed, tools);
    expect(p.perNode.cpus).toBe(96);
    expect(p.sbatch).toContainEqual(['--cpus-per-task', '96']);
    expect(p.sbatch).toContainEqual(['--ntasks-per-node', '1']);
    expect(planJob(spec('t.ts', { nodes: 3, gpusPerNode: 8 }), mixed, tools).perNode.cpus).toBe(64);
  });

  it('without facts uses 1 CPU per node and says so', () => {
    const p = planJob(spec('t.ts', { nodes: 2 }), none, tools);
    expect(p.perNode.cpus).toBe(1);
    expect(p.warnings.join('\n')).toMatch(/using 1 CPU per node/);
    expect(p.warnings.join('\n')).toMatch(/--no-check/);
    expect(p.checkedAgainst).toBe('none');
  });

  it('memory: --mem per node, --mem 0 and --exclusive mean the whole (smallest) node', () => {
    expect(planJob(spec('t.ts', { mem: '64G', cpusPerTask: 4 }), gpuPartition, tools).perNode.memoryMb).toBe(65536);
    expect(planJob(spec('t.ts', { mem: '0' }), gpuPartition, tools).perNode.memoryMb).toBe(1_031_000);
    expect(planJob(spec('t.ts', { exclusive: true }), gpuPartition, tools).aggregate.memoryMb).toBe(1_031_000);
    expect(planJob(spec('t.ts', {}), gpuPartition, tools).perNode.memoryMb).toBeUndefined();
  });

  it('warns when the nodes have GPUs but none were asked for', () => {
    expect(planJob(spec('t.ts', {}), gpuPartition, tools).warnings.join('\n')).toMatch(
      /runtime sees 0 GPUs \(add --gpus-per-node 8\)/,
    );
  });
});

describe('planJob: refusals before submission', () => {
  const cases: Array<[string, JobInput, ClusterFacts, RegExp]> = [
    [
      'more GPUs per node than the GRES offers',
      { gpusPerNode: 16 },
      gpuPartition,
      /--gpus-per-node 16: partition gpu offers at most 8 GPUs per node \(GRES gpu:a100:8\)/,
    ],
    [
      'GPUs on a CPU partition',
      { gpusPerNode: 1 },
      facts([node('c1', { gpus: 0, gres: '(null)' })], 'cpu'),
      /offers at most 0 GPUs/,
    ],
    [
      'more nodes than the partition has',
      { nodes: 5 },
      gpuPartition,
      /-N 5: partition gpu has 4 nodes with 96 CPUs \(of 4 in total\)/,
    ],
    [
      'more nodes than have enough GPUs',
      { nodes: 3, gpusPerNode: 8 },
      facts([node('a'), node('b'), node('c', { gpus: 4, gres: 'gpu:4' })]),
      /-N 3: partition gpu has 2 nodes with 96 CPUs, 8 GPUs \(of 3 in total\)/,
    ],
    [
      'more CPUs than any node has',
      { cpusPerTask: 200 },
      gpuPartition,
      /--cpus-per-task 200: partition gpu has at most 96 CPUs per node/,
    ],
    [
      'more memory than any node has',
      { mem: '2T' },
      gpuPartition,
      /--mem 2T: partition gpu has at most 1031000 MB per node/,
    ],
    [
      'features no node has',
      { constraint: 'h100' },
      gpuPartition,
      /-C h100: no node of partition gpu has the feature h100/,
    ],
    ['an empty partition', {}, facts([]), /has no nodes/],
  ];
  it.each(cases)('%s', (_name, input, f, message) => {
    expect(() => planJob(spec('t.ts', input), f, tools)).toThrow(UsageError);
    expect(() => planJob(spec('t.ts', input), f, tools)).toThrow(message);
  });

  it('an empty allocation and min-nodes > nodes', () => {
    const s = spec('t.ts', { nodes: 2 });
    expect(() => planJob({ ...s, nodes: 0 }, gpuPartition, tools)).toThrow(/at least 1, received 0/);
    expect(() => planJob({ ...s, minNodes: 3 }, gpuPartition, tools)).toThrow(
      /--min-nodes must be between 1 and --nodes \(2\), received 3/,
    );
  });

  it('counts down nodes as existing but warns that the job may wait', () => {
    const f = facts([node('a'), node('b', { state: 'down*' }), node('c', { state: 'drain' })]);
    expect(planJob(spec('t.ts', { nodes: 3 }), f, tools).warnings.join('\n')).toMatch(/only 1 of the 3 eligible nodes/);
  });

  it('logical GPUs equal the GRES request on every node (no oversubscription)', () => {
    const p = planJob(spec('train.py', { nodes: 2, gpusPerNode: 4 }), gpuPartition, tools);
    expect(p.perNode.gpus).toBe(4);
    expect(p.sbatch).toContainEqual(['--gpus-per-node', '4']);
    expect(p.sbatch.filter(([f]) => /gpu|gres/.test(f))).toEqual([['--gpus-per-node', '4']]);
  });
});

describe('planJob: runtime and entrypoint', () => {
  it.each([
    ['train.py', {}, 'ray', 'auto: .py entrypoint -> ray', 'python', ['python3', '-u']],
    [
      'train.py',
      { python: '/opt/venv/bin/python' },
      'ray',
      'auto: .py entrypoint -> ray',
      'python',
      ['/opt/venv/bin/python', '-u'],
    ],
    [
      'train.ts',
      {},
      'builtin',
      'auto: .ts entrypoint (not .py) -> builtin',
      'tsx',
      ['/usr/bin/node', '--', tools.tsx, '--import', tools.hook, '--'],
    ],
    [
      'x.mts',
      {},
      'builtin',
      'auto: .mts entrypoint (not .py) -> builtin',
      'tsx',
      ['/usr/bin/node', '--', tools.tsx, '--import', tools.hook, '--'],
    ],
    [
      'main.mjs',
      {},
      'builtin',
      'auto: .mjs entrypoint (not .py) -> builtin',
      'node',
      ['/usr/bin/node', '--import', tools.hook, '--'],
    ],
    ['run.sh', {}, 'builtin', 'auto: .sh entrypoint (not .py) -> builtin', 'bash', ['bash']],
    ['bin/app', {}, 'builtin', 'auto: no extension entrypoint (not .py) -> builtin', 'exec', []],
    ['train.py', { runtime: 'builtin' }, 'builtin', '--runtime builtin', 'python', ['python3', '-u']],
    [
      'train.ts',
      { runtime: 'ray' },
      'ray',
      '--runtime ray',
      'tsx',
      ['/usr/bin/node', '--', tools.tsx, '--import', tools.hook, '--'],
    ],
  ] as const)('%s %j -> %s', (entry, input, runtime, reason, kind, interpreter) => {
    const p = planJob(spec(entry, input as JobInput), gpuPartition, tools);
    expect(p.runtime).toBe(runtime);
    expect(p.runtimeReason).toBe(reason);
    expect(p.entrypoint).toEqual({ path: `/home/u/proj/${entry}`, args: [], interpreter, kind });
  });

  it('without tsx (the pip wheel): a .ts runs on a node that strips types, and is refused with a hint on one that does not', () => {
    const wheel = { ...tools, tsx: undefined };
    expect(
      planJob(spec('train.ts'), gpuPartition, { ...wheel, nodeStripsTypes: true }).entrypoint?.interpreter,
    ).toEqual(['/usr/bin/node', '--import', tools.hook, '--']);
    expect(() => planJob(spec('train.ts'), gpuPartition, wheel)).toThrow(UsageError);
    expect(() => planJob(spec('train.ts'), gpuPartition, wheel)).toThrow(
      /cannot run train\.ts: this raysl has no tsx .* does not strip TypeScript types/,
    );
    // a .js or .py entrypoint never needs tsx
    expect(planJob(spec('train.js'), gpuPartition, wheel).entrypoint?.interpreter).toEqual([
      '/usr/bin/node',
      '--import',
      tools.hook,
      '--',
    ]);
    expect(planJob(spec('train.py'), gpuPartition, wheel).entrypoint?.kind).toBe('python');
  });

  it('sizes the port layout for the runtime and bounds blocks below the ephemeral range', () => {
    const ray = planJob(spec('t.py', { cpusPerTask: 96 }), gpuPartition, tools);
    expect(ray.portLayout.ranges.worker!.count).toBe(384);
    expect(ray.portRange).toEqual({ min: 20000, max: 32767 });
    expect(planJob(spec('t.ts'), gpuPartition, tools).portLayout.ports).toEqual({ controller: 0, agent: 1 });
  });
});

describe('planJob: sbatch options', () => {
  it('owns nodes, tasks, CPUs, output and the teardown signal', () => {
    const p = planJob(
      spec('train.ts', {
        nodes: 2,
        time: '2:00:00',
        partition: 'gpu',
        account: 'proj',
        qos: 'high',
        exclusive: true,
        constraint: 'a100',
        reservation: 'r1',
        gpusPerNode: 8,
        mem: '64G',
      }),
      gpuPartition,
      tools,
    );
    expect(p.sbatch).toEqual([
      ['--job-name', 'raysl-train'],
      ['--nodes', '2'],
      ['--ntasks-per-node', '1'],
      ['--cpus-per-task', '96'],
      ['--gpus-per-node', '8'],
      ['--mem', '64G'],
      ['--partition', 'gpu'],
      ['--time', '2:00:00'],
      ['--signal', 'B:USR2@120'],
      ['--no-requeue', ''],
      ['--account', 'proj'],
      ['--qos', 'high'],
      ['--exclusive', ''],
      ['--constraint', 'a100'],
      ['--reservation', 'r1'],
      ['--output', '/home/u/proj/raysl-jobs/raysl-%j.out'],
    ]);
    expect(p.jobDir).toBe('/home/u/proj/raysl-jobs');
  });

  it.each([
    [60, 30],
    [120, 60],
    [300, 120],
    [7200, 120],
    [Infinity, 0],
  ])('signal lead for a %d s limit is %d s', (limit, lead) => expect(signalLeadSec(limit)).toBe(lead));

  it('no --signal without a time limit or with UNLIMITED', () => {
    expect(planJob(spec('t.ts'), gpuPartition, tools).sbatch.map(([f]) => f)).not.toContain('--signal');
    expect(planJob(spec('t.ts', { time: 'UNLIMITED' }), gpuPartition, tools).sbatch.map(([f]) => f)).not.toContain(
      '--signal',
    );
  });

  const sig = (p: Plan) => p.sbatch.find(([f]) => f === '--signal')?.[1];
  it.each([
    // input, --signal value, what the entrypoint gets
    [{ time: '2:00:00' }, 'B:USR2@120', { warnSec: 120, entrypointGraceSec: 90, signal: 'SIGTERM' }],
    [
      { time: '2:00:00', preemptGrace: 600, preemptSignal: 'SIGINT' as const },
      'B:USR2@600',
      { warnSec: 600, entrypointGraceSec: 570, signal: 'SIGINT' },
    ],
    [{ time: '5', preemptGrace: 20 }, 'B:USR2@20', { warnSec: 20, entrypointGraceSec: 15, signal: 'SIGTERM' }],
    // no limit of its own: the partition's limit, or a preemption with send_user_signal, still warns
    [{ preemptGrace: 90 }, 'B:USR2@90', { warnSec: 90, entrypointGraceSec: 68, signal: 'SIGTERM' }],
  ])('preemption warning for %j: --signal=%s', (input, signal, preempt) => {
    const p = planJob(spec('t.ts', input), gpuPartition, tools);
    expect(sig(p)).toBe(signal);
    expect(p.preempt).toEqual(preempt);
  });

  it('a warning at or past the limit is refused with a hint', () => {
    const err = (() => {
      try {
        planJob(spec('t.ts', { time: '1', preemptGrace: 60 }), gpuPartition, tools);
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err?.message).toMatch(/--preempt-grace 60: the warning would come before the job starts/);
    expect(err?.hint).toMatch(/--preempt-grace 30 or a longer --time/);
  });

  it('--requeue asks sbatch for --requeue and an appending batch log; --max-restarts defaults to 1', () => {
    const p = planJob(spec('t.ts', { requeue: true }), gpuPartition, tools);
    expect(p.sbatch).toContainEqual(['--requeue', '']);
    expect(p.sbatch).toContainEqual(['--open-mode', 'append']);
    expect(p.requeue).toEqual({ maxRestarts: 1 });
    expect(planJob(spec('t.ts', { requeue: true, maxRestarts: 3 }), gpuPartition, tools).requeue).toEqual({
      maxRestarts: 3,
    });
    const plain = planJob(spec('t.ts'), gpuPartition, tools);
    expect(plain.requeue).toBeUndefined();
    expect(plain.sbatch.map(([f]) => f)).not.toContain('--open-mode');
  });

  it('--max-nodes carries autoscaling in the plan with its defaults; none without it', () => {
    expect(planJob(spec('t.ts', { nodes: 2, maxNodes: 4 }), gpuPartition, tools).autoscale).toEqual({
      maxNodes: 4,
      idleTimeoutSec: 300,
      scaleUpDelaySec: 10,
    });
    expect(
      planJob(spec('t.ts', { nodes: 2, maxNodes: 2, idleTimeout: 5, scaleUpDelay: 0 }), gpuPartition, tools).autoscale,
    ).toEqual({ maxNodes: 2, idleTimeoutSec: 5, scaleUpDelaySec: 0 });
    expect(planJob(spec('t.ts', { nodes: 2 }), gpuPartition, tools).autoscale).toBeUndefined();
  });

  it('without --requeue asks sbatch for --no-requeue (Slurm requeues on a node failure by default)', () => {
    const plain = planJob(spec('t.ts'), gpuPartition, tools);
    expect(plain.sbatch).toContainEqual(['--no-requeue', '']);
    const requeued = planJob(spec('t.ts', { requeue: true }), gpuPartition, tools);
    expect(requeued.sbatch.map(([f]) => f)).not.toContain('--no-requeue');
  });

  it('survives JSON unchanged (the controller reads it back)', () => {
    const p = planJob(
      spec('train.py', { nodes: 2, env: { A: 'x' }, setup: ['module load cuda'] }, ['--lr', '0.1']),
      gpuPartition,
      tools,
    );
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    expect(p.version).toBe(1);
    expect(p.raysl).toBe('0.0.0-test');
  });

  it('refuses a newline in an entrypoint path', () => {
    expect(() => planJob({ ...spec('t.ts'), entrypoint: 'a\nb.ts' }, gpuPartition, tools)).toThrow(
      /entrypoint path must be a single line/,
    );
  });
});
