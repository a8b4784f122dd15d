import { describe, expect, it } from 'vitest';
import { classify } from '../../src/controller/classify.js';
import { Cancelled } from '../../src/controller/join.js';
import type { StopReason } from '../../src/controller/stop.js';
import { ClusterFormError, InternalError, NodeLostError, type RayslError, UsageError } from '../../src/core/errors.js';
import type { ExitInfo } from '../../src/proc/terminate.js';

const TERM: StopReason = { kind: 'signal', signal: 'SIGTERM' };
const INT: StopReason = { kind: 'signal', signal: 'SIGINT' };
const USR1: StopReason = { kind: 'signal', signal: 'SIGUSR1' };
const HUP: StopReason = { kind: 'signal', signal: 'SIGHUP' };
const LOST: StopReason = {
  kind: 'node-lost',
  node: 'node3',
  reason: 'its agent disconnected',
  log: '/jobs/7/agent-node3.log',
};
const WARN: StopReason = { kind: 'preempt', atMs: 0 };
const code = (c: number): ExitInfo => ({ code: c, signal: null });
const killed = (s: NodeJS.Signals): ExitInfo => ({ code: null, signal: s });
const form = new ClusterFormError('the cluster did not form');
const lostErr = new NodeLostError('node gone');
const internal = new InternalError('broken');

type Row = [
  what: string,
  reason: StopReason | undefined,
  error: unknown,
  exit: ExitInfo | undefined,
  state: string,
  exitCode: number,
  error?: RayslError | RegExp,
];

const rows: Row[] = [
  // a stop before the entrypoint started: the phase gave up with Cancelled
  ['SIGTERM before join', TERM, new Cancelled('x'), undefined, 'cancelled', 143],
  ['SIGINT before join', INT, new Cancelled('x'), undefined, 'cancelled', 130],
  ['SIGUSR1 before join (scancel --signal)', USR1, new Cancelled('x'), undefined, 'cancelled', 138],
  ['SIGHUP before join (the terminal closed)', HUP, new Cancelled('x'), undefined, 'cancelled', 129],
  ['Cancelled without a reason counts as TERM', undefined, new Cancelled('x'), undefined, 'cancelled', 143],
  ['a non-raysl error while stopping is the stop', TERM, new Error('socket hang up'), undefined, 'cancelled', 143],
  ['a RayslError while stopping is still that failure', TERM, form, undefined, 'failed', 4, form],
  [
    'node lost while forming (min < N)',
    LOST,
    new Cancelled('x'),
    undefined,
    'failed',
    5,
    /node node3 was lost while the job was running: its agent disconnected/,
  ],
  // a stop after the join: the entrypoint was stopped and its exit is the code
  ['SIGTERM after join, entrypoint killed by it', TERM, undefined, killed('SIGTERM'), 'cancelled', 143],
  // issue 16: an interrupted or cancelled run exits 128 + that signal whatever the entrypoint did with it
  ['SIGTERM after join, entrypoint exits 0 on TERM (a checkpoint)', TERM, undefined, code(0), 'cancelled', 143],
  ['SIGINT after join, entrypoint exits 3', INT, undefined, code(3), 'cancelled', 130],
  [
    'SIGINT after join (Ctrl-C), entrypoint killed by the TERM raysl sent',
    INT,
    undefined,
    killed('SIGTERM'),
    'cancelled',
    130,
  ],
  [
    'SIGTERM after join, entrypoint ignored TERM and needed a KILL',
    TERM,
    undefined,
    killed('SIGKILL'),
    'cancelled',
    143,
  ],
  ['SIGTERM after join (scancel), a Ray driver aborts (SIGABRT)', TERM, undefined, killed('SIGABRT'), 'cancelled', 143],
  ['SIGHUP after join (the terminal closed), entrypoint exits 0', HUP, undefined, code(0), 'cancelled', 129],
  ['node lost during run', LOST, undefined, killed('SIGTERM'), 'failed', 5, /node node3 was lost/],
  ['node lost during run, entrypoint exited 0 on TERM', LOST, undefined, code(0), 'failed', 5, /node node3 was lost/],
  // Slurm's USR2 warning (time limit near, or preemption): 6 whatever the entrypoint did with its grace
  [
    'USR2 before join',
    WARN,
    new Cancelled('x'),
    undefined,
    'preempted',
    6,
    /stopped at Slurm's warning \(time limit near, or preemption\) before the entrypoint started/,
  ],
  [
    'USR2 during run, entrypoint checkpointed and exited 0',
    WARN,
    undefined,
    code(0),
    'preempted',
    6,
    /the entrypoint exited with code 0/,
  ],
  [
    'USR2 during run, entrypoint killed by its TERM',
    WARN,
    undefined,
    killed('SIGTERM'),
    'preempted',
    6,
    /the entrypoint exited with code 143/,
  ],
  ['USR2 then a real failure while forming stays that failure', WARN, form, undefined, 'failed', 4, form],
  // the entrypoint ended on its own
  ['entrypoint exit 0', undefined, undefined, code(0), 'succeeded', 0],
  ['entrypoint exit 3', undefined, undefined, code(3), 'failed', 3],
  ['entrypoint killed by SIGKILL', undefined, undefined, killed('SIGKILL'), 'failed', 137],
  ['entrypoint killed by SIGSEGV', undefined, undefined, killed('SIGSEGV'), 'failed', 139],
  ['entrypoint exit with neither code nor signal', undefined, undefined, { code: null, signal: null }, 'failed', 70],
  ['entrypoint could not start (127)', undefined, undefined, code(127), 'failed', 127],
  // a phase failed on its own
  ['cluster did not form', undefined, form, undefined, 'failed', 4, form],
  ['node lost error thrown', undefined, lostErr, undefined, 'failed', 5, lostErr],
  ['internal error', undefined, internal, undefined, 'failed', 70, internal],
  ['usage error keeps its code', undefined, new UsageError('bad'), undefined, 'failed', 2, /bad/],
  ['unknown error becomes internal', undefined, new Error('boom'), undefined, 'failed', 70, /internal error: boom/],
  ['a thrown string becomes internal', undefined, 'boom', undefined, 'failed', 70, /internal error: boom/],
  [
    'neither error nor exit is a bug',
    undefined,
    undefined,
    undefined,
    'failed',
    70,
    /neither an error nor an entrypoint exit/,
  ],
];

describe('classify (pure: stop reason, error, entrypoint exit -> outcome)', () => {
  it.each(rows)('%s', (_what, reason, error, exit, state, exitCode, expected) => {
    const out = classify(reason, error, exit);
    expect(out.state).toBe(state);
    expect(out.exitCode).toBe(exitCode);
    if (expected === undefined) expect(out.error).toBeUndefined();
    else if (expected instanceof RegExp) expect(out.error?.message).toMatch(expected);
    else expect(out.error).toBe(expected);
    // a failure always carries its error and its code; a success or cancel never has one
    if (out.error) expect(out.error.exitCode).toBe(out.exitCode);
  });

  it('a lost node names its log in the hint and the details', () => {
    const out = classify(LOST, undefined, killed('SIGTERM'));
    expect(out.error).toBeInstanceOf(NodeLostError);
    expect(out.error?.hint).toBe('read /jobs/7/agent-node3.log; pass --continue-on-node-loss to keep going without it');
    expect(out.error?.details).toEqual({ node: 'node3', log: '/jobs/7/agent-node3.log' });
  });

  it('an unknown error keeps the original as cause', () => {
    const boom = new Error('boom');
    expect(classify(undefined, boom, undefined).error?.cause).toBe(boom);
  });
});
