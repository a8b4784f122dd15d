// How raysl stops a node's `ray start` group (src/runtimes/ray/process.ts): KILL at once by default
// (Ray's own stop needs about 2 s, measured, and a shorter grace only delayed the KILL); a leader grace,
// when given, is TERM to the leader alone first, bounded by the caller's grace.
import { describe, expect, it } from 'vitest';
import { rayStopEscalation } from '../../src/runtimes/ray/process.js';

describe('rayStopEscalation', () => {
  it('KILLs the whole group at once by default, waiting up to the grace for it to empty', () => {
    expect(rayStopEscalation(5000)).toEqual([{ signal: 'SIGKILL', to: 'group', waitMs: 5000 }]);
  });

  it('with a leader grace, TERMs the leader alone first for at most that long', () => {
    expect(rayStopEscalation(5000, 1000)).toEqual([
      { signal: 'SIGTERM', to: 'leader', waitMs: 1000 },
      { signal: 'SIGKILL', to: 'group', waitMs: 5000 },
    ]);
    expect(rayStopEscalation(300, 1000)[0]).toEqual({ signal: 'SIGTERM', to: 'leader', waitMs: 300 });
  });
});
