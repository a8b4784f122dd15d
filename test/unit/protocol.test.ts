import { describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL, encodeMessage, parseAgentMessage, parseControllerMessage } from '../../src/protocol/agent.js';
import { KV_KEY, parseGroupRequest, parseTaskEvent, parseTaskRequest } from '../../src/protocol/api.js';
import { parseToAgent, parseToController } from '../../src/protocol/builtin.js';
import { LineDecoder, splitAddress } from '../../src/protocol/wire.js';

const nodeInfo = {
  name: 'node1',
  role: 'head',
  address: '127.0.1.1',
  hostname: 'n1',
  cpus: 4,
  gpus: 2,
  gpuIds: ['0', '1'],
};

describe('agent channel contract (v4)', () => {
  it('decodes lines split across chunks and skips blank lines', () => {
    const d = new LineDecoder();
    const text = encodeMessage({ t: 'stop', reason: 'done ✓' }) + '\n' + encodeMessage({ t: 'refuse', reason: 'x' });
    expect(d.push(text.slice(0, 7))).toEqual([]);
    expect(d.push(text.slice(7))).toEqual([
      { t: 'stop', reason: 'done ✓' },
      { t: 'refuse', reason: 'x' },
    ]);
  });

  it('accepts a well-formed hello and refuses other protocol versions with both numbers', () => {
    const hello = {
      t: 'hello',
      v: AGENT_PROTOCOL,
      node: 'node2',
      role: 'worker',
      pid: 5,
      hostname: 'n2',
      granted: { gpuIds: [] },
    };
    expect(parseAgentMessage(hello)).toEqual(hello);
    expect(() => parseAgentMessage({ ...hello, v: 3 })).toThrow(/agent speaks protocol 3, controller speaks 4/);
    expect(() => parseAgentMessage({ ...hello, role: 'boss' })).toThrow(
      /malformed agent message "hello": role: expected one of "head", "worker"/,
    );
  });

  it('accepts probe reports, clean or naming taken ports with their holders, and the bind address', () => {
    const clean = { t: 'probed', round: 0, portBase: 23104, taken: [], bindAddress: '10.223.0.11' };
    const taken = {
      t: 'probed',
      round: 1,
      portBase: 23168,
      taken: [
        { port: 23169, reason: 'in-use', holder: { pid: 42, command: 'python3 x.py' } },
        { port: 23170, reason: 'permission' },
      ],
    };
    expect(parseAgentMessage(clean)).toEqual(clean);
    expect(parseAgentMessage(taken)).toEqual(taken);
    expect(() => parseAgentMessage({ ...clean, bindAddress: 7 })).toThrow(/bindAddress: expected string/);
  });

  it('accepts ready with node info, notes and custom resources; refuses a partial node', () => {
    const ready = {
      t: 'ready',
      node: { ...nodeInfo, custom: { trainer: 1 } },
      notes: ['Ray 2.44.0 has no token authentication'],
    };
    expect(parseAgentMessage(ready)).toEqual(ready);
    expect(() => parseAgentMessage({ t: 'ready', node: { name: 'node1' } })).toThrow(/malformed agent message "ready"/);
    expect(() => parseAgentMessage({ ...ready, notes: [1] })).toThrow(/notes\.0: expected string/);
  });

  it.each([
    [null],
    [[]],
    [{}],
    [{ t: 'nope' }],
    [{ t: 'result', id: 1, result: {} }],
    [{ t: 'ready' }],
    [{ t: 'probed', round: 0, portBase: 1 }],
    [{ t: 'probed', round: '0', portBase: 1, taken: [] }],
    [{ t: 'probed', round: 0, portBase: 1, taken: [{ port: 5, reason: 'busy' }] }],
    [{ t: 'fail' }],
    [{ t: 'runtime-exited', code: 'x', signal: null }],
  ])('refuses agent message %j', (m) => {
    expect(() => parseAgentMessage(m)).toThrow(/malformed|protocol/);
  });

  it('passes runtime messages through unread in both directions', () => {
    expect(parseAgentMessage({ t: 'rt', body: { anything: [1, 2] } })).toEqual({ t: 'rt', body: { anything: [1, 2] } });
    expect(parseControllerMessage({ t: 'rt', body: 'x' })).toEqual({ t: 'rt', body: 'x' });
    expect(() => parseControllerMessage({ t: 'rtx', body: 1 })).toThrow(/malformed controller message "rtx"/);
  });

  it('refuses unknown controller messages and other versions', () => {
    expect(() => parseControllerMessage({ t: 'launch' })).toThrow(/malformed controller message "launch"/);
    expect(() => parseControllerMessage({ t: 'welcome', v: 9 })).toThrow(
      /controller speaks protocol 9, agent speaks 4/,
    );
    expect(parseControllerMessage({ t: 'stop', reason: 'r' })).toEqual({ t: 'stop', reason: 'r' });
  });

  it('accepts the probe phase and entrypoint messages, refuses malformed ones', () => {
    const probe = { t: 'probe', round: 1, portBase: 23168, probe: [23169, 23170] };
    const start = { t: 'start', round: 1, headAddress: '127.0.1.1' };
    expect(parseControllerMessage(probe)).toEqual(probe);
    expect(parseControllerMessage(start)).toEqual(start);
    expect(parseControllerMessage({ t: 'entrypoint', pgid: 4242 })).toEqual({ t: 'entrypoint', pgid: 4242 });
    expect(() => parseControllerMessage({ t: 'probe', round: 1, portBase: 23168 })).toThrow(
      /malformed controller message "probe": probe: expected array/,
    );
    expect(() => parseControllerMessage({ t: 'start', round: 1 })).toThrow(/headAddress/);
    // a pgid of 0 or 1 would signal the agent's own group or every process of the user
    expect(() => parseControllerMessage({ t: 'entrypoint', pgid: 1 })).toThrow(/pgid: must be at least 2/);
    expect(() => parseControllerMessage({ t: 'entrypoint', pgid: 0 })).toThrow(/malformed/);
  });

  it('splits host:port and refuses anything else', () => {
    expect(splitAddress('127.0.1.1:20480')).toEqual({ host: '127.0.1.1', port: 20480 });
    expect(() => splitAddress('127.0.1.1')).toThrow(/host:port/);
  });
});

describe('client API contract (v4)', () => {
  it.each([
    ['master', true],
    ['job/rank-0:addr', true],
    ['', false],
    ['a b', false],
    ['x'.repeat(257), false],
  ])('kv key %j allowed: %s', (k, ok) => expect(KV_KEY.test(k)).toBe(ok));

  it('accepts task requests with resources and targets; refuses empty argv and bad types', () => {
    const req = {
      argv: ['true'],
      resources: { gpus: 0.5, custom: { trainer: 1 } },
      placementGroup: 'pg1',
      bundle: 1,
      maxRetries: 2,
    };
    expect(parseTaskRequest(req)).toEqual(req);
    expect(() => parseTaskRequest({ argv: [] })).toThrow(/argv: must be at least 1/);
    expect(() => parseTaskRequest({ argv: ['x'], resources: { gpus: '1' } })).toThrow(
      /resources\.gpus: expected number/,
    );
    expect(() => parseTaskRequest({ argv: ['x'], bundle: -1 })).toThrow(/bundle: must be at least 0/);
  });

  it('accepts placement group requests of the four strategies only', () => {
    expect(parseGroupRequest({ bundles: [{ gpus: 1 }], strategy: 'STRICT_SPREAD' }).strategy).toBe('STRICT_SPREAD');
    expect(() => parseGroupRequest({ bundles: [{ gpus: 1 }], strategy: 'SOMEWHERE' })).toThrow(
      /strategy: expected one of "PACK"/,
    );
    expect(() => parseGroupRequest({ bundles: [], strategy: 'PACK' })).toThrow(/bundles: must be at least 1/);
  });

  it('validates task events by kind', () => {
    expect(parseTaskEvent({ e: 'placed', node: 'n1', gpuIds: ['0'], attempt: 1 })).toEqual({
      e: 'placed',
      node: 'n1',
      gpuIds: ['0'],
      attempt: 1,
    });
    expect(() => parseTaskEvent({ e: 'error', kind: 'oops', message: 'x' })).toThrow(/kind: expected one of/);
    expect(() => parseTaskEvent({ e: 'later' })).toThrow(/malformed task event/);
  });
});

describe('builtin runtime messages', () => {
  it('exec needs an argv; reports carry the command id', () => {
    expect(parseToAgent({ k: 'exec', id: 't1.1', argv: ['true'], env: { CUDA_VISIBLE_DEVICES: '0' } }).k).toBe('exec');
    expect(() => parseToAgent({ k: 'exec', id: 't1.1', argv: [], env: {} })).toThrow(/argv/);
    expect(parseToController({ k: 'exited', id: 't1.1', exitCode: null, signal: 'SIGKILL', timedOut: true }).k).toBe(
      'exited',
    );
    expect(() => parseToController({ k: 'output', id: 't1.1', stream: 'stdin', data: '' })).toThrow(
      /stream: expected one of "stdout", "stderr"/,
    );
  });
});
