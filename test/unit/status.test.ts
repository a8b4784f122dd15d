import { describe, expect, it } from 'vitest';
import {
  initialStatus,
  isFinal,
  parseStatus,
  phaseDelta,
  withNode,
  withPhase,
  withState,
} from '../../src/core/status.js';

const t0 = Date.parse('2026-01-01T00:00:00.000Z');
const base = () =>
  initialStatus({
    jobId: '42',
    runtime: 'builtin',
    launcher: 'local',
    nodes: [
      { name: 'node1', address: '127.0.1.1', role: 'head', log: '/j/42/agent-node1.log' },
      { name: 'node2', address: '127.0.1.2', role: 'worker', log: '/j/42/agent-node2.log' },
    ],
    minNodes: 2,
    startedAtMs: t0,
  });

describe('status.json helpers', () => {
  it('starts with every node pending and an allocated event at t=0', () => {
    const s = base();
    expect(s).toMatchObject({ version: 1, state: 'starting', head: 'node1', joined: [] });
    expect(s.nodes.map((n) => n.state)).toEqual(['pending', 'pending']);
    expect(s.timeline).toEqual([{ phase: 'allocated', at: '2026-01-01T00:00:00.000Z', t: 0 }]);
  });

  it('records joins once, in order, and phases with offsets', () => {
    let s = withNode(base(), 'node2', { state: 'joined', cpus: 4 });
    s = withNode(s, 'node2', { state: 'joined' });
    s = withNode(s, 'node1', { state: 'joined' });
    s = withPhase(s, t0 + 250, { phase: 'ready' });
    s = withPhase(s, t0 + 900, { phase: 'entrypoint-exited', code: 3 });
    expect(s.joined).toEqual(['node2', 'node1']);
    expect(s.nodes[1]).toMatchObject({ state: 'joined', cpus: 4 });
    expect(phaseDelta(s, 'ready', 'entrypoint-exited')).toBe(650);
    expect(phaseDelta(s, 'ready', 'torn-down')).toBeUndefined();
    expect(s.updatedAt).toBe('2026-01-01T00:00:00.900Z');
  });

  it('does not mutate its input', () => {
    const s = base();
    withState(withNode(s, 'node1', { state: 'lost' }), 'failed');
    expect(s.state).toBe('starting');
    expect(s.nodes[0]!.state).toBe('pending');
  });

  it.each([
    ['succeeded', true],
    ['failed', true],
    ['cancelled', true],
    ['running', false],
    ['forming', false],
  ] as const)('isFinal(%s) = %s', (state, final) => expect(isFinal(state)).toBe(final));

  it('round-trips through JSON and refuses foreign files', () => {
    const s = withPhase(base(), t0 + 10, { phase: 'agents-launched' });
    expect(parseStatus(JSON.stringify(s))).toEqual(s);
    expect(() => parseStatus('{')).toThrow(/not valid JSON/);
    expect(() => parseStatus(JSON.stringify({ ...s, version: 2 }))).toThrow(/unknown layout \(version 2\)/);
  });
});
