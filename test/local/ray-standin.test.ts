/**
 * What the installed Ray (2.60) cannot show: how the ray adapter treats OLDER Ray versions. These
 * run against the stand-in `ray` (test/standin/ray), which answers `ray --version` with the version
 * it is told (RAYSL_STANDIN_RAY_VERSION), rejects the flags that version lacks as click does, and
 * binds the ports it is given. Everything else about Ray is tested against the real one
 * (test/local/ray-run.test.ts, test/slurm/ray*.test.ts).
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portLayout } from '../../src/core/ports.js';
import { createRayRuntime } from '../../src/runtimes/ray/runtime.js';
import type { RuntimeNodeContext } from '../../src/runtimes/types.js';
import { tempDir } from '../support/temp-dir.js';

const STANDIN = fileURLToPath(new URL('../standin/ray', import.meta.url));
const layout = portLayout('ray', 2);
// Blocks for this run (stride = block size), kept below the ephemeral range.
const BASE = 30000 + layout.size * (process.pid % 40);
const GiB = 2 ** 30;
const runtime = createRayRuntime({ shmAvailBytes: () => 4 * GiB });

let root: string;
const logs: Record<string, string[]> = {};

beforeAll(() => {
  root = tempDir('raysl-standin-');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function ctx(i: number, role: 'head' | 'worker', version: string, base: number): RuntimeNodeContext {
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
    runtimeLogDir: join(root, 'runtime-logs', nodeName),
    layout,
    resources: { cpus: 2, gpus: 0, memoryMb: 2048 },
    scratchDir: join(root, nodeName),
    env: { RAYSL_RAY_BIN: STANDIN, RAYSL_RAY_START_TIMEOUT_MS: '20000', RAYSL_STANDIN_RAY_VERSION: version },
    log: (l) => logs[nodeName]?.push(l),
  };
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The `ray start` line the adapter logged for a node. */
function startLine(node: string): string {
  return logs[node]?.find((l) => /^ray \d+\.\d+\.\d+: /.test(l)) ?? '';
}

describe('older Ray versions (stand-in ray)', () => {
  it('the stand-in refuses a flag its version lacks, as click does (exit 2)', async () => {
    const r = await run(STANDIN, ['start', '--head', '--dashboard-grpc-port=1'], {
      RAYSL_STANDIN_RAY_VERSION: '2.55.0',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error: No such option: --dashboard-grpc-port');
  });

  it('a Ray older than 2.9 is refused at start with one clear line and a hint, before anything runs', async () => {
    const start = runtime.start(ctx(9, 'head', '2.8.1', BASE + 4 * layout.size));
    await expect(start).rejects.toThrow(/^Ray 2\.8\.1 is too old: raysl needs Ray >= 2\.9\.0 to pin every port$/);
    await expect(start).rejects.toMatchObject({ exitCode: 4, hint: expect.stringMatching(/install a newer Ray/) });
    expect(startLine('node9')).toBe('');
  });

  it('Ray 2.44 gets the version-gated --dashboard-grpc-port, starts, and is said to have no token authentication', async () => {
    const head = await runtime.start(ctx(5, 'head', '2.44.0', BASE));
    await head.ready;
    expect(startLine('node5')).toMatch(/^ray 2\.44\.0: .* --dashboard-grpc-port=\d+ /);
    expect(head.notes).toEqual([
      expect.stringMatching(/^Ray 2\.44\.0 has no token authentication \(it came in 2\.52\.0\)/),
    ]);
    await head.stop(2000);
    expect((await head.exited).expected).toBe(true);
  });

  it('a Ray 2.50 worker gets no --temp-dir (it would ignore it); a 2.51 worker gets one', async () => {
    const base = BASE + 2 * layout.size;
    const head = await runtime.start(ctx(6, 'head', '2.50.0', base));
    await head.ready;
    const old = await runtime.start({ ...ctx(7, 'worker', '2.50.0', base), headAddress: '127.0.1.6' });
    const recent = await runtime.start({ ...ctx(8, 'worker', '2.51.0', base), headAddress: '127.0.1.6' });
    await Promise.all([old.ready, recent.ready]);
    expect(startLine('node7')).not.toContain('--temp-dir=');
    expect(startLine('node8')).toMatch(/ --temp-dir=\S+/);
    expect(startLine('node6')).toMatch(/ --temp-dir=\S+/);
    await Promise.all([old.stop(2000), recent.stop(2000)]);
    await head.stop(2000);
  });
});
