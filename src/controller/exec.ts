/**
 * `raysl exec` on a held cluster (`raysl up`): POST /v1/exec runs a command on the head exactly as
 * the job's entrypoint would run (startEntrypoint: same environment, own process group), streams
 * its output as NDJSON while it writes it, and ends with its exit. Several may run at once. A
 * caller that closes the stream (Ctrl-C on `raysl exec`) stops the command's group (TERM, grace,
 * KILL); teardown stops every one still running.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseExecRequest, type ExecEvent, type ExecRequest } from '../protocol/api.js';
import { HttpError, openEventStream, readJson } from '../protocol/http.js';
import { signalNumber } from './classify.js';
import { exitCodeOf, startEntrypoint, type RunningEntrypoint } from './entrypoint.js';

export interface ExecHostDeps {
  /** The entrypoint's environment (run.ts entrypointEnv). */
  env: NodeJS.ProcessEnv;
  /** Where a command runs when the caller's cwd is not on the head (the controller's cwd). */
  jobCwd: string;
  jobDir: string;
  head: string;
  graceMs: number;
  log: (line: string) => void;
  /** Called with each started command's pid (the head's agent guards its group) and at each end. */
  onStart?: (n: number, pid: number | undefined, argv: string[]) => void;
  onExit?: (n: number, code: number) => void;
  /** The command as it runs on the head: inside the job's container when it has one (as the entrypoint would). */
  wrap?: (argv: string[], cwd: string) => string[];
}

export class ExecHost {
  private count = 0;
  private readonly running = new Set<RunningEntrypoint>();
  /** Commands started with ExecRequest.stdin whose stdin stream has not come yet, by exec id. */
  private readonly byId = new Map<number, RunningEntrypoint>();
  private closing = false;

  constructor(private readonly deps: ExecHostDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const stdinOf = /^\/v1\/exec\/(\d+)\/stdin$/.exec(url.pathname);
    if (stdinOf && req.method === 'POST') return this.feedStdin(Number(stdinOf[1]), req, res);
    if (url.pathname !== '/v1/exec' || req.method !== 'POST') return false;
    let body: ExecRequest;
    try {
      body = parseExecRequest(await readJson(req));
    } catch (err) {
      throw err instanceof HttpError ? err : new HttpError(400, (err as Error).message, 'bad-request');
    }
    if (this.closing) throw new HttpError(503, 'the cluster is shutting down', 'shutting-down');
    this.start(body, res);
    return true;
  }

  private start(body: ExecRequest, res: ServerResponse): void {
    const n = ++this.count;
    const { cwd, note } = this.cwdFor(body.cwd);
    const logPath = join(this.deps.jobDir, `exec-${n}.log`);
    const stream = openEventStream<ExecEvent>(res);
    const sink = (name: 'stdout' | 'stderr') =>
      new Writable({
        write(chunk: Buffer, _enc, done) {
          stream.send({ e: 'output', stream: name, data: chunk.toString('utf8') });
          done();
        },
      });
    const argv = this.deps.wrap?.(body.argv, cwd) ?? body.argv;
    const entry = startEntrypoint({
      argv,
      env: { ...this.deps.env, RAYSL_EXEC_ID: String(n) },
      cwd,
      logPath,
      stdout: sink('stdout'),
      stderr: sink('stderr'),
      what: 'command',
      stdin: body.stdin === true,
    });
    this.running.add(entry);
    if (body.stdin === true) this.byId.set(n, entry);
    this.deps.log(
      entry.pid !== undefined
        ? `exec ${n} started (pid ${entry.pid}, cwd ${cwd}): ${body.argv.join(' ')}`
        : `exec ${n} could not be started: ${body.argv.join(' ')}`,
    );
    this.deps.onStart?.(n, entry.pid, body.argv);
    stream.send({
      e: 'started',
      id: String(n),
      pid: entry.pid ?? -1,
      node: this.deps.head,
      cwd,
      ...(note ? { note } : {}),
    });
    stream.onAbort(() => {
      this.deps.log(`exec ${n}: the caller went away; stopping its process group`);
      void entry.stop(this.deps.graceMs);
    });
    void entry.exited.then((info) => {
      this.running.delete(entry);
      this.byId.delete(n);
      const code = exitCodeOf(info, signalNumber);
      this.deps.log(`exec ${n} exited (${info.signal ? `killed by ${info.signal}` : `code ${info.code}`})`);
      this.deps.onExit?.(n, code);
      const stopped = this.closing
        ? { stopped: `the cluster is shutting down (raysl down, a signal or its time limit): the command was stopped` }
        : {};
      stream.end({ e: 'exit', code, signal: info.signal, log: logPath, ...stopped });
    });
  }

  /**
   * The caller's stdin, streamed: piped into the command's stdin as it arrives (a command reading
   * it interactively sees each chunk at once, not the whole input at the end); the body's end
   * closes it. A command that exits or closes its stdin first: the rest is read and dropped.
   */
  private feedStdin(n: number, req: IncomingMessage, res: ServerResponse): boolean {
    const entry = this.byId.get(n);
    const stdin = entry?.child.stdin;
    if (!entry || !stdin) throw new HttpError(404, `no running exec ${n} that takes stdin`, 'not-found');
    this.byId.delete(n); // one stream per command
    const finish = () => {
      if (!res.headersSent) res.writeHead(204).end();
    };
    req.pipe(stdin);
    stdin.once('error', () => {
      req.unpipe(stdin);
      req.resume();
    });
    req.once('end', finish);
    req.once('close', () => {
      // the caller went away mid-stream: the command sees its stdin end
      if (!stdin.writableEnded) stdin.end();
      finish();
    });
    return true;
  }

  /** The caller's cwd when the head sees it as a directory (a shared filesystem), else the job's. */
  private cwdFor(asked: string | undefined): { cwd: string; note?: string } {
    if (asked === undefined) return { cwd: this.deps.jobCwd };
    if (existsSync(asked) && statSync(asked).isDirectory()) return { cwd: asked };
    return {
      cwd: this.deps.jobCwd,
      note: `${asked} is not a directory on ${this.deps.head}: running in ${this.deps.jobCwd}`,
    };
  }

  /** Refuses new commands and stops the running ones (TERM, grace, KILL), each stream ending with its exit. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    await Promise.all([...this.running].map((e) => e.stop(graceMs)));
  }
}
