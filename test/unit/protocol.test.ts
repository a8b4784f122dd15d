import { describe, expect, it } from 'vitest';
import { aggregateResources, encodeMessage, LineDecoder, parseAgentMessage, parseControllerMessage, splitAddress, KV_KEY, type NodeInfo } from '../../src/controller/protocol.js';

const node = (name: string, cpus: number, gpus: number, memoryMb?: number): NodeInfo => ({
  name,
  role: 'worker',
  address: '127.0.1.2',
  hostname: name,
  cpus,
  gpus,
  gpuIds: [],
  ...(memoryMb !== undefined ? { memoryMb } : {}),
});

describe('control protocol v3', () => {
  it('decodes lines split across chunks and skips blank lines', () => {
    const d = new LineDecoder();
    const text = encodeMessage({ t: 'stop', reason: 'done ✓' }) + '\n' + encodeMessage({ t: 'refuse', reason: 'x' });
    expect(d.push(text.slice(0, 7))).toEqual([]);
    expect(d.push(text.slice(7))).toEqual([
      { t: 'stop', reason: 'done ✓' },
      { t: 'refuse', reason: 'x' },
    ]);
  });

  it('accepts a well-formed hello and refuses other protocol versions', () => {
    const hello = { t: 'hello', v: 3, node: 'node2', role: 'worker', pid: 5, hostname: 'n2', granted: { gpuIds: [] } };
    expect(parseAgentMessage(hello)).toEqual(hello);
    expect(() => parseAgentMessage({ ...hello, v: 2 })).toThrow(/agent speaks protocol 2, controller speaks 3/);
    expect(() => parseAgentMessage({ ...hello, role: 'boss' })).toThrow(/malformed hello/);
  });

  it('accepts probe reports, clean or naming taken ports with their holders', () => {
    const clean = { t: 'probed', round: 0, portBase: 23104, taken: [] };
    const taken = { t: 'probed', round: 1, portBase: 23168, taken: [{ port: 23169, reason: 'in-use', holder: { pid: 42, command: 'python3 x.py' } }, { port: 23170, reason: 'permission' }] };
    expect(parseAgentMessage(clean)).toEqual(clean);
    expect(parseAgentMessage(taken)).toEqual(taken);
  });

  it.each([
    [null], [[]], [{}], [{ t: 'nope' }], [{ t: 'result', id: 'x', result: {} }], [{ t: 'ready' }],
    [{ t: 'probed', round: 0, portBase: 1 }], [{ t: 'probed', round: '0', portBase: 1, taken: [] }], [{ t: 'probed', round: 0, portBase: 1, taken: [{ port: 5, reason: 'busy' }] }],
  ])('refuses agent message %j', (m) => {
    expect(() => parseAgentMessage(m)).toThrow();
  });

  it('refuses unknown controller messages and other versions', () => {
    expect(() => parseControllerMessage({ t: 'launch' })).toThrow(/unknown controller message/);
    expect(() => parseControllerMessage({ t: 'welcome', v: 9 })).toThrow(/protocol 9/);
    expect(parseControllerMessage({ t: 'stop', reason: 'r' })).toEqual({ t: 'stop', reason: 'r' });
  });

  it('accepts the probe phase and entrypoint messages, refuses malformed ones', () => {
    const probe = { t: 'probe', round: 1, portBase: 23168, probe: [23169, 23170] };
    const start = { t: 'start', round: 1, headAddress: '127.0.1.1' };
    expect(parseControllerMessage(probe)).toEqual(probe);
    expect(parseControllerMessage(start)).toEqual(start);
    expect(parseControllerMessage({ t: 'entrypoint', pgid: 4242 })).toEqual({ t: 'entrypoint', pgid: 4242 });
    expect(() => parseControllerMessage({ t: 'probe', round: 1, portBase: 23168 })).toThrow(/malformed probe/);
    expect(() => parseControllerMessage({ t: 'start', round: 1 })).toThrow(/malformed start/);
    // a pgid of 0 or 1 would signal the agent's own group or every process of the user
    expect(() => parseControllerMessage({ t: 'entrypoint', pgid: 1 })).toThrow(/malformed entrypoint/);
    expect(() => parseControllerMessage({ t: 'entrypoint', pgid: 0 })).toThrow(/malformed entrypoint/);
  });

  it('aggregates resources; memory only when every node reports it', () => {
    expect(aggregateResources([node('a', 4, 2, 1000), node('b', 8, 0, 500)])).toEqual({ nodes: 2, cpus: 12, gpus: 2, memoryMb: 1500 });
    expect(aggregateResources([node('a', 4, 2, 1000), node('b', 8, 0)])).toEqual({ nodes: 2, cpus: 12, gpus: 2 });
    expect(aggregateResources([])).toEqual({ nodes: 0, cpus: 0, gpus: 0 });
  });

  it('splits host:port and refuses anything else', () => {
    expect(splitAddress('127.0.1.1:20480')).toEqual({ host: '127.0.1.1', port: 20480 });
    expect(() => splitAddress('127.0.1.1')).toThrow(/host:port/);
  });

  it.each([
    ['master', true],
    ['job/rank-0:addr', true],
    ['', false],
    ['a b', false],
    ['x'.repeat(257), false],
  ])('kv key %j allowed: %s', (k, ok) => expect(KV_KEY.test(k)).toBe(ok));
});

describe('protocol v3 additions', () => {
  it('probed may carry the address the runtime will bind; ready may carry notes for the user; anything else is malformed', () => {
    const probed = { t: 'probed', round: 0, portBase: 23104, taken: [], bindAddress: '10.223.0.11' };
    expect(parseAgentMessage(probed)).toEqual(probed);
    expect(() => parseAgentMessage({ ...probed, bindAddress: 7 })).toThrow(/malformed probed/);
    const ready = { t: 'ready', node: { name: 'node1' }, notes: ['Ray 2.44.0 has no token authentication'] };
    expect(parseAgentMessage(ready)).toEqual(ready);
    expect(() => parseAgentMessage({ ...ready, notes: [1] })).toThrow(/malformed ready/);
  });
});

describe('runtime messages', () => {
  it('carry a body both ways without the protocol reading it', () => {
    const rt = { t: 'rt', body: { op: 'whatever', n: [1, 2] } };
    expect(parseAgentMessage(rt)).toEqual(rt);
    expect(parseControllerMessage(rt)).toEqual(rt);
    expect(() => parseControllerMessage({ t: 'rtx', body: 1 })).toThrow(/unknown controller message/);
  });
});
