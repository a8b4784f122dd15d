/**
 * Following a job from the login node (`submit --follow`, `logs --follow`): Slurm's queue state
 * until the controller writes status.json, then its timeline (joins, ready), then the entrypoint's
 * output as it arrives, until the job is over. Waits on file events (fs.watch) and polls with
 * backoff and no fixed sleeps; squeue is asked at most about once a second once the job runs.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { isFinal, type JobStatus } from '../core/status.js';
import type { SlurmJob } from '../slurm/squeue.js';
import { queuePosition, readStatus, slurmEnding, slurmJob, type JobRef } from './jobs.js';
import type { Io } from './io.js';
import type { Progress } from './spinner.js';
import { eventLine, outcomeOf, pendingLine, SLURM_FINAL_STATES, type Outcome, type SlurmSide } from './status-view.js';
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

type Done = Extract<Outcome, { done: true }>;

export type Followed =
  | { outcome: Done; status: JobStatus | undefined; interrupted?: undefined }
  /** Following stopped on a signal; the job itself was left alone. */
  | { interrupted: NodeJS.Signals; status: JobStatus | undefined; outcome?: undefined };

/** Slurm is done with the job (or has forgotten it). */
function slurmFinal(s: SlurmSide | undefined): boolean {
  return s === undefined || SLURM_FINAL_STATES.includes(s.state);
}

function side(job: SlurmJob | undefined): SlurmSide | undefined {
  return job ? { state: job.state, reason: job.reason, nodelist: job.nodelist } : undefined;
}

/** Wakes a waiter on a change in the job dir, or after `ms`, whichever is first. */
function waker(dir: string): { wait(ms: number): Promise<void>; close(): void } {
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
    wait: (ms) =>
      new Promise<void>((resolve) => {
        arm();
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    close: () => watcher?.close(),
  };
}

export async function followJob(o: FollowOptions): Promise<Followed> {
  const { job, io, progress } = o;
  const min = o.pollMinMs ?? 50;
  const max = o.pollMaxMs ?? 1000;
  const w = waker(job.paths.dir);
  let interval = min;
  let shown = 0; // timeline events printed so far
  let lastPending = '';
  let announcedAlloc = false;
  let tail: Tail | undefined;
  let slurmAskedAt = 0;
  let slurm: SlurmSide | undefined;
  let slurmKnown = false;
  let interrupted: NodeJS.Signals | undefined;
  // --requeue: the attempt whose record ended with `requeued`; following goes on with the next one
  let requeuedAfter: number | undefined;
  let slurmSettleUntil: number | undefined;
  const interrupt = o.interrupt?.then((sig) => void (interrupted = sig));
  try {
    for (;;) {
      const record = readStatus(job.paths);
      if (interrupted) return { interrupted, status: record };
      // until the next attempt writes its own record, the requeued one is old news
      const next = requeuedAfter === undefined || (record !== undefined && (record.attempt ?? 0) > requeuedAfter);
      if (requeuedAfter !== undefined && next) {
        requeuedAfter = undefined;
        shown = 0;
      }
      const status = next ? record : undefined;
      // squeue is the expensive probe: before status.json exists it is the only news; after, the
      // controller's record is, and Slurm is only the safety net for a controller that died
      const slurmEvery = status ? max : interval;
      if (!slurmKnown || io.now() - slurmAskedAt >= slurmEvery || (status === undefined && interval === min)) {
        slurmAskedAt = io.now();
        const j = await slurmJob(job.jobId, io);
        slurm = side(j);
        slurmKnown = true;
        if (j?.state === 'PENDING' && !status) {
          const line = pendingLine(j.reason, await queuePosition(j, io), j.partition);
          if (line !== lastPending) progress.update(line);
          lastPending = line;
        } else if (j && !status && !announcedAlloc && j.nodelist !== '' && j.state !== 'PENDING') {
          announcedAlloc = true;
          progress.log(`allocated ${j.nodelist}`);
          progress.update('starting the raysl controller');
        }
      }
      let changed = false;
      if (status) {
        for (; shown < status.timeline.length; shown++) {
          const ev = status.timeline[shown]!;
          changed = true;
          if (ev.phase === 'allocated' && announcedAlloc) continue;
          if (ev.phase === 'entrypoint-started') {
            progress.succeed(`running on ${status.joined.length} node(s); output follows`);
            if (o.stream && !tail) tail = tailFile(job.paths.entrypointLog, (b) => io.stdout.write(b), { pollMinMs: min, pollMaxMs: 500 });
            continue;
          }
          if (ev.phase === 'torn-down' || ev.phase === 'entrypoint-exited' || ev.phase === 'error') continue;
          // once the output streams the spinner is gone: later events (a lost node) are plain lines
          if (tail) io.stderr.write(eventLine(status, ev) + '\n');
          else progress.log(eventLine(status, ev));
          if (ev.phase === 'agents-launched') progress.update('waiting for the agents to join');
        }
      }
      if (status && isFinal(status.state) && status.exitCode !== undefined) {
        await tail?.stop();
        tail = undefined;
        const last = status.timeline.at(-1);
        // a cancel nobody asked raysl for may be Slurm ending the job for a node failure (its TERM
        // came first): Slurm's final state says which, so wait for it (bounded) before the code
        const unasked = status.state === 'cancelled' && slurm !== undefined && !slurmFinal(slurm) && !existsSync(job.paths.cancelRequest);
        if (unasked && (slurmSettleUntil ??= io.now() + SLURM_SETTLE_MS) > io.now()) {
          await w.wait(max);
          continue;
        }
        if (!(last?.phase === 'requeued' && !slurmFinal(slurm))) return { outcome: outcomeOf(job.jobId, status, slurm) as Done, status };
        const attempt = status.attempt ?? 0;
        requeuedAfter = attempt;
        announcedAlloc = false;
        lastPending = '';
        io.stderr.write(`attempt ${attempt} ended ${status.state} (exit ${status.exitCode}); ${last.detail ?? 'requeued'}: following attempt ${attempt + 1} once Slurm starts it\n`);
        progress.update(`waiting for Slurm to start attempt ${attempt + 1}`);
      }
      if (slurmFinal(slurm)) {
        // Slurm says it is over but status.json does not: read it once more, then ask scontrol why
        const again = readStatus(job.paths);
        const ending = await slurmEnding(job.jobId, io).catch(() => undefined);
        await tail?.stop();
        tail = undefined;
        return { outcome: outcomeOf(job.jobId, again, ending ? { ...ending, nodelist: slurm?.nodelist ?? '' } : slurm) as Done, status: again };
      }
      interval = changed ? min : Math.min(interval * 2, max);
      await (interrupt ? Promise.race([w.wait(interval), interrupt]) : w.wait(interval));
    }
  } finally {
    await tail?.stop();
    w.close();
    progress.stop();
  }
}
