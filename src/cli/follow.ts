/**
 * Following a job from the login node (`submit --follow`, `logs --follow`): Slurm's queue state
 * until the controller writes status.json, then its timeline (joins, ready), then the entrypoint's
 * output as it arrives, until the job is over. Waits on file events (fs.watch) and polls with
 * backoff and no fixed sleeps; squeue is asked at most about once a second once the job runs.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import type { JobStatus } from '../core/status.js';
import { pollUntil } from '../proc/poll.js';
import { queuePosition, readStatus, slurmEnding, slurmJob, type JobRef } from './jobs.js';
import type { Io } from './io.js';
import type { Progress } from './spinner.js';
import {
  currentRecord,
  endedOutcome,
  followStep,
  initialFollowState,
  slurmDue,
  type Done,
  type FollowConfig,
  type FollowEffect,
  type FollowObservation,
} from './follow-step.js';
import { tailFile, type Tail } from './tail.js';

/** How long a controller's unasked-for cancel waits for Slurm's final state (NODE_FAIL or not). */
const SLURM_SETTLE_MS = 15_000;

export interface FollowOptions {
  job: JobRef;
  io: Io;
  progress: Progress;
  /** Copy entrypoint.log to stdout as it grows. */
  stream: boolean;
  /** Poll bounds in ms (defaults 50 .. 1000). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Resolves when the user asks to stop following (Ctrl-C): following ends, the job runs on. */
  interrupt?: Promise<NodeJS.Signals>;
}

export type Followed =
  | { outcome: Done; status: JobStatus | undefined; interrupted?: undefined }
  /** Following stopped on a signal; the job itself was left alone. */
  | { interrupted: NodeJS.Signals; status: JobStatus | undefined; outcome?: undefined };

/** Wakes a waiter on a change in the job dir, after `ms`, or on abort, whichever is first. */
function waker(dir: string): { wait(ms: number, signal?: AbortSignal): Promise<void>; close(): void } {
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  const arm = () => {
    if (watcher) return;
    try {
      watcher = watch(dir, () => wake?.());
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      // the dir does not exist yet (job pending) or no inotify: the timer does it
    }
  };
  return {
    wait: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        arm();
        const t = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        function done() {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    close: () => watcher?.close(),
  };
}

/** squeue's answer (and the queue position of a job still pending before status.json exists). */
async function askSlurm(
  o: FollowOptions,
  status: JobStatus | undefined,
): Promise<NonNullable<FollowObservation['squeue']>> {
  const askedAt = o.io.now();
  const job = await slurmJob(o.job.jobId, o.io);
  const position = job?.state === 'PENDING' && !status ? await queuePosition(job, o.io) : undefined;
  return { askedAt, job, ...(position ? { position } : {}) };
}

/**
 * The loop: read status.json (and squeue when due), let followStep decide, do what it says. The
 * poll primitive owns the loop and Ctrl-C (abort); each wait is the step's, cut short by a change
 * in the job dir.
 */
export async function followJob(o: FollowOptions): Promise<Followed> {
  const { job, io, progress } = o;
  const cfg: FollowConfig = {
    jobId: job.jobId,
    stream: o.stream,
    minMs: o.pollMinMs ?? 50,
    maxMs: o.pollMaxMs ?? 1000,
    settleMs: SLURM_SETTLE_MS,
  };
  const w = waker(job.paths.dir);
  const stop = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  void o.interrupt?.then((sig) => {
    interrupted = sig;
    stop.abort();
  });
  let state = initialFollowState(cfg);
  let tail: Tail | undefined;
  let nextWait = cfg.minMs;
  const perform = async (e: FollowEffect): Promise<void> => {
    if (e.kind === 'update') progress.update(e.line);
    else if (e.kind === 'log') progress.log(e.line);
    else if (e.kind === 'succeed') progress.succeed(e.line);
    else if (e.kind === 'stderr') io.stderr.write(`${e.line}\n`);
    else if (e.kind === 'start-tail')
      tail = tailFile(job.paths.entrypointLog, (b) => io.stdout.write(b), { pollMinMs: cfg.minMs, pollMaxMs: 500 });
    else {
      await tail?.stop();
      tail = undefined;
    }
  };
  const turn = async (): Promise<{ outcome: Done; status: JobStatus | undefined } | undefined> => {
    const record = readStatus(job.paths);
    const status = currentRecord(state, record);
    const squeue = slurmDue(state, status, io.now(), cfg) ? await askSlurm(o, status) : undefined;
    const step = followStep(
      state,
      { now: io.now(), record, ...(squeue ? { squeue } : {}), cancelRequested: existsSync(job.paths.cancelRequest) },
      cfg,
    );
    state = step.state;
    for (const e of step.effects) await perform(e);
    if (step.decision.kind === 'wait') {
      nextWait = step.decision.ms;
      return undefined;
    }
    if (step.decision.kind === 'done') return { outcome: step.decision.outcome, status };
    // Slurm says it is over but status.json does not: read it once more, then ask scontrol why
    const again = readStatus(job.paths);
    const ending = await slurmEnding(job.jobId, io).catch(() => undefined);
    await perform({ kind: 'stop-tail' });
    return { outcome: endedOutcome(job.jobId, again, ending, state.slurm), status: again };
  };
  try {
    const polled = await pollUntil(turn, {
      timeoutMs: Infinity,
      signal: stop.signal,
      sleep: (_ms, signal) => w.wait(nextWait, signal),
    });
    if (polled.done) return polled.value;
    return { interrupted: interrupted ?? 'SIGINT', status: readStatus(job.paths) };
  } finally {
    await tail?.stop();
    w.close();
    progress.stop();
  }
}
