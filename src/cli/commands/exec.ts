/**
 * `raysl exec <jobid> -- <command...>`: runs a command on the head of a cluster from `raysl up`, as
 * the job's entrypoint would run (the controller's POST /v1/exec), streams its output here as it
 * is written, and exits with its code. Ctrl-C closes the stream: the controller stops the
 * command's process group. Several execs may run at once.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Command } from 'commander';
import { RayslError, UsageError } from '../../core/errors.js';
import { parseExecEvent, type ExecEvent } from '../../protocol/api.js';
import { globalsOf, type Register } from '../app.js';
import type { Io } from '../io.js';
import { liveJob, readToken, type LiveJob } from '../live-job.js';

interface ExecEnd {
  code: number;
  signal: string | null;
  log: string;
  interrupted?: NodeJS.Signals;
}

/** The end of an exec we stopped with a signal (Ctrl-C, TERM): the shell's 128 + signal number. */
const interruptedEnd = (sig: NodeJS.Signals): ExecEnd => ({
  code: 128 + (sig === 'SIGINT' ? 2 : 15),
  signal: null,
  log: '',
  interrupted: sig,
});

/** Calls onLine with each non-empty line of a newline-delimited response until it returns false. */
function eachLine(res: IncomingMessage, onLine: (line: string) => boolean): void {
  let buffered = '';
  let reading = true;
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (reading && nl !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== '') reading = onLine(line);
      nl = buffered.indexOf('\n');
    }
  });
}

/** The whole body of a response, as text. */
function readText(res: IncomingMessage, then: (text: string) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => (text += c));
  res.on('end', () => then(text));
}

interface ExecTarget {
  host: string;
  port: number;
  token: string;
  jobId: string;
}

/** Sends our stdin to the command (POST /v1/exec/<id>/stdin) as it comes. */
function uploadStdin(to: ExecTarget, id: string, stdin: NodeJS.ReadableStream): ClientRequest {
  const upload = request({
    host: to.host,
    port: to.port,
    method: 'POST',
    path: `/v1/exec/${id}/stdin`,
    headers: { authorization: `Bearer ${to.token}`, 'content-type': 'application/octet-stream' },
  });
  // the command may end (or close its stdin) before all of it is sent: that is its business
  upload.on('error', () => {});
  upload.on('response', (r) => r.resume());
  stdin.pipe(upload);
  return upload;
}

/** What one event of the stream does here: output written, the upload started, the exit kept, or an error. */
function applyEvent(
  ev: ExecEvent,
  io: Io,
  jobId: string,
  started: (id: string) => void,
): { end?: ExecEnd; error?: RayslError } {
  if (ev.e === 'output') (ev.stream === 'stdout' ? io.stdout : io.stderr).write(ev.data);
  else if (ev.e === 'started') {
    if (ev.note) io.stderr.write(`raysl: ${ev.note}\n`);
    started(ev.id);
  } else if (ev.e === 'exit') {
    if (ev.stopped) io.stderr.write(`raysl: job ${jobId}: ${ev.stopped} (exit ${ev.code})\n`);
    return { end: { code: ev.code, signal: ev.signal, log: ev.log } };
  } else if (ev.e === 'error')
    return {
      error: new RayslError(`exec on job ${jobId}: ${ev.message}`, {
        exitCode: 70,
        hint: `read the controller log: raysl logs ${jobId} --controller`,
      }),
    };
  return {};
}

/** Streams one exec; resolves with its exit (or the signal that made us close the stream). */
function streamExec(live: LiveJob, argv: string[], io: Io): Promise<ExecEnd> {
  // stdin from a pipe or a file is the command's (`echo hi | raysl exec ID -- cat`); a terminal is not
  // forwarded (no interactive session: the command gets /dev/null and nothing waits on a keyboard)
  const stdin = io.stdin !== undefined && io.stdin.isTTY !== true ? io.stdin : undefined;
  const body = JSON.stringify({ argv, cwd: io.cwd, ...(stdin ? { stdin: true } : {}) });
  const colon = live.address.lastIndexOf(':');
  const to: ExecTarget = {
    host: live.address.slice(0, colon),
    port: Number(live.address.slice(colon + 1)),
    token: readToken(live),
    jobId: live.job.jobId,
  };
  const jobId = to.jobId;
  let upload: ClientRequest | undefined;
  return new Promise<ExecEnd>((resolve, reject) => {
    let end: ExecEnd | undefined;
    let interrupted: NodeJS.Signals | undefined;
    const req = request({
      host: to.host,
      port: to.port,
      method: 'POST',
      path: '/v1/exec',
      headers: {
        authorization: `Bearer ${to.token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    const onSignal = (sig: NodeJS.Signals) => {
      interrupted = sig;
      io.stderr.write(`raysl: ${sig}: stopping the command on the cluster\n`);
      req.destroy();
    };
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => [sig, () => onSignal(sig)] as const);
    for (const [sig, fn] of handlers) process.on(sig, fn);
    const done = () => {
      for (const [sig, fn] of handlers) process.off(sig, fn);
      if (upload) {
        stdin?.unpipe(upload);
        upload.destroy();
      }
    };
    req.on('error', (err: NodeJS.ErrnoException) => {
      done();
      if (interrupted) return resolve(interruptedEnd(interrupted));
      reject(
        new UsageError(`cannot reach job ${jobId}'s controller at ${live.address}: ${err.code ?? err.message}`, {
          hint: `is it still running? raysl status ${jobId}`,
        }),
      );
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        return readText(res, (text) => {
          done();
          reject(refusal(jobId, res.statusCode ?? 0, text));
        });
      }
      eachLine(res, (line) => {
        let ev: ExecEvent;
        try {
          ev = parseExecEvent(JSON.parse(line));
        } catch (err) {
          reject(
            new RayslError(`exec on job ${jobId}: the controller sent ${(err as Error).message}`, {
              exitCode: 70,
              hint: 'run raysl exec with the raysl version that started the job',
            }),
          );
          req.destroy();
          return false;
        }
        const step = applyEvent(ev, io, jobId, (id) => {
          if (stdin) upload = uploadStdin(to, id, stdin);
        });
        if (step.end) end = step.end;
        if (step.error) reject(step.error);
        return true;
      });
      res.on('close', () => {
        done();
        if (end) return resolve(end);
        if (interrupted) return resolve(interruptedEnd(interrupted));
        reject(
          new RayslError(
            `job ${jobId}: the connection to its controller ended before the command's exit: the cluster went down`,
            { exitCode: 5, hint: `what happened: raysl status ${jobId}` },
          ),
        );
      });
    });
    req.end(body);
  });
}

function refusal(jobId: string, status: number, text: string): RayslError {
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: string }).error ?? text;
  } catch {
    // not JSON: keep the text
  }
  if (status === 409)
    return new UsageError(message, {
      hint: `exec runs on clusters from raysl up: raysl up -N <nodes>, then raysl exec <jobid> -- <command>`,
    });
  if (status === 401)
    return new UsageError(`job ${jobId} refused the token in its job dir`, {
      hint: 'run this as the user who started the job',
    });
  if (status === 404)
    return new UsageError(`job ${jobId}'s controller has no exec endpoint (${message})`, {
      hint: 'the job runs an older raysl: start the cluster with this one',
    });
  return new RayslError(`exec on job ${jobId}: HTTP ${status}: ${message}`, {
    exitCode: 70,
    hint: `raysl logs ${jobId} --controller`,
  });
}

export const registerExec: Register = (program, app) => {
  program
    .command('exec')
    .description(
      'run a command on the head of a cluster from raysl up, as its entrypoint would run; exit with its code',
    )
    .argument('<jobid>', 'Slurm job id or local-<time>-<pid>')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl exec 1234 -- python3 job.py --epochs 1
  $ raysl exec 1234 -- bash -c 'echo $RAYSL_ADDRESS $RAY_ADDRESS; cat $RAYSL_NODES_FILE'
  $ raysl exec 1234 --json -- python3 job.py      # output as usual, then {"jobId":..., "exitCode":...}

The command runs on the head in this directory (when the head shares it; else the job's) with
the entrypoint's environment: RAYSL_ADDRESS, RAYSL_TOKEN, RAYSL_NODES, RAY_ADDRESS, ports.
Its output also lands in <job dir>/exec-<n>.log. Ctrl-C stops it on the cluster.`,
    )
    .action(async (id: string, argv: string[], opts: { jobDir?: string }, command: Command) => {
      const io = app.io;
      // a cluster still forming is waited for (as raysl up does by default), not refused
      const live = await liveJob(id, opts.jobDir, io, { waitForHold: true });
      if (!live.holds) {
        throw new UsageError(
          `job ${live.job.jobId} runs its own entrypoint: exec needs a cluster started by raysl up`,
          { hint: `raysl up -N ${live.plan.nodes}, then raysl exec <jobid> -- ${argv.join(' ')}` },
        );
      }
      const end = await streamExec(live, argv, io);
      // one line after the command's own output, so `tail -n1 | jq` finds it
      if (globalsOf(command).json)
        io.stdout.write(
          JSON.stringify({
            jobId: live.job.jobId,
            exitCode: end.code,
            signal: end.signal,
            log: end.log,
            ...(end.interrupted ? { interrupted: end.interrupted } : {}),
          }) + '\n',
        );
      app.setExitCode(end.code);
    });
};
