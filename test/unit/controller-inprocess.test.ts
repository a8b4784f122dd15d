import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runController } from '../../src/controller/controller.js';
import { ClusterFormError } from '../../src/core/errors.js';
import type { Launcher } from '../../src/controller/launcher.js';
import type { Plan } from '../../src/core/types.js';
import type { JobStatus } from '../../src/core/status.js';
import { KvStore } from '../../src/runtimes/builtin/kv.js';
import { textSink } from '../support/mem-io.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function plan(jobDir: string, joinTimeoutSec: number): Plan {
  return {
    version: 1,
    raysl: 'test',
    runtime: 'builtin',
    runtimeReason: 'test',
    entrypoint: { path: '/bin/true', args: [], interpreter: [], kind: 'exec' },
    nodes: 2,
    minNodes: 2,
    perNode: { cpus: 1, gpus: 0 },
    aggregate: { cpus: 2, gpus: 0 },
    portLayout: { size: 64, ports: { controller: 0, agent: 1 }, ranges: {} },
    portRange: { min: 20000, max: 32767 },
    joinTimeoutSec,
    jobDir,
    env: {},
    setup: [],
    continueOnNodeLoss: false,
    rayAuth: 'token',
    sbatch: [],
    sbatchExtra: [],
    jobName: 't',
    checkedAgainst: 'local',
    warnings: [],
  };
}

/** A launcher whose agents never start: the controller must still give up at the deadline. */
function silentLauncher(): Launcher & { stopped: boolean } {
  const l = {
    name: 'local' as const,
    stopped: false,
    resolveAddresses: async (nodes: string[]) => Object.fromEntries(nodes.map((n, i) => [n, `127.0.1.${i + 1}`])),
    sharedPortSpace: true,
    takenBlocks: async () => [],
    recordBlock: async () => {},
    releaseBlock: async () => {},
    launch: async () => ({
      onExit: () => {},
      allExited: Promise.resolve(),
      stop: async () => void (l.stopped = true),
      pids: () => [],
    }),
  };
  return l;
}

describe('controller in-process (injected edges)', () => {
  it('gives up at the join deadline with exit 4 naming each missing node and its log', async () => {
    const jobDir = tempDir('raysl-unit-');
    dirs.push(jobDir);
    const stderr = textSink();
    const signals = new EventEmitter();
    const launcher = silentLauncher();
    // no agent ever speaks, so only the join deadline can end this (the test's own timeout guards a hang)
    const err = await runController(plan(jobDir, 0.3), {
      env: { SLURM_JOB_ID: 'u1', SLURM_JOB_NODELIST: 'node[1-2]' },
      stdout: textSink(),
      stderr,
      now: Date.now,
      cwd: jobDir,
      launcher,
      agentArgv: ['true'],
      signals,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterFormError);
    expect((err as ClusterFormError).exitCode).toBe(4);
    expect((err as Error).message).toMatch(
      /^the cluster did not form: join timeout of 0\.3s passed; 0\/2 nodes joined; missing: node1 \(its agent never registered.*agent-node1\.log\), node2/,
    );
    const status = JSON.parse(readFileSync(join(jobDir, 'u1', 'status.json'), 'utf8')) as JobStatus;
    expect(status).toMatchObject({ state: 'failed', exitCode: 4 });
    // launched, then the deadline's error, then teardown: nothing joined, nothing started in between
    expect(status.timeline.map((e) => e.phase)).toEqual(['allocated', 'agents-launched', 'error', 'torn-down']);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('a signal while forming cancels at once with 128 + signal', async () => {
    const jobDir = tempDir('raysl-unit-');
    dirs.push(jobDir);
    const signals = new EventEmitter();
    const stderr = textSink();
    const done = runController(plan(jobDir, 60), {
      env: { SLURM_JOB_ID: 'u2', SLURM_JOB_NODELIST: 'node[1-2]' },
      stdout: textSink(),
      stderr,
      now: Date.now,
      cwd: jobDir,
      launcher: silentLauncher(),
      agentArgv: ['true'],
      signals,
      onListening: () => setImmediate(() => signals.emit('SIGTERM')),
    });
    await expect(done).resolves.toBe(143);
    expect(stderr.text()).toMatch(/received SIGTERM: tearing down/);
    expect(JSON.parse(readFileSync(join(jobDir, 'u2', 'status.json'), 'utf8')).state).toBe('cancelled');
  });
});

describe('builtin KV store', () => {
  it('wakes a waiting get on put, and times out to undefined', async () => {
    const kv = new KvStore();
    const waiting = kv.get('k', 5000);
    kv.put('k', 'v');
    await expect(waiting).resolves.toBe('v');
    await expect(kv.get('absent', 20)).resolves.toBeUndefined();
    await expect(kv.get('k')).resolves.toBe('v');
  });
});
