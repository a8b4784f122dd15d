/**
 * Tasks and services of the builtin runtime, on the controller: each request is admitted by the
 * scheduler (placed, pending in order, or rejected with the reason), sent to its node's agent
 * half, streamed back to its caller, and its resources freed when it ends. A lost node's tasks run
 * again elsewhere while maxRetries allows; a caller that goes away gets its process group killed.
 */
import type { Decision, Grant, Scheduler } from '../../core/scheduler/index.js';
import { taskRequest } from '../../core/scheduler/index.js';
import type { ErrorKind, TaskEvent, TaskRequest, TaskResult } from '../../protocol/api.js';
import type { ExitedReport, ToController } from '../../protocol/builtin.js';
import type { EventStream } from '../../protocol/http.js';
import type { ServicePorts } from './service-ports.js';

/** What a result carries of a command's output; the stream carries all of it. */
const MAX_KEPT = 8 * 1024 * 1024;
/** A cancelled command gets this long between TERM and KILL. */
const CANCEL_GRACE_MS = 2000;

export interface TaskBookDeps {
  scheduler: Scheduler;
  send(node: string, body: unknown): boolean;
  nodeAddress(node: string): string;
  servicePort(node: string, offset: number): number;
  ports: ServicePorts;
  /** Every output line of every task, prefixed, to the job's task log. */
  output(id: string, node: string, stream: 'stdout' | 'stderr', data: string): void;
  log(line: string): void;
  now(): number;
  /** Placements and rejections that freed capacity caused (the controller half routes them). */
  decided(decisions: Decision[]): void;
}

type State = 'pending' | 'running' | 'done';

class Kept {
  private text = '';
  private dropped = 0;
  push(s: string): void {
    if (this.text.length + s.length <= MAX_KEPT) this.text += s;
    else this.dropped += s.length;
  }
  value(): string {
    return this.dropped > 0
      ? `${this.text}\n[raysl: ${this.dropped} characters of output dropped from the result]\n`
      : this.text;
  }
}

interface Task {
  id: string;
  kind: 'task' | 'service';
  req: TaskRequest;
  stream: EventStream<TaskEvent>;
  state: State;
  attempt: number;
  execId?: string;
  grant?: Grant;
  portOffset?: number;
  stdout: Kept;
  stderr: Kept;
  startedAt: number;
  pendingTimer?: NodeJS.Timeout;
  /** Set when raysl itself stops it (caller gone, stop(), group removed): how it ends. */
  stopping?: { kind: ErrorKind | 'stop'; message: string };
}

export class TaskBook {
  private readonly tasks = new Map<string, Task>();
  private readonly byExec = new Map<string, Task>();
  private next = 1;
  private closed = false;

  constructor(private readonly d: TaskBookDeps) {}

  submit(kind: 'task' | 'service', req: TaskRequest, stream: EventStream<TaskEvent>): void {
    const id = `${kind === 'task' ? 't' : 's'}${this.next++}`;
    const t: Task = {
      id,
      kind,
      req,
      stream,
      state: 'pending',
      attempt: 0,
      stdout: new Kept(),
      stderr: new Kept(),
      startedAt: 0,
    };
    this.tasks.set(id, t);
    stream.send({ e: 'accepted', id });
    stream.onAbort(() => this.abandon(t));
    if (this.closed) return this.fail(t, 'shutting-down', 'the job is ending');
    if (req.pendingTimeoutMs !== undefined) {
      t.pendingTimer = setTimeout(() => {
        if (t.state !== 'pending') return;
        this.d.scheduler.cancel(t.id);
        this.fail(
          t,
          'pending-timeout',
          `${t.id} was not placed within ${req.pendingTimeoutMs} ms: ${describe(req)} did not become free`,
        );
      }, req.pendingTimeoutMs);
    }
    this.schedule(t);
  }

  private schedule(t: Task): void {
    const r = this.d.scheduler.submit(t.id, taskRequest(t.req.resources ?? {}), {
      ...(t.req.node !== undefined ? { node: t.req.node } : {}),
      ...(t.req.placementGroup !== undefined ? { group: t.req.placementGroup } : {}),
      ...(t.req.bundle !== undefined ? { bundle: t.req.bundle } : {}),
    });
    if (r.status === 'placed') this.placed(t.id, r.grant);
    else if (r.status === 'rejected') this.fail(t, 'infeasible', r.reason);
    else t.stream.send({ e: 'pending', reason: `waiting for ${describe(t.req)} to become free` });
  }

  /** The scheduler placed a task (now, or later when capacity freed). */
  placed(id: string, grant: Grant): void {
    const t = this.tasks.get(id);
    if (!t || t.state !== 'pending') return;
    if (t.pendingTimer) clearTimeout(t.pendingTimer);
    t.attempt++;
    t.state = 'running';
    t.grant = grant;
    t.execId = `${t.id}.${t.attempt}`;
    this.byExec.set(t.execId, t);
    const env: Record<string, string> = {
      ...(t.req.env ?? {}),
      RAYSL_TASK_ID: t.id,
      CUDA_VISIBLE_DEVICES: grant.gpus.map((g) => g.id).join(','),
    };
    if (t.kind === 'service') {
      t.portOffset = this.d.ports.take(grant.node);
      if (t.portOffset === undefined)
        return void this.ended(t, {
          k: 'exited',
          id: t.execId,
          exitCode: null,
          signal: null,
          error: `no service port left on ${grant.node}`,
        });
      env.RAYSL_SERVICE_PORT = String(this.d.servicePort(grant.node, t.portOffset));
    }
    t.stream.send({ e: 'placed', node: grant.node, gpuIds: grant.gpus.map((g) => g.id), attempt: t.attempt });
    t.startedAt = this.d.now();
    const sent = this.d.send(grant.node, {
      k: 'exec',
      id: t.execId,
      argv: t.req.argv,
      env,
      ...(t.req.cwd !== undefined ? { cwd: t.req.cwd } : {}),
      ...(t.req.timeoutMs !== undefined ? { timeoutMs: t.req.timeoutMs } : {}),
    });
    if (!sent) this.lost([t.id], `node ${grant.node} has no live agent`);
  }

  rejected(id: string, reason: string): void {
    const t = this.tasks.get(id);
    if (t && t.state === 'pending') this.fail(t, 'infeasible', reason);
  }

  /** A report of the agent half on `node` about one of its commands. */
  report(node: string, m: ToController): void {
    const t = this.byExec.get(m.id);
    if (!t || t.grant?.node !== node) return;
    if (m.k === 'started') {
      if (t.kind === 'service') {
        const port = t.portOffset !== undefined ? this.d.servicePort(node, t.portOffset) : undefined;
        t.stream.send({
          e: 'started',
          node,
          address: this.d.nodeAddress(node),
          ...(port !== undefined ? { port } : {}),
          pid: m.pid,
        });
      }
    } else if (m.k === 'output') {
      (m.stream === 'stdout' ? t.stdout : t.stderr).push(m.data);
      t.stream.send({ e: 'output', stream: m.stream, data: m.data });
      this.d.output(t.id, node, m.stream, m.data);
    } else this.ended(t, m);
  }

  private ended(t: Task, m: ExitedReport): void {
    // taken before the release, which may start the next task at once: that one starts after this ends
    const endedAt = this.d.now();
    this.release(t);
    if (m.error) t.stderr.push(`raysl: ${m.error}\n`);
    const failed = m.exitCode !== 0;
    if (!t.stopping && failed && t.req.retryOnFailure && t.attempt <= (t.req.maxRetries ?? 0)) {
      return this.retry(
        t,
        `attempt ${t.attempt} ended with ${m.signal ? `signal ${m.signal}` : `exit code ${m.exitCode}`}`,
      );
    }
    if (t.stopping && t.stopping.kind !== 'stop') return this.fail(t, t.stopping.kind, t.stopping.message);
    const result: TaskResult = {
      id: t.id,
      exitCode: m.exitCode,
      signal: m.signal,
      node: t.grant?.node ?? '',
      gpuIds: t.grant?.gpus.map((g) => g.id) ?? [],
      stdout: t.stdout.value(),
      stderr: t.stderr.value(),
      startedAt: t.startedAt,
      endedAt,
      attempts: t.attempt,
      timedOut: m.timedOut === true,
    };
    t.state = 'done';
    this.tasks.delete(t.id);
    t.stream.end({ e: 'result', result });
  }

  /** Tasks the scheduler evicted (their node was lost or their group removed). */
  lost(ids: string[], reason: string): void {
    for (const id of ids) {
      const t = this.tasks.get(id);
      if (!t || t.state !== 'running') continue;
      this.release(t, false);
      if (t.attempt <= (t.req.maxRetries ?? 0)) this.retry(t, reason);
      else
        this.fail(
          t,
          'node-lost',
          `${t.id} ran on ${t.grant?.node}: ${reason}${t.attempt > 1 ? ` (after ${t.attempt} attempts)` : ''}`,
        );
    }
  }

  /** Stops tasks raysl no longer wants (their placement group was removed): kill, then end with why. */
  evict(ids: string[], why: string): void {
    for (const id of ids) {
      const t = this.tasks.get(id);
      if (!t || t.state !== 'running') continue;
      t.stopping = { kind: 'cancelled', message: why };
      this.kill(t, 0);
    }
  }

  /** DELETE /v1/services/<id>: TERM, grace, KILL; the service's stream ends with its result. */
  stopService(id: string, graceMs: number): boolean {
    const t = this.tasks.get(id);
    if (!t || t.kind !== 'service') return false;
    if (t.state === 'pending') {
      this.d.scheduler.cancel(t.id);
      this.fail(t, 'cancelled', `${t.id} was stopped before it was placed`);
    } else if (t.state === 'running') {
      t.stopping ??= { kind: 'stop', message: 'stopped' };
      this.kill(t, graceMs);
    }
    return true;
  }

  /** The job is ending: every caller gets an answer now; the agents stop the commands. */
  close(): void {
    this.closed = true;
    for (const t of [...this.tasks.values()]) {
      if (t.state === 'pending') this.d.scheduler.cancel(t.id);
      this.fail(
        t,
        'shutting-down',
        `the job is ending: ${t.id} ${t.state === 'running' ? 'was stopped' : 'never ran'}`,
      );
    }
  }

  private retry(t: Task, reason: string): void {
    t.state = 'pending';
    // the result is the last attempt's; the caller's stream had every attempt's output
    t.stdout = new Kept();
    t.stderr = new Kept();
    t.stream.send({ e: 'retry', attempt: t.attempt + 1, reason });
    this.d.log(`${t.id}: ${reason}; running it again (attempt ${t.attempt + 1} of ${(t.req.maxRetries ?? 0) + 1})`);
    this.schedule(t);
  }

  private abandon(t: Task): void {
    if (t.state === 'pending') {
      this.d.scheduler.cancel(t.id);
      t.state = 'done';
      this.tasks.delete(t.id);
    } else if (t.state === 'running') {
      t.stopping = { kind: 'cancelled', message: 'the caller went away' };
      this.kill(t, CANCEL_GRACE_MS);
    }
  }

  private kill(t: Task, graceMs: number): void {
    if (t.grant && t.execId && !this.d.send(t.grant.node, { k: 'kill', id: t.execId, graceMs }))
      this.lost([t.id], 'its node has no live agent');
  }

  /** Gives back what a running task held (the scheduler may place pending work at once). */
  private release(t: Task, toScheduler = true): void {
    if (t.execId) this.byExec.delete(t.execId);
    if (t.grant && t.portOffset !== undefined) this.d.ports.give(t.grant.node, t.portOffset);
    delete t.portOffset;
    if (toScheduler && t.state === 'running') {
      t.state = 'pending';
      this.d.decided(this.d.scheduler.release(t.id));
    }
    t.state = 'pending';
  }

  private fail(t: Task, kind: ErrorKind, message: string): void {
    if (t.pendingTimer) clearTimeout(t.pendingTimer);
    if (t.state === 'running') this.release(t);
    t.state = 'done';
    this.tasks.delete(t.id);
    t.stream.end({ e: 'error', kind, message });
  }
}

function describe(req: TaskRequest): string {
  const r = req.resources ?? {};
  const parts = [`${r.cpus ?? 1} CPU`];
  if (r.gpus) parts.push(`${r.gpus} GPU`);
  if (r.memoryMb) parts.push(`${r.memoryMb} MB memory`);
  for (const [k, v] of Object.entries(r.custom ?? {})) parts.push(`${v} ${k}`);
  const where =
    req.placementGroup !== undefined
      ? ` in ${req.placementGroup}${req.bundle !== undefined ? ` bundle ${req.bundle}` : ''}`
      : req.node !== undefined
        ? ` on ${req.node}`
        : '';
  return parts.join(', ') + where;
}
