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

describe('control protocol v1', () => {
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
    const hello = { t: 'hello', v: 1, node: 'node2', role: 'worker', pid: 5, hostname: 'n2', granted: { gpuIds: [] } };
    expect(parseAgentMessage(hello)).toEqual(hello);
    expect(() => parseAgentMessage({ ...hello, v: 2 })).toThrow(/protocol 2/);
    expect(() => parseAgentMessage({ ...hello, role: 'boss' })).toThrow(/malformed hello/);
  });

  it.each([[null], [[]], [{}], [{ t: 'nope' }], [{ t: 'result', id: 'x', result: {} }], [{ t: 'ready' }]])('refuses agent message %j', (m) => {
    expect(() => parseAgentMessage(m)).toThrow();
  });

  it('refuses unknown controller messages and other versions', () => {
    expect(() => parseControllerMessage({ t: 'launch' })).toThrow(/unknown controller message/);
    expect(() => parseControllerMessage({ t: 'welcome', v: 9 })).toThrow(/protocol 9/);
    expect(parseControllerMessage({ t: 'stop', reason: 'r' })).toEqual({ t: 'stop', reason: 'r' });
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
