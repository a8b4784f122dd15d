import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import {
  blockPorts,
  checkPorts,
  parseEphemeral,
  withProbe,
  type CheckPortsOptions,
  type PortCheckFacts,
  type SlurmPortFacts,
} from '../../src/core/port-check.js';
import { allocatePortBlock, formatPortRecord } from '../../src/core/ports.js';
import { checkPortsLines, type Paint } from '../../src/cli/check-ports-view.js';

const LINUX: PortCheckFacts['ephemeral'] = { range: [32768, 60999], source: '/proc/sys/net/ipv4/ip_local_port_range' };
const base: CheckPortsOptions = { runtime: 'ray', jobId: 'next', probe: false, address: '127.0.0.1', slurm: true };
const nodes = (n: number, cpus = 4): SlurmPortFacts['nodes'] =>
  Array.from({ length: n }, (_, i) => ({ name: `node${i + 1}`, cpus }));
const job = (id: string, nodelist: string, first?: number, size = 128): SlurmPortFacts['jobs'][number] => ({
  id,
  name: `j${id}`,
  user: 'alice',
  state: 'RUNNING',
  nodelist,
  comment: first === undefined ? 'no record' : formatPortRecord({ base: first, size }),
});
const facts = (slurm?: SlurmPortFacts, hostCpus = 2): PortCheckFacts => ({
  ephemeral: LINUX,
  hostCpus,
  ...(slurm ? { slurm } : {}),
});

describe('checkPorts (the analysis of raysl check-ports, from collected facts)', () => {
  it('without Slurm: the layout only, CPUs from this host, a note that says so', () => {
    const { report, block } = checkPorts({ ...base, slurm: false }, facts(undefined, 6));
    expect(report).toMatchObject({
      ok: true,
      runtime: 'ray',
      cpusPerNode: 6,
      cpusSource: 'this host',
      scope: { nodes: 'all' },
      jobs: [],
      allowedRange: { min: 20000, max: 32767 },
    });
    expect(report.notes).toEqual([
      '--no-slurm: other raysl jobs were not looked up; only the layout (and --probe) were checked',
    ]);
    expect(block).toBeDefined();
    expect(report.block).toEqual({ first: block!.base, last: block!.base + block!.size - 1, size: block!.size });
  });

  it.each([
    ['the flag wins', { cpusPerTask: 16 }, nodes(2, 8), { cpusPerNode: 16, cpusSource: 'flag' }],
    [
      'else the largest node in scope',
      {},
      [
        { name: 'node1', cpus: 8 },
        { name: 'node2', cpus: 32 },
      ],
      { cpusPerNode: 32, cpusSource: 'slurm' },
    ],
    ['else this host', {}, [], { cpusPerNode: 2, cpusSource: 'this host' }],
  ])('CPUs per node: %s', (_, o, n, want) => {
    expect(checkPorts({ ...base, ...o }, facts({ nodes: n, jobs: [] })).report).toMatchObject(want);
  });

  it('lists the raysl jobs on the nodes in scope, by job id, and flags two whose blocks overlap on a shared node', () => {
    const slurm: SlurmPortFacts = {
      nodes: nodes(2),
      jobs: [job('10', 'node[1-2]', 21000), job('9', 'node1', 21064), job('11', 'node2'), job('12', 'node3', 21000)],
    };
    const { report } = checkPorts({ ...base, nodelist: 'node[1-2]' }, facts(slurm));
    expect(report.jobs.map((j) => [j.id, j.nodes, j.block])).toEqual([
      ['9', ['node1'], { first: 21064, last: 21191, size: 128 }],
      ['10', ['node1', 'node2'], { first: 21000, last: 21127, size: 128 }],
    ]);
    expect(report.ok).toBe(false);
    expect(report.collisions).toEqual([
      { kind: 'jobs-overlap', message: 'jobs 9 and 10 both use ports in 21064-21191 / 21000-21127 on node1' },
    ]);
    expect(report.block!.first > 21191 || report.block!.last < 21000).toBe(true);
  });

  it("a partition's scope is the nodes Slurm listed for it", () => {
    const slurm: SlurmPortFacts = { nodes: nodes(2), jobs: [job('5', 'node3', 21000), job('6', 'node2', 22000)] };
    const { report } = checkPorts({ ...base, partition: 'gpu' }, facts(slurm));
    expect(report.scope).toEqual({ partition: 'gpu', nodes: ['node1', 'node2'] });
    expect(report.jobs.map((j) => j.id)).toEqual(['6']);
  });

  it("the job's own recorded block does not block itself", () => {
    const own = allocatePortBlock({ jobId: '4711', size: 128, range: { min: 20000, max: 32767 }, taken: [] });
    const { report } = checkPorts(
      { ...base, jobId: '4711', nodelist: 'node1' },
      facts({ nodes: nodes(1), jobs: [job('4711', 'node1', own.base)] }),
    );
    expect(report.block).toEqual({ first: own.base, last: own.base + 127, size: 128 });
    expect(report.ok).toBe(true);
  });

  it.each([
    [
      '-w names a node Slurm does not know',
      { nodelist: 'node[1-5]' },
      /Slurm does not know node\(s\) node5 \(asked for node\[1-5\]\)/,
    ],
    [
      '-N is larger than the scope',
      { nodelist: 'node[1-2]', nodes: 3 },
      /asked for 3 nodes \(-N\) but the scope holds only 2: node1, node2/,
    ],
  ])('usage error: %s', (_, o, message) => {
    expect(() => checkPorts({ ...base, ...o }, facts({ nodes: nodes(4), jobs: [] }))).toThrow(UsageError);
    expect(() => checkPorts({ ...base, ...o }, facts({ nodes: nodes(4), jobs: [] }))).toThrow(message);
  });

  it('no room for a block: a collision that says why, no block, the probe skipped', () => {
    const check = checkPorts(
      { ...base, slurm: false, probe: true },
      { ephemeral: { range: [20010, 60999], source: 'x' }, hostCpus: 2 },
    );
    expect(check.block).toBeUndefined();
    expect(check.report.block).toBeNull();
    expect(check.report.ok).toBe(false);
    expect(check.report.collisions.map((c) => c.kind)).toContain('no-block');
    expect(check.report.notes).toContain('--probe skipped: there is no block to probe');
  });

  it('the probe names each bound port by its layout row and adds a collision for it', () => {
    const check = checkPorts({ ...base, cpusPerTask: 4, slurm: false }, facts());
    const block = check.block!;
    const ports = blockPorts(block);
    expect(ports).toHaveLength(128);
    expect(ports[0]).toBe(block.base);
    // ray: 17 single ports (ray_client_server at offset 4), 8 app ports, then the worker range at 25
    const results = ports.map(
      (port) =>
        ({ port, free: true }) as {
          port: number;
          free: boolean;
          reason?: 'in-use' | 'permission';
          holder?: { pid: number; command: string };
        },
    );
    results[4] = { port: block.base + 4, free: false, reason: 'in-use', holder: { pid: 42, command: 'python' } };
    results[28] = { port: block.base + 28, free: false, reason: 'permission' };
    results[120] = { port: block.base + 120, free: false, reason: 'in-use' };
    const report = withProbe({ ...check, block }, '10.0.0.1', results);
    const span = `${block.base}-${block.base + 127}`;
    expect(report.ok).toBe(false);
    expect(report.probe).toMatchObject({ address: '10.0.0.1', ports: 128 });
    expect(report.probe!.taken.map((t) => t.name)).toEqual(['ray_client_server', 'worker[3]', 'spare']);
    expect(report.collisions.map((c) => c.message)).toEqual([
      `port ${block.base + 4} (ray_client_server) of block ${span} is already bound on 10.0.0.1 by pid 42 (python)`,
      `port ${block.base + 28} (worker[3]) of block ${span} is already bound on 10.0.0.1 (permission denied)`,
      `port ${block.base + 120} (spare) of block ${span} is already bound on 10.0.0.1 (holder not visible: another user's process?)`,
    ]);
    // --json prints the keys in this order
    expect(Object.keys(report)).toEqual([
      'ok',
      'runtime',
      'cpusPerNode',
      'cpusSource',
      'scope',
      'ephemeralRange',
      'ephemeralSource',
      'allowedRange',
      'jobs',
      'jobId',
      'block',
      'layout',
      'probe',
      'collisions',
      'notes',
    ]);
    expect(
      withProbe(
        { ...check, block },
        '10.0.0.1',
        results.filter((r) => r.free),
      ).ok,
    ).toBe(true);
  });

  it.each([
    ['32768\t60999\n', [32768, 60999]],
    [' 1 65535 ', [1, 65535]],
    ['0 100', undefined],
    ['200 100', undefined],
    ['1 65536', undefined],
    ['32768-60999', undefined],
  ])('parseEphemeral(%j) = %j', (text, want) => {
    expect(parseEphemeral(text)).toEqual(want);
  });
});

describe('checkPortsLines (the text view of a report)', () => {
  const plain: Paint = { bold: (s) => `*${s}*`, dim: (s) => `(${s})`, green: (s) => `+${s}`, red: (s) => `!${s}` };

  it('prints the scope, the jobs, the block and the verdict', () => {
    const slurm: SlurmPortFacts = {
      nodes: nodes(2),
      jobs: [job('9', 'node1', 21064, 64), job('10', 'node[1-2]', 21000, 64)],
    };
    const { report } = checkPorts(
      { ...base, runtime: 'builtin', nodelist: 'node[1-2]', jobId: '4711' },
      { ephemeral: { range: [21500, 60999], source: 'test' }, hostCpus: 1, slurm },
    );
    const lines = checkPortsLines(report, plain);
    const b = report.block!;
    expect(lines.slice(0, 7)).toEqual([
      '*raysl check-ports*: builtin runtime, 4 CPUs per node (slurm), node[1-2]',
      'ephemeral range 21500-60999 (test); blocks fit in 20000-21499',
      '',
      'raysl jobs with a port block on these nodes:',
      '  JOBID  USER   STATE    NODES        BLOCK        PORTS',
      '  9      alice  RUNNING  node1        21064-21127  64',
      '  10     alice  RUNNING  node1,node2  21000-21063  64',
    ]);
    expect(lines[7]).toBe('');
    expect(lines[8]).toBe(`job 4711 would get block ${b.first}-${b.last} (${b.size} ports):`);
    expect(lines[9]).toMatch(/^ {2}NAME +OFFSET +PORT\(S\)$/);
    expect(lines.slice(-2)).toEqual(['', '+ok: no collisions']);
  });

  it('says none, the probe, the notes and each collision', () => {
    const check = checkPorts({ ...base, runtime: 'auto', slurm: false }, facts());
    const report = withProbe({ ...check, block: check.block! }, '127.0.0.1', [
      { port: check.block!.base, free: false, holder: { pid: 7, command: 'nc' } },
    ]);
    const lines = checkPortsLines(report, plain);
    expect(lines[3]).toBe('raysl jobs with a port block on these nodes: none');
    expect(lines.slice(-7)).toEqual([
      '',
      `probe on 127.0.0.1: ${report.block!.size} ports, 1 already bound`,
      '(note: runtime auto: checked for ray, the larger block (builtin needs a subset of its room))',
      '(note: --no-slurm: other raysl jobs were not looked up; only the layout (and --probe) were checked)',
      '',
      '!1 collision(s):',
      `  !x port ${report.block!.first} (controller) of block ${report.block!.first}-${report.block!.last} is already bound on 127.0.0.1 by pid 7 (nc)`,
    ]);
  });

  it('says when there is no block', () => {
    const { report } = checkPorts(
      { ...base, slurm: false, jobId: '12' },
      { ephemeral: { range: [20010, 60999], source: 'x' }, hostCpus: 2 },
    );
    expect(checkPortsLines(report, plain)).toContain('job 12 would get no block');
  });
});
