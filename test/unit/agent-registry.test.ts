// AgentRegistry over real sockets: a TCP server hands each connection to attach(), as the control
// server does after the upgrade, and each agent is a real client socket speaking JSON lines.
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRegistry, type AgentSlot } from '../../src/controller/agents.js';
import { AGENT_PROTOCOL as PROTOCOL_VERSION, type NodeInfo, type Welcome } from '../../src/protocol/agent.js';
import { nextEvent, serveRegistry, slots, type RegistryServer } from '../support/agent-wire.js';

const servers: RegistryServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function welcome(slot: AgentSlot): Welcome {
  return {
    t: 'welcome',
    v: PROTOCOL_VERSION,
    jobId: 'j1',
    runtime: 'builtin',
    address: slot.address,
    round: 0,
    portBase: 30000,
    layout: { size: 4, ports: { controller: 0 }, ranges: {} },
    expected: { cpus: 4, gpus: 0 },
    probe: [30001],
    scratchDir: `/tmp/s/${slot.name}`,
    env: {},
    rayAuth: 'token',
    tokenFile: '/jobs/1/token',
    runtimeLogDir: `/jobs/1/runtime-logs/${slot.name}`,
  };
}

async function setup(...names: string[]) {
  const registry = new AgentRegistry(slots(...names), welcome);
  const server = await serveRegistry(registry);
  servers.push(server);
  return { registry, server };
}

describe('AgentRegistry', () => {
  it('hello is answered with the slot welcome; ready joins the node under its slot name and role', async () => {
    const { registry, server } = await setup('node1', 'node2');
    const a = await server.connect();
    const connected = nextEvent<[string, number]>(registry, 'connected');
    a.hello('node1', 'head');
    expect(await connected).toEqual(['node1', 4242]);
    const w = await a.next('welcome');
    expect(w).toMatchObject({ t: 'welcome', address: '127.0.1.1', scratchDir: '/tmp/s/node1' });
    expect(registry.welcomedNodes()).toEqual(['node1']);
    const joined = nextEvent<[NodeInfo, string[]]>(registry, 'joined');
    a.send({
      t: 'ready',
      node: { name: 'whatever', role: 'worker', address: '127.0.1.1', hostname: 'h', cpus: 4, gpus: 0, gpuIds: [] },
      notes: ['ray 2.9: no token auth'],
    });
    const [info, notes] = await joined;
    expect(info).toMatchObject({ name: 'node1', role: 'head', cpus: 4 });
    expect(notes).toEqual(['ray 2.9: no token auth']);
    expect(registry.joinedNodes().map((n) => n.name)).toEqual(['node1']);
    expect(registry.missing().map((m) => [m.slot.name, m.state])).toEqual([['node2', 'pending']]);
  });

  it('refuses a node that is not part of the job, naming the job nodes, and keeps no trace of it', async () => {
    const { registry, server } = await setup('node1', 'node2');
    const a = await server.connect();
    a.hello('node9');
    expect((await a.next('refuse')).reason).toBe('node node9 is not part of this job (node1, node2)');
    await a.closed;
    expect(registry.countIn(['pending'])).toBe(2);
  });

  it('refuses a second agent for a node already registered; the first stays connected', async () => {
    const { registry, server } = await setup('node1');
    const first = await server.connect();
    first.hello('node1');
    await first.next('welcome');
    const second = await server.connect();
    second.hello('node1');
    expect((await second.next('refuse')).reason).toBe('an agent for node1 is already registered (connected)');
    await second.closed;
    expect(registry.stateOf('node1')?.state).toBe('connected');
    expect(registry.send('node1', { t: 'stop', reason: 'still there?' })).toBe(true);
    expect(await first.next('stop')).toEqual({ t: 'stop', reason: 'still there?' });
  });

  it('a message before hello, or a line that is not JSON, is refused and the socket dropped', async () => {
    const { server } = await setup('node1');
    const early = await server.connect();
    early.send({ t: 'fail', reason: 'x' });
    expect((await early.next('refuse')).reason).toBe('expected hello first, got fail');
    await early.closed;
    const garbage = await server.connect();
    garbage.socket.write('{not json\n');
    expect((await garbage.next('refuse')).reason).toMatch(/^protocol error: /);
    await garbage.closed;
  });

  it('a joined node whose socket closes is lost at once, and what it was is kept', async () => {
    const { registry, server } = await setup('node1', 'node2');
    const a = await server.connect();
    a.hello('node2');
    await a.next('welcome');
    const joined = nextEvent(registry, 'joined');
    a.ready('node2');
    await joined;
    const lost = nextEvent<[string, string]>(registry, 'lost');
    a.socket.destroy();
    expect(await lost).toEqual(['node2', 'its agent disconnected (the agent process exited or the node went away)']);
    expect(registry.stateOf('node2')).toMatchObject({ state: 'lost', reason: /disconnected/, pid: 4242 });
    expect(registry.joinedNodes()).toEqual([]);
  });

  it('a node that fails before joining is failed, with its hint kept apart for the join report', async () => {
    const { registry, server } = await setup('node1', 'node2');
    const a = await server.connect();
    a.hello('node1', 'head');
    await a.next('welcome');
    const failed = nextEvent<[string, string]>(registry, 'failed');
    a.send({ t: 'fail', reason: 'ray not found', hint: 'pip install ray' });
    expect(await failed).toEqual(['node1', 'ray not found (pip install ray)']);
    expect(registry.missing().find((m) => m.slot.name === 'node1')).toMatchObject({
      state: 'failed',
      reason: 'ray not found',
      hint: 'pip install ray',
    });
    // its socket closing afterwards does not turn the failure into anything else
    a.socket.destroy();
    await a.closed;
    // one that never connected: its agent process exited
    const exited = nextEvent<[string, string]>(registry, 'failed');
    registry.agentExited('node2', 'exit code 1');
    expect(await exited).toEqual(['node2', 'its agent exited before joining (exit code 1)']);
    expect(registry.countIn(['failed', 'lost'])).toBe(2);
    expect(registry.stateOf('node1')?.state).toBe('failed');
  });

  it('a connected node that closes before ready has failed, not been lost', async () => {
    const { registry, server } = await setup('node1');
    const a = await server.connect();
    a.hello('node1');
    await a.next('welcome');
    const failed = nextEvent<[string, string]>(registry, 'failed');
    a.socket.destroy();
    expect((await failed)[1]).toMatch(/its agent disconnected/);
  });

  it('refuse turns a connected node away: it is told why, its socket ends, and it counts as failed', async () => {
    const { registry, server } = await setup('node1', 'node2');
    const a = await server.connect();
    a.hello('node2');
    await a.next('welcome');
    const failed = nextEvent<[string, string]>(registry, 'failed');
    registry.refuse('node2', 'port 30001 taken on node2');
    expect((await a.next('refuse')).reason).toBe('port 30001 taken on node2');
    expect(await failed).toEqual(['node2', 'port 30001 taken on node2']);
    await a.closed;
  });

  it('stopAll tells every connected agent at once, resolves when they closed, and refuses late hellos', async () => {
    const { registry, server } = await setup('node1', 'node2', 'node3');
    const agents = await Promise.all(
      ['node1', 'node2'].map(async (n) => {
        const a = await server.connect();
        a.hello(n);
        await a.next('welcome');
        return a;
      }),
    );
    // each agent stops its runtime and closes once told (node2 before it joined: it just goes)
    agents[0]!.ready('node1');
    await nextEvent(registry, 'joined');
    for (const a of agents) void a.next('stop').then(() => a.socket.end());
    let lostOrFailed = 0;
    registry.on('lost', () => lostOrFailed++);
    registry.on('failed', () => lostOrFailed++);
    await registry.stopAll('the job is ending', 5000);
    await Promise.all(agents.map((a) => a.closed));
    expect(agents.map((a) => a.received.find((m) => m.t === 'stop'))).toEqual([
      { t: 'stop', reason: 'the job is ending' },
      { t: 'stop', reason: 'the job is ending' },
    ]);
    expect(['node1', 'node2'].map((n) => registry.stateOf(n)?.state)).toEqual(['stopped', 'stopped']);
    expect(lostOrFailed).toBe(0);
    const late = await server.connect();
    late.hello('node3');
    expect((await late.next('refuse')).reason).toBe('the job is shutting down');
  });

  it('stopAll is bounded: an agent that never closes is dropped at the bound', async () => {
    const { registry, server } = await setup('node1');
    const a = await server.connect();
    a.hello('node1');
    await a.next('welcome');
    // this agent ignores the stop and keeps its side open
    const t0 = performance.now();
    await registry.stopAll('the job is ending', 100);
    await a.closed;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(a.received.some((m) => m.t === 'stop')).toBe(true);
  });
});
