// Pure job views: the exit code a followed job ends with, the progress lines, the tables.
import { describe, expect, it } from 'vitest';
import { initialStatus, withNode, withPhase, withState, type JobStatus } from '../../src/core/status.js';
import { ClusterFormError, NodeLostError, SlurmError } from '../../src/core/errors.js';
import {
  age,
  eventLine,
  formatLs,
  formatStatus,
  outcomeOf,
  pendingLine,
  printable,
  statusView,
  table,
} from '../../src/cli/status-view.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function started(nodes = ['node1', 'node2']): JobStatus {
  return initialStatus({
    jobId: '42',
    runtime: 'builtin',
    launcher: 'srun',
    nodes: nodes.map((n, i) => ({
      name: n,
      address: `127.0.1.${i + 1}`,
      role: i === 0 ? 'head' : 'worker',
      log: `/j/42/agent-${n}.log`,
    })),
    minNodes: nodes.length,
    startedAtMs: T0,
  });
}

function finished(
  code: number,
  state: 'succeeded' | 'failed' | 'cancelled',
  error?: { message: string; hint?: string },
): JobStatus {
  const s = withPhase({ ...withState(started(), state), exitCode: code }, T0 + 2000, { phase: 'torn-down', code });
  return error ? { ...s, error } : s;
}

const running = { state: 'RUNNING', reason: 'None', nodelist: 'node[1-2]' };

describe('outcomeOf', () => {
  const cases: Array<
    [
      string,
      JobStatus | undefined,
      Parameters<typeof outcomeOf>[2],
      { done: boolean; code?: number; error?: unknown; summary?: RegExp },
    ]
  > = [
    ['running job, controller not final', withState(started(), 'running'), running, { done: false }],
    ['pending, no status yet', undefined, { state: 'PENDING', reason: 'Resources', nodelist: '' }, { done: false }],
    [
      'entrypoint exit 0',
      finished(0, 'succeeded'),
      running,
      { done: true, code: 0, summary: /job 42 succeeded \(exit 0\)/ },
    ],
    [
      'entrypoint exit 7 (Slurm still completing)',
      finished(7, 'failed'),
      { ...running, state: 'COMPLETING' },
      { done: true, code: 7, summary: /exit 7/ },
    ],
    [
      'cluster did not form: 4 with the controller message',
      finished(4, 'failed', { message: 'node3 never joined', hint: 'read agent-node3.log' }),
      undefined,
      { done: true, code: 4, error: ClusterFormError, summary: /node3 never joined/ },
    ],
    [
      'node lost: 5',
      finished(5, 'failed', { message: 'node node2 was lost' }),
      running,
      { done: true, code: 5, error: NodeLostError },
    ],
    [
      'cancelled while pending: 3 with Slurm state',
      undefined,
      { state: 'CANCELLED', reason: 'None', nodelist: '' },
      { done: true, code: 3, error: SlurmError, summary: /ended CANCELLED before the raysl controller started/ },
    ],
    // issue 16: a node failure is one exit code, 5, whichever signal reached the controller first
    [
      'node failure before the controller: 5, reason named',
      undefined,
      { state: 'NODE_FAIL', reason: 'NodeDown', nodelist: 'node1' },
      {
        done: true,
        code: 5,
        error: NodeLostError,
        summary:
          /a node failed: Slurm ended the job NODE_FAIL \(reason: NodeDown\) before the raysl controller started/,
      },
    ],
    [
      "node failure, the controller recorded a cancel (Slurm's TERM came first): 5",
      finished(143, 'cancelled'),
      { state: 'NODE_FAIL', reason: 'None', nodelist: 'node[1-2]' },
      {
        done: true,
        code: 5,
        error: NodeLostError,
        summary: /NODE_FAIL; the controller recorded cancelled \(exit 143\)/,
      },
    ],
    [
      'node failure, the controller saw the lost agent first: its own 5',
      finished(5, 'failed', { message: 'node node2 was lost' }),
      { state: 'NODE_FAIL', reason: 'None', nodelist: 'node[1-2]' },
      { done: true, code: 5, error: NodeLostError, summary: /node node2 was lost/ },
    ],
    [
      'node failure, the controller killed mid-run: 5',
      withState(started(), 'running'),
      { state: 'NODE_FAIL', reason: 'None', nodelist: 'node[1-2]' },
      { done: true, code: 5, error: NodeLostError, summary: /while the controller was running/ },
    ],
    [
      'controller died mid-run: 3, names its last state',
      withState(started(), 'running'),
      { state: 'FAILED', reason: 'NonZeroExitCode', nodelist: 'node[1-2]' },
      { done: true, code: 3, error: SlurmError, summary: /while the controller was running/ },
    ],
    [
      'job purged and no status: 3',
      undefined,
      undefined,
      { done: true, code: 3, error: SlurmError, summary: /unknown to Slurm/ },
    ],
  ];
  it.each(cases)('%s', (_name, status, slurm, want) => {
    const out = outcomeOf('42', status, slurm);
    expect(out.done).toBe(want.done);
    if (!out.done) return;
    expect(out.code).toBe(want.code);
    if (want.error) {
      expect(out.error).toBeInstanceOf(want.error as typeof SlurmError);
      expect(out.error!.exitCode).toBe(want.code);
      expect(out.error!.hint).toBeTruthy();
    } else expect(out.error).toBeUndefined();
    if (want.summary) expect(out.summary).toMatch(want.summary);
  });
});

describe('progress lines', () => {
  it('counts joins against all nodes and names the resources', () => {
    let s = started(['node1', 'node2', 'node3']);
    s = withPhase(withNode(s, 'node2', { state: 'joined', cpus: 4, gpus: 2 }), T0 + 400, {
      phase: 'node-joined',
      node: 'node2',
    });
    s = withPhase(withNode(s, 'node1', { state: 'joined', cpus: 4, gpus: 2 }), T0 + 500, {
      phase: 'node-joined',
      node: 'node1',
    });
    const joins = s.timeline.filter((e) => e.phase === 'node-joined').map((e) => eventLine(s, e));
    expect(joins).toEqual(['node2 joined (4 CPU, 2 GPU) 1/3', 'node1 joined (4 CPU, 2 GPU) 2/3']);
    s = withPhase(s, T0 + 600, { phase: 'node-failed', node: 'node3', detail: 'port 20001 in use' });
    expect(eventLine(s, s.timeline.at(-1)!)).toBe('node3 failed: port 20001 in use');
  });
  it('pending line carries the reason and the queue position', () => {
    expect(pendingLine('Resources', { position: 2, of: 5 }, 'gpu')).toBe(
      'pending (Resources), 2/5 in the queue of partition gpu',
    );
    expect(pendingLine('', undefined)).toBe('pending');
    expect(pendingLine('None', { position: 1, of: 1 }, 'debug')).toBe('pending, 1/1 in the queue of partition debug');
  });
});

describe('status and ls formatting', () => {
  it('status text: header with exit and Slurm, nodes table, timeline, job dir', () => {
    const s = finished(0, 'succeeded');
    const text = formatStatus(
      statusView(
        '42',
        '/j/42',
        { ...s, portBlock: { base: 20480, size: 64 }, controller: '127.0.1.1:20480' },
        { state: 'COMPLETED', reason: 'None', nodelist: 'node[1-2]' },
      ),
    );
    expect(text).toMatch(/^job 42  succeeded \(exit 0\)  slurm COMPLETED\n/);
    expect(text).toMatch(/ports 20480-20543/);
    expect(text).toMatch(/^ {2}node2 {2}worker {2}pending {2}127\.0\.1\.2$/m);
    expect(text).toMatch(/^ {4}\+2\.00s {2}torn down; exit 0$/m);
    expect(text).toMatch(/job dir: \/j\/42\n$/);
  });
  it("status without status.json says so and keeps Slurm's state", () => {
    const v = statusView('42', '/j/42', undefined, { state: 'PENDING', reason: 'Priority', nodelist: '' });
    expect(v.state).toBe('pending');
    expect(formatStatus(v)).toMatch(/slurm PENDING \(Priority\)\nno status\.json yet/);
  });
  it('ls table and ages', () => {
    expect(
      formatLs([
        {
          id: '7',
          name: 'raysl-train',
          state: 'running',
          nodes: 'node[1-4]',
          ports: '20480-20543',
          age: 300,
          since: null,
        },
      ]),
    ).toBe(
      'ID  NAME         STATE    NODES      PORTS        AGE\n7   raysl-train  running  node[1-4]  20480-20543  5m\n',
    );
    expect(formatLs([])).toBe('');
    expect([age(0, 59_000), age(0, 60_000), age(0, 7_200_000), age(0, 2 * 86_400_000), age(5000, 0)]).toEqual([
      '59s',
      '1m',
      '2h',
      '2d',
      '0s',
    ]);
    expect(
      table([
        ['a', 'bb'],
        ['ccc', 'd'],
      ]),
    ).toEqual(['a    bb', 'ccc  d']);
    // a crafted job name cannot clear the screen or fake a row
    const out = formatLs([
      { id: '8', name: 'x\u001b[2J\u001b[Hy\nz\u009b', state: 'running', nodes: '-', ports: '-', age: 1, since: null },
    ]);
    expect(out.split('\n')[1]).toBe('8   x\\e[2J\\e[Hy\\nz\\x9b  running  -      -      1s');
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
  it('ls never prints control characters of a job name raw', () => {
    expect(printable('\x1b[2Jx\ty\nz\r\x00\x7f\x9b\\é')).toBe('\\e[2Jx\\ty\\nz\\r\\x00\\x7f\\x9b\\\\é');
    const out = formatLs([
      { id: '7', name: 'evil\x1b[2J\x1bc', state: 'running', nodes: 'node1', ports: '-', age: 1, since: null },
    ]);
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(out).toMatch(/evil\\e\[2J\\ec/);
  });
  it('status shows a lost job with why, and a local job without Slurm', () => {
    const s = finished(0, 'succeeded');
    const v = statusView(
      'local-1-2',
      '/j/l',
      { ...s, state: 'running' },
      undefined,
      { state: 'lost', reason: 'the controller (pid 9) is gone' },
      true,
    );
    expect(v).toMatchObject({ state: 'lost', reason: 'the controller (pid 9) is gone', local: true });
    expect(formatStatus(v)).toMatch(
      /^job local-1-2  lost \(exit 0\)  local job\nwhy: the controller \(pid 9\) is gone\n/,
    );
  });
  it('status of a Slurm job when Slurm cannot be asked: the record as written, and says so', () => {
    const v = {
      ...statusView('42', '/j/42', withState(started(), 'running'), undefined, { state: 'running' }),
      slurmUnreachable: 'squeue not found on PATH',
    };
    expect(formatStatus(v)).toMatch(
      /^job 42  running  slurm not reachable\n\(Slurm could not be asked: squeue not found on PATH; the state is the controller's last record\)\n/,
    );
  });
});
