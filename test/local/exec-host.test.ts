// The controller's POST /v1/exec (controller/exec.ts) behind the real control server: a real
// process per request, output and exit as NDJSON events, the token required, a closed request
// stops the command's process group, and a job with its own entrypoint answers 409 not-holding.
import { request } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/controller/agents.js';
import { ExecHost } from '../../src/controller/exec.js';
import { createControlServer, listen, type ControlServer } from '../../src/controller/server.js';
import { API_VERSION, parseExecEvent, type ExecEvent } from '../../src/protocol/api.js';
import { processAlive } from '../../src/proc/identity.js';
import { waitFor } from '../../src/proc/poll.js';
import { tempDir } from '../support/temp-dir.js';

const TOKEN = 'test-token';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(holds: boolean): Promise<{ port: number; ctl: ControlServer; host: ExecHost; dir: string }> {
  const dir = tempDir('raysl-exec-');
  const ctl = createControlServer({
    token: TOKEN,
    info: { protocol: API_VERSION, jobId: 'j1', runtime: 'builtin', head: 'node1' },
    agents: new AgentRegistry([], () => ({}) as never),
    holds,
  });
  await listen(ctl.server, '127.0.0.1', 0);
  const host = new ExecHost({
    env: { ...process.env, RAYSL_ADDRESS: 'here:1' },
    jobCwd: dir,
    jobDir: dir,
    head: 'node1',
    graceMs: 500,
    log: () => {},
  });
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => ctl.close(),
    () => host.close(0),
  );
  return { port: (ctl.server.address() as { port: number }).port, ctl, host, dir };
}

/** POSTs an exec; resolves with the status and the events (or the body) once the response ends. */
function post(
  port: number,
  body: unknown,
  opts: { token?: string; onEvent?: (e: ExecEvent, abort: () => void) => void } = {},
): Promise<{ status: number; events: ExecEvent[]; text: string }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/exec',
      headers: { authorization: `Bearer ${opts.token ?? TOKEN}`, 'content-length': Buffer.byteLength(text) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let buf = '';
      const events: ExecEvent[] = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        if (res.statusCode !== 200) return;
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const ev = parseExecEvent(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
          events.push(ev);
          opts.onEvent?.(ev, () => req.destroy());
        }
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, events, text: buf }));
    });
    req.end(text);
  });
}

describe('POST /v1/exec', () => {
  it('runs the command with the entrypoint environment in the caller cwd; output, then the exit code', async () => {
    const { port, ctl, host, dir } = await serve(true);
    ctl.serveExec(host);
    const r = await post(port, {
      argv: ['sh', '-c', 'echo "$RAYSL_ADDRESS $RAYSL_EXEC_ID $(pwd)"; echo oops >&2; exit 3'],
      cwd: dir,
    });
    expect(r.status).toBe(200);
    expect(r.events[0]).toMatchObject({ e: 'started', id: '1', node: 'node1', cwd: dir });
    const out = r.events.filter((e) => e.e === 'output');
    expect(
      out
        .filter((e) => e.stream === 'stdout')
        .map((e) => e.data)
        .join(''),
    ).toBe(`here:1 1 ${dir}\n`);
    expect(
      out
        .filter((e) => e.stream === 'stderr')
        .map((e) => e.data)
        .join(''),
    ).toBe('oops\n');
    expect(r.events.at(-1)).toEqual({ e: 'exit', code: 3, signal: null, log: join(dir, 'exec-1.log') });
    expect(readFileSync(join(dir, 'exec-1.log'), 'utf8')).toContain('oops');
  });

  it("a cwd the head cannot see runs in the job's cwd and says so; a command that cannot start is 127", async () => {
    const { port, ctl, host, dir } = await serve(true);
    ctl.serveExec(host);
    const r = await post(port, { argv: ['pwd'], cwd: '/nonexistent/raysl' });
    expect(r.events[0]).toMatchObject({
      e: 'started',
      cwd: dir,
      note: `/nonexistent/raysl is not a directory on node1: running in ${dir}`,
    });
    expect((await post(port, { argv: ['/nonexistent/raysl-cmd'] })).events.at(-1)).toMatchObject({
      e: 'exit',
      code: 127,
    });
  });

  it('closing the request stops the process group (TERM): the group is gone', async () => {
    const { port, ctl, host } = await serve(true);
    ctl.serveExec(host);
    let child = 0;
    await post(
      port,
      { argv: ['sh', '-c', 'sleep 300 & echo "$!"; wait'] },
      {
        onEvent: (e, abort) => {
          if (e.e === 'output') {
            child = Number(e.data.trim());
            abort();
          }
        },
      },
    );
    expect(child).toBeGreaterThan(0);
    expect(await waitFor(() => !processAlive(child), { timeoutMs: 10_000, intervalMs: 20 })).toBe(true);
  });

  it('401 without the token; 409 not-holding before the cluster holds and on a job with its own entrypoint; 400 on a bad body', async () => {
    const forming = await serve(true);
    expect((await post(forming.port, { argv: ['true'] }, { token: 'wrong' })).status).toBe(401);
    const early = await post(forming.port, { argv: ['true'] });
    expect(early.status).toBe(409);
    expect(JSON.parse(early.text)).toEqual({
      error: 'job j1 is not ready for exec yet: its cluster is still forming',
      kind: 'not-holding',
    });
    const job = await serve(false);
    expect(JSON.parse((await post(job.port, { argv: ['true'] })).text)).toEqual({
      error: 'job j1 runs its own entrypoint: exec needs a cluster started by raysl up',
      kind: 'not-holding',
    });
    forming.ctl.serveExec(forming.host);
    expect((await post(forming.port, { argv: [] })).status).toBe(400);
  });
});
