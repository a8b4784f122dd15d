// The probe phase over real sockets: agents are client sockets speaking the agent channel, the
// phase runs on a real AgentRegistry, and every wait is on a message or an event.
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRegistry, type AgentSlot } from '../../src/controller/agents.js';
import { PortPhase, type PortPhaseOptions } from '../../src/controller/port-phase.js';
import { AGENT_PROTOCOL as PROTOCOL_VERSION, type TakenPort, type Welcome } from '../../src/protocol/agent.js';
import { ClusterFormError } from '../../src/core/errors.js';
import type { PortBlock, PortLayout } from '../../src/core/types.js';
import { nextEvent, serveRegistry, slots, type RegistryServer, type WireAgent } from '../support/agent-wire.js';

const LAYOUT: PortLayout = {
  size: 8,
  ports: { controller: 0, agent: 1, gcs: 2 },
  ranges: { 'worker-ports': { offset: 4, count: 4 } },
};
const FIRST: PortBlock = { base: 30000, size: 8 };
const blockAfter = (n: number): PortBlock => ({ base: FIRST.base + 8 * n, size: 8 });

const servers: RegistryServer[] = [];
const phases: PortPhase[] = [];
afterEach(async () => {
  for (const p of phases.splice(0)) p.close();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(names: string[], opts: Partial<PortPhaseOptions> = {}) {
  const lines: string[] = [];
  const recorded: PortBlock[] = [];
  let phase: PortPhase | undefined;
  const welcome = (slot: AgentSlot): Welcome => ({
    t: 'welcome',
    v: PROTOCOL_VERSION,
    jobId: 'j1',
    runtime: 'builtin',
    address: slot.address,
    layout: LAYOUT,
    expected: { cpus: 1, gpus: 0 },
    scratchDir: '/tmp/s',
    env: {},
    rayAuth: 'token',
    tokenFile: '/t',
    runtimeLogDir: '/r',
    ...(phase as PortPhase).welcomeFor(slot),
  });
  const agents = new AgentRegistry(slots(...names), welcome);
  const ph: PortPhase = new PortPhase({
    agents,
    minNodes: names.length,
    first: FIRST,
    layout: LAYOUT,
    maxAttempts: 8,
    next: (failed) => blockAfter(failed.length),
    record: async (b) => void recorded.push(b),
    probeFor: (_slot, b) => [b.base + 1, b.base + 2],
    baseFor: (_slot, b) => b.base,
    startFor: async () => ({ headAddress: '127.0.1.1', headPortBase: ph.current().base }),
    log: (l) => lines.push(l),
    straggleMs: 1000,
    ...opts,
  });
  phase = ph;
  phases.push(ph);
  const server = await serveRegistry(agents);
  servers.push(server);
  /** An agent that said hello and got its welcome. */
  const join = async (node: string): Promise<WireAgent & { welcome: Welcome }> => {
    const a = await server.connect();
    a.hello(node);
    return Object.assign(a, { welcome: await a.next('welcome') });
  };
  const probed = (a: WireAgent, round: number, portBase: number, taken: TakenPort[] = []) =>
    a.send({ t: 'probed', round, portBase, taken });
  return { agents, phase: ph, lines, recorded, join, probed };
}

const inUse = (port: number, holder?: { pid: number; command: string }): TakenPort => ({
  port,
  reason: 'in-use',
  ...(holder ? { holder } : {}),
});

describe('PortPhase', () => {
  it('starts nobody until every node probed clean, then starts them all on the first block', async () => {
    const { agents, phase, join, probed, recorded } = await setup(['node1', 'node2']);
    const [a, b] = [await join('node1'), await join('node2')];
    expect(a.welcome).toMatchObject({ round: 0, portBase: 30000, probe: [30001, 30002] });
    const seen = nextEvent(agents, 'probed');
    probed(a, 0, 30000);
    await seen;
    // node1 is held at the barrier, and says so in the join report
    expect(agents.missing().find((m) => m.slot.name === 'node1')?.reason).toBe(
      "probed ports 30000-30007, waiting for the other nodes' probes",
    );
    probed(b, 0, 30000);
    expect(await a.next('start')).toEqual({ t: 'start', round: 0, headAddress: '127.0.1.1', headPortBase: 30000 });
    expect(await b.next('start')).toMatchObject({ round: 0 });
    expect(a.received.filter((m) => m.t === 'start')).toHaveLength(1);
    expect(phase.current()).toEqual(FIRST);
    expect(recorded).toEqual([]);
  });

  it('a taken port on one node moves every node to the next block, records it, and starts there', async () => {
    const { phase, join, probed, recorded, lines } = await setup(['node1', 'node2']);
    const [a, b] = [await join('node1'), await join('node2')];
    probed(a, 0, 30000);
    probed(b, 0, 30000, [inUse(30002, { pid: 77, command: 'nginx' })]);
    expect(await a.next('probe')).toEqual({ t: 'probe', round: 1, portBase: 30008, probe: [30009, 30010] });
    expect(await b.next('probe')).toMatchObject({ round: 1, portBase: 30008 });
    expect(lines).toEqual(['port 30002 (gcs) taken on node2 by pid 77 (nginx): moving the job to block 30008-30015']);
    expect(recorded).toEqual([blockAfter(1)]);
    // a late answer to the old round counts for nothing: only round 1 reports decide
    probed(a, 0, 30000);
    probed(a, 1, 30008);
    probed(b, 1, 30008);
    expect(await a.next('start')).toEqual({ t: 'start', round: 1, headAddress: '127.0.1.1', headPortBase: 30008 });
    expect(await b.next('start')).toMatchObject({ round: 1 });
    expect(phase.current()).toEqual(blockAfter(1));
  });

  it('a port taken in every block tried fails with exit 4 naming the blocks, the port, its node and holder', async () => {
    const { phase, join, probed } = await setup(['node1', 'node2'], { maxAttempts: 2 });
    const [a, b] = [await join('node1'), await join('node2')];
    probed(a, 0, 30000);
    probed(b, 0, 30000, [inUse(30002, { pid: 77, command: 'nginx' })]);
    await a.next('probe');
    probed(a, 1, 30008);
    probed(b, 1, 30008, [inUse(30010, { pid: 77, command: 'nginx' })]);
    const err = await phase.failed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterFormError);
    expect((err as ClusterFormError).exitCode).toBe(4);
    expect((err as Error).message).toBe(
      'the cluster did not form: a port was taken in each of the 2 port block(s) tried (30000-30007, 30008-30015); in the last one: port 30010 (gcs) taken on node2 (127.0.1.2) by pid 77 (nginx)',
    );
    expect((err as ClusterFormError).hint).toMatch(/raysl check-ports/);
    expect((err as ClusterFormError).details).toMatchObject({
      blocks: ['30000-30007', '30008-30015'],
      taken: [{ node: 'node2', port: 30010, holder: { pid: 77 } }],
    });
    expect(a.received.some((m) => m.t === 'start')).toBe(false);
  });

  it('when no other block is free, the error says so with the allocator hint', async () => {
    const next = () => {
      throw new ClusterFormError('every block of 30000-30015 is taken', { hint: 'widen the port range' });
    };
    const { phase, join, probed } = await setup(['node1'], { next });
    probed(await join('node1'), 0, 30000, [inUse(30001)]);
    const err = (await phase.failed.catch((e: unknown) => e)) as ClusterFormError;
    expect(err.message).toBe(
      'the cluster did not form: port 30001 (agent) taken on node1 (127.0.1.1) (holder not visible), and no other port block is free: every block of 30000-30015 is taken',
    );
    expect(err.hint).toBe('widen the port range');
  });

  it('a node that failed does not hold the barrier for the others', async () => {
    const { agents, join, probed } = await setup(['node1', 'node2']);
    const [a, b] = [await join('node1'), await join('node2')];
    probed(a, 0, 30000);
    const failed = nextEvent(agents, 'failed');
    b.send({ t: 'fail', reason: 'ray not found' });
    await failed;
    expect(await a.next('start')).toMatchObject({ round: 0 });
  });

  it('below -N, the round is decided after straggleMs; a latecomer starts on the settled block or is turned away', async () => {
    const { agents, join, probed } = await setup(['node1', 'node2', 'node3'], { minNodes: 1, straggleMs: 20 });
    const a = await join('node1');
    probed(a, 0, 30000);
    expect(await a.next('start')).toMatchObject({ round: 0, headPortBase: 30000 });
    const late = await join('node2');
    expect(late.welcome).toMatchObject({ round: 0, portBase: 30000 });
    probed(late, 0, 30000);
    expect(await late.next('start')).toMatchObject({ round: 0 });
    const blocked = await join('node3');
    const failed = nextEvent<[string, string]>(agents, 'failed');
    probed(blocked, 0, 30000, [inUse(30001)]);
    const why =
      'port 30001 (agent) taken on node3 (127.0.1.3) (holder not visible) (the job had already settled on ports 30000-30007)';
    expect((await blocked.next('refuse')).reason).toBe(why);
    expect(await failed).toEqual(['node3', why]);
    await blocked.closed;
  });

  it('a record that fails ends the phase with that error', async () => {
    const { phase, join, probed } = await setup(['node1'], {
      record: async () => Promise.reject(new ClusterFormError('cannot write the Slurm Comment')),
    });
    const a = await join('node1');
    probed(a, 0, 30000, [inUse(30001)]);
    await a.next('probe');
    probed(a, 1, 30008);
    await expect(phase.failed).rejects.toThrow('cannot write the Slurm Comment');
  });
});
