// The agent's phases driven in-process against a fake controller over a real socket, with the
// builtin runtime and real commands (no Ray, no Slurm).
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { runAgent } from '../../src/agent/agent.js';
import type { AgentFaults } from '../../src/agent/context.js';
import { AGENT_PROTOCOL as PROTOCOL_VERSION, type AgentMessage, type Welcome } from '../../src/protocol/agent.js';
import { InternalError } from '../../src/core/errors.js';
import { exitOf } from '../../src/proc/terminate.js';
import { groupMembers } from '../../src/proc/group.js';
import { fakeController, type FakeController } from '../support/fake-controller.js';
import { tempDir } from '../support/temp-dir.js';

const TOKEN = 'agent-loop-token';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(s));
  });
}

/** A port that is free right now (the kernel's pick, released at once). */
async function freePort(): Promise<number> {
  const s = await listenOn(0);
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** Log lines as they come; waitFor resolves on the first line matching, without polling. */
function logSink() {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  return {
    lines,
    log: (l: string) => {
      lines.push(l);
      for (const w of waiters.filter((w) => w.re.test(l))) w.resolve();
    },
    waitFor: (re: RegExp) =>
      lines.some((l) => re.test(l)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ re, resolve })),
  };
}

async function setup(opts: { cpus?: string; expectedCpus?: number; faults?: AgentFaults } = {}) {
  const ctl: FakeController = await fakeController(TOKEN);
  cleanup.push(() => ctl.close());
  const tmp = tempDir('raysl-agent-loop-');
  cleanup.push(() => rmSync(tmp, { recursive: true, force: true }));
  const signals = new EventEmitter();
  const logs = logSink();
  const code = runAgent({
    controller: ctl.address,
    node: 'node1',
    role: 'head',
    env: { PATH: process.env.PATH, RAYSL_TOKEN: TOKEN, RAYSL_JOB_ID: 'u1', SLURM_CPUS_ON_NODE: opts.cpus ?? '2' },
    log: logs.log,
    signals,
    graceMs: 500,
    cwd: tmp,
    ...(opts.faults ? { faults: opts.faults } : {}),
  });
  const scratchDir = join(tmp, 'raysl-u1', 'node1');
  const welcome = (portBase: number, probe: number[]): Welcome => ({
    t: 'welcome',
    v: PROTOCOL_VERSION,
    jobId: 'u1',
    runtime: 'builtin',
    address: '127.0.0.1',
    round: 0,
    portBase,
    layout: { size: 4, ports: { controller: 0, agent: 1 }, ranges: {} },
    expected: { cpus: opts.expectedCpus ?? 1, gpus: 0 },
    probe,
    scratchDir,
    env: { JOB_VAR: 'from-the-job' },
    rayAuth: 'off',
    tokenFile: join(tmp, 'token'),
    runtimeLogDir: tmp,
  });
  return { ctl, code, signals, logs, tmp, scratchDir, welcome };
}

async function expectMessage<T extends AgentMessage['t']>(
  ctl: FakeController,
  t: T,
): Promise<Extract<AgentMessage, { t: T }>> {
  const m = await ctl.next();
  expect(m.t).toBe(t);
  return m as Extract<AgentMessage, { t: T }>;
}

/** The builtin agent half's reports about one command until it exited: its stdout and the exit report. */
async function commandReports(
  ctl: FakeController,
  id: string,
): Promise<{ stdout: string; exited: Record<string, unknown> }> {
  let stdout = '';
  for (;;) {
    const m = await expectMessage(ctl, 'rt');
    const body = m.body as { k: string; id: string; stream?: string; data?: string };
    expect(body.id).toBe(id);
    if (body.k === 'output' && body.stream === 'stdout') stdout += body.data;
    if (body.k === 'exited') return { stdout, exited: body };
  }
}

/** hello -> welcome -> probed (clean) -> start -> ready. */
async function join1(s: Awaited<ReturnType<typeof setup>>) {
  const port = await freePort();
  const hello = await expectMessage(s.ctl, 'hello');
  expect(hello).toMatchObject({ node: 'node1', role: 'head', granted: { cpus: 2 } });
  s.ctl.send(s.welcome(port, [port]));
  expect(await expectMessage(s.ctl, 'probed')).toMatchObject({
    round: 0,
    portBase: port,
    taken: [],
    bindAddress: '127.0.0.1',
  });
  s.ctl.send({ t: 'start', round: 0, headAddress: '127.0.0.1' });
  return expectMessage(s.ctl, 'ready');
}

describe('agent loop against a fake controller', () => {
  it('joins, runs a command with the node env, and stops with 0 leaving no scratch dir', async () => {
    const s = await setup();
    const ready = await join1(s);
    expect(ready.node).toMatchObject({
      name: 'node1',
      role: 'head',
      address: '127.0.0.1',
      cpus: 1,
      gpus: 0,
      gpuIds: [],
    });
    expect(existsSync(s.scratchDir)).toBe(true);
    // a malformed runtime message is refused and logged; the agent keeps serving
    s.ctl.send({ t: 'rt', body: { k: 'launch-missiles' } });
    s.ctl.send({
      t: 'rt',
      body: { k: 'exec', id: 't7.1', argv: ['sh', '-c', 'echo "$RAYSL_NODE $JOB_VAR $(pwd)"'], env: {} },
    });
    const result = await commandReports(s.ctl, 't7.1');
    expect(result.stdout).toBe(`node1 from-the-job ${s.tmp}\n`);
    expect(result.exited).toMatchObject({ k: 'exited', exitCode: 0, signal: null });
    expect(s.logs.lines.some((l) => l.includes('runtime message refused: malformed builtin runtime message'))).toBe(
      true,
    );
    s.ctl.send({ t: 'stop', reason: 'the job finished' });
    expect(await s.code).toBe(0);
    // the outcome, then the teardown in reverse start order (the signal handlers' step is quiet)
    const stopping = s.logs.lines.indexOf('[node1] stopping: the job finished');
    expect(stopping).toBeGreaterThan(-1);
    expect(s.logs.lines.slice(stopping + 1)).toEqual([
      "[node1] teardown: the builtin runtime's agent half done",
      '[node1] teardown: the builtin runtime done',
      '[node1] teardown: the scratch directory done',
      '[node1] teardown: the channel to the controller done',
    ]);
    expect(existsSync(join(s.tmp, 'raysl-u1'))).toBe(false);
    expect(s.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('probes again when the controller moves the job, naming the holder of a taken port', async () => {
    const s = await setup();
    const held = await listenOn(0);
    cleanup.push(() => new Promise((r) => held.close(r)));
    const heldPort = (held.address() as { port: number }).port;
    await expectMessage(s.ctl, 'hello');
    s.ctl.send(s.welcome(heldPort, [heldPort]));
    const first = await expectMessage(s.ctl, 'probed');
    expect(first).toMatchObject({
      round: 0,
      portBase: heldPort,
      taken: [{ port: heldPort, reason: 'in-use', holder: { pid: process.pid } }],
    });
    const moved = await freePort();
    s.ctl.send({ t: 'probe', round: 1, portBase: moved, probe: [moved] });
    expect(await expectMessage(s.ctl, 'probed')).toMatchObject({ round: 1, portBase: moved, taken: [] });
    s.ctl.send({ t: 'start', round: 1, headAddress: '127.0.0.1' });
    await expectMessage(s.ctl, 'ready');
    expect(s.logs.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`ports ${heldPort}-${heldPort + 3}: port ${heldPort} is taken by pid ${process.pid}`),
      ),
    );
    expect(s.logs.lines).toContainEqual(`[node1] joined: runtime builtin up on 127.0.0.1, ports ${moved}-${moved + 3}`);
    s.ctl.send({ t: 'stop', reason: 'done' });
    expect(await s.code).toBe(0);
  });

  it('a refusal ends the agent at once', async () => {
    const s = await setup();
    await expectMessage(s.ctl, 'hello');
    s.ctl.send({ t: 'refuse', reason: 'node node1 is not part of this job (node2)' });
    expect(await s.code).toBe(0);
    expect(s.logs.lines).toContain('[node1] refused by the controller: node node1 is not part of this job (node2)');
  });

  it('a grant smaller than the plan: fail with the reason and a hint, exit 1, no probe', async () => {
    const s = await setup({ cpus: '1', expectedCpus: 4 });
    await expectMessage(s.ctl, 'hello');
    const port = await freePort();
    s.ctl.send(s.welcome(port, [port]));
    const fail = await expectMessage(s.ctl, 'fail');
    expect(fail.reason).toMatch(/node1: the plan needs 4 CPU\(s\) per node but Slurm granted 1/);
    expect(fail.hint).toMatch(/--cpus-per-task/);
    expect(await s.code).toBe(1);
    await s.ctl.agentGone();
    await expect(s.ctl.next(0)).rejects.toThrow(/got so far: hello, fail$/);
  });

  it('the controller gone: stops its commands and the orphaned entrypoint, exits 1', async () => {
    const s = await setup();
    await join1(s);
    // the entrypoint as the controller starts it: its own process group, in this job's env
    const entrypoint = spawn('sleep', ['60'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, RAYSL_JOB_ID: 'u1' },
    });
    cleanup.push(() => entrypoint.pid !== undefined && entrypoint.exitCode === null && entrypoint.kill('SIGKILL'));
    s.ctl.send({ t: 'entrypoint', pgid: entrypoint.pid! });
    await s.logs.waitFor(/the entrypoint runs as process group/);
    // a running command: it names its pid through a fifo once it runs (no polling)
    const fifo = join(s.tmp, 'pid.fifo');
    execFileSync('mkfifo', [fifo]);
    s.ctl.send({
      t: 'rt',
      body: { k: 'exec', id: 't1.1', argv: ['sh', '-c', `echo $$ > ${fifo}; exec sleep 60`], env: {} },
    });
    const commandPid = Number((await readFile(fifo, 'utf8')).trim());
    s.ctl.drop();
    expect(await s.code).toBe(1);
    expect(s.logs.lines).toContain('[node1] the controller went away: stopping everything this agent started');
    expect(await exitOf(entrypoint)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(() => process.kill(commandPid, 0)).toThrow(/ESRCH/);
  });

  it('a stop leaves the entrypoint to its controller', async () => {
    const s = await setup();
    await join1(s);
    const entrypoint = spawn('sleep', ['60'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, RAYSL_JOB_ID: 'u1' },
    });
    cleanup.push(() => entrypoint.kill('SIGKILL'));
    s.ctl.send({ t: 'entrypoint', pgid: entrypoint.pid! });
    await s.logs.waitFor(/the entrypoint runs as process group/);
    s.ctl.send({ t: 'stop', reason: 'the entrypoint exited' });
    expect(await s.code).toBe(0);
    // alive, not a zombie waiting to be reaped
    expect(groupMembers(entrypoint.pid!)).toEqual([entrypoint.pid]);
  });

  it('a signal while waiting for the start stops with 0 and removes its handlers', async () => {
    const s = await setup();
    await expectMessage(s.ctl, 'hello');
    const port = await freePort();
    s.ctl.send(s.welcome(port, [port]));
    await expectMessage(s.ctl, 'probed');
    s.signals.emit('SIGTERM');
    expect(await s.code).toBe(0);
    const stopping = s.logs.lines.indexOf('[node1] stopping: received SIGTERM');
    expect(stopping).toBeGreaterThan(-1);
    expect(s.logs.lines.slice(stopping + 1).every((l) => /^\[node1\] teardown: .* done$/.test(l))).toBe(true);
    expect(
      s.signals.listenerCount('SIGTERM') + s.signals.listenerCount('SIGINT') + s.signals.listenerCount('SIGUSR1'),
    ).toBe(0);
  });

  it('the silent fault: welcomed, never probes, still stops when told', async () => {
    const s = await setup({ faults: { silent: true } });
    await expectMessage(s.ctl, 'hello');
    const port = await freePort();
    s.ctl.send(s.welcome(port, [port]));
    await s.logs.waitFor(/injected fault silent/);
    s.ctl.send({ t: 'stop', reason: 'the probe phase gave up on node1' });
    expect(await s.code).toBe(0);
    await s.ctl.agentGone();
    await expect(s.ctl.next(0)).rejects.toThrow(/got so far: hello$/);
  });

  it('the neverJoin fault: probes, then never starts its runtime', async () => {
    const s = await setup({ faults: { neverJoin: true } });
    await expectMessage(s.ctl, 'hello');
    const port = await freePort();
    s.ctl.send(s.welcome(port, [port]));
    await expectMessage(s.ctl, 'probed');
    s.ctl.send({ t: 'start', round: 0, headAddress: '127.0.0.1' });
    await s.logs.waitFor(/injected fault neverJoin/);
    s.ctl.drop();
    expect(await s.code).toBe(1);
    await s.ctl.agentGone();
    await expect(s.ctl.next(0)).rejects.toThrow(/got so far: hello, probed$/);
    expect(existsSync(s.scratchDir)).toBe(false);
  });

  it('anything but welcome first is a protocol error with a hint', async () => {
    const s = await setup();
    await expectMessage(s.ctl, 'hello');
    s.ctl.send({ t: 'start', round: 0, headAddress: '127.0.0.1' });
    const err = await s.code.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalError);
    expect((err as InternalError).message).toMatch(/expected welcome first, got start/);
    expect((err as InternalError).hint).toMatch(/same raysl version/);
    await s.ctl.agentGone();
  });
});
