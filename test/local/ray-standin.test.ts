/**
 * The ray adapter for real, against the stand-in `ray` (test/standin/ray: Ray cannot be installed
 * here). Head + 2 workers on 127.0.1.1-3, each with its own scratch dir, one job port block.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portLayout } from '../../src/core/ports.js';
import { createRayRuntime } from '../../src/runtimes/ray.js';
import { resolveRayPorts } from '../../src/runtimes/ray-ports.js';
import { groupMembers } from '../../src/runtimes/ray-process.js';
import type { RuntimeNodeContext, RuntimeProcess } from '../../src/runtimes/types.js';

const STANDIN = fileURLToPath(new URL('../standin/ray', import.meta.url));
const PYTHONPATH = fileURLToPath(new URL('../standin/python', import.meta.url));
const TRAIN = fileURLToPath(new URL('../../examples/train.py', import.meta.url));
const layout = portLayout('ray', 2);
// Blocks for this run (stride = block size), kept below the ephemeral range.
const STRIDE = layout.size;
const BASE = 30000 + STRIDE * (process.pid % 40);
const spare = (k: number): number => BASE + STRIDE * (40 + k);
const GiB = 2 ** 30;
const runtime = createRayRuntime({ shmAvailBytes: () => 4 * GiB });

let root: string;
const logs: Record<string, string[]> = {};

function ctx(i: number, role: 'head' | 'worker', extraEnv: NodeJS.ProcessEnv = {}, base = BASE): RuntimeNodeContext {
  const nodeName = `node${i}`;
  logs[nodeName] = [];
  return {
    jobId: 'j1',
    role,
    nodeName,
    address: `127.0.1.${i}`,
    headAddress: '127.0.1.1',
    portBase: base,
    headPortBase: base,
    rayAuth: 'token',
    tokenFile: join(root, 'token'),
    layout,
    resources: { cpus: 2, gpus: role === 'head' ? 0 : 1, memoryMb: 2048 },
    scratchDir: join(root, nodeName),
    env: { RAYSL_RAY_BIN: STANDIN, RAYSL_RAY_START_TIMEOUT_MS: '20000', ...extraEnv },
    log: (l) => logs[nodeName]?.push(l),
  };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Process group ids the adapter logged ("ray: process group <pgid>"). */
function loggedGroups(): number[] {
  return Object.values(logs).flat().flatMap((l) => {
    const m = /^ray: process group (\d+)$/.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'raysl-ray-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ray adapter with the stand-in ray', () => {
  const procs: RuntimeProcess[] = [];
  const { ports, workerPorts } = resolveRayPorts(BASE, layout);
  let startMs = 0;

  it('brings up a head and two workers: ready resolves', async () => {
    const t0 = Date.now();
    const head = await runtime.start(ctx(1, 'head'));
    procs.push(head);
    await head.ready;
    const workers = await Promise.all([runtime.start(ctx(2, 'worker')), runtime.start(ctx(3, 'worker'))]);
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.ready));
    startMs = Date.now() - t0;
    expect(startMs).toBeGreaterThan(0);
    console.log(`stand-in cluster (head + 2 workers) ready in ${startMs} ms`);
    expect(logs['node1']?.some((l) => l.includes('Ray runtime started.'))).toBe(true);
  });

  it('really binds every pinned port on each node address', async () => {
    const headPorts = [ports.gcs, ports.node_manager, ports.object_manager, ports.ray_client_server, ports.dashboard,
      ports.dashboard_agent_grpc, ports.dashboard_agent_listen, ports.metrics_export, ports.runtime_env_agent, workerPorts[0]];
    for (const p of headPorts) expect(await accepts('127.0.1.1', p), `head port ${p}`).toBe(true);
    const workerOnly = [ports.node_manager, ports.object_manager, ports.dashboard_agent_grpc, ports.dashboard_agent_listen,
      ports.metrics_export, ports.runtime_env_agent, workerPorts[0]];
    for (const p of workerOnly) expect(await accepts('127.0.1.2', p), `worker port ${p}`).toBe(true);
    // The dashboard is on the head's address only: nothing answers on the loopback default.
    expect(await accepts('127.0.0.1', ports.dashboard)).toBe(false);
  });

  it('the workers joined this job\'s head, and train.py runs against it', async () => {
    const env: Record<string, string> = { PYTHONPATH, ...runtime.entrypointEnv({ address: '127.0.1.1', portBase: BASE, layout, rayAuth: 'token', tokenFile: '/nonexistent' }) };
    expect(env.RAY_ADDRESS).toBe(`127.0.1.1:${ports.gcs}`);
    const r = await run('python3', [TRAIN], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nodes alive: 3');
    expect(r.stdout).toContain('cluster resources: CPU=6 GPU=2');
    expect(r.stdout).toContain('probes: 2 on 2 node(s)');
    expect(r.stdout).toMatch(/probe ran on 127\.0\.1\.2 .* gpus=\[0\]/);
  });

  it('stop() leaves no process of the group behind and is not reported as a crash', async () => {
    const exits = procs.map((p) => p.exited);
    for (const p of [...procs].reverse()) await p.stop(5000);
    const results = await Promise.all(exits);
    for (const r of results) expect(r.expected).toBe(true);
    const groups = loggedGroups();
    expect(groups).toHaveLength(3);
    for (const pgid of groups) expect(groupMembers(pgid)).toEqual([]);
    expect(await accepts('127.0.1.1', ports.gcs)).toBe(false);
    expect(await accepts('127.0.1.2', workerPorts[0])).toBe(false);
  });
});

describe('ray adapter failure reporting', () => {
  it('a raylet crash is reported as a crash (expected: false)', async () => {
    const base = spare(0);
    const head = await runtime.start(ctx(4, 'head', { RAYSL_STANDIN_CRASH_AFTER_MS: '300' }, base));
    await head.ready;
    const r = await head.exited;
    expect(r).toEqual({ code: 1, signal: null, expected: false });
    expect(logs['node4']?.some((l) => l.includes('raylet [exit code=-9]'))).toBe(true);
    await head.stop(1000);
  });

  it('the stand-in refuses a flag its version lacks, as click does (exit 2)', async () => {
    const r = await run(STANDIN, ['start', '--head', '--dashboard-grpc-port=1'], { RAYSL_STANDIN_RAY_VERSION: '2.55.0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error: No such option: --dashboard-grpc-port');
  });

  it('an old Ray (2.44) gets the version-gated --dashboard-grpc-port and starts', async () => {
    const c = ctx(5, 'head', { RAYSL_STANDIN_RAY_VERSION: '2.44.0' }, spare(1));
    const head = await runtime.start(c);
    await head.ready;
    expect(logs['node5']?.some((l) => l.startsWith('ray 2.44.0:') && l.includes('--dashboard-grpc-port='))).toBe(true);
    await head.stop(2000);
    expect((await head.exited).expected).toBe(true);
  });

  it('a taken port fails ready with a ClusterFormError naming the port, not a hang', async () => {
    const base = spare(2);
    const first = await runtime.start(ctx(6, 'head', {}, base));
    await first.ready;
    const second = await runtime.start({ ...ctx(7, 'head', {}, base), address: '127.0.1.6', headAddress: '127.0.1.6' });
    await expect(second.ready).rejects.toThrow(/exited \(code 1\) before the node was up/);
    expect(logs['node7']?.some((l) => /Failed to bind gcs_server to address 127\.0\.1\.6:\d+: EADDRINUSE/.test(l))).toBe(true);
    await first.stop(2000);
    await second.stop(1000);
  });
});
