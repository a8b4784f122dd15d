/**
 * The ray runtime through raysl itself (controller -> agents -> `ray start`), against the stand-in
 * `ray` (test/standin/ray; Ray cannot be installed here) and its stand-in python module.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentPids, allGone, ensureBuilt, exitWithin, jobProcesses, root, runLocal, statusWhere, type Job } from './helpers.js';
import { portsOf } from '../../src/core/ports.js';
import type { Plan } from '../../src/core/types.js';
import { rmSync } from 'node:fs';

const rayEnv = {
  RAYSL_RAY_BIN: join(root, 'test', 'standin', 'ray'),
  PYTHONPATH: join(root, 'test', 'standin', 'python'),
  RAYSL_RAY_START_TIMEOUT_MS: '20000',
};
let scripts: string;

beforeAll(() => {
  ensureBuilt();
  scripts = mkdtempSync(join(tmpdir(), 'raysl-ray-run-'));
  // connects like train.py, says where, then waits for the teardown's SIGTERM (no sleep)
  writeFileSync(
    join(scripts, 'hold.py'),
    'import os, signal, ray\nray.init()\nprint("connected", os.environ["RAY_ADDRESS"], len([n for n in ray.nodes() if n["Alive"]]), flush=True)\nsignal.pause()\n',
  );
}, 120_000);
afterAll(() => rmSync(scripts, { recursive: true, force: true }));

function agentLog(job: Job, node: string): string {
  return readFileSync(join(job.jobDir(), `agent-${node}.log`), 'utf8');
}

/** The job's pinned ports, from plan.json (layout) and ports.json (the block the controller chose). */
function jobPorts(job: Job): Record<string, number> {
  const plan = JSON.parse(readFileSync(join(job.jobDir(), 'plan.json'), 'utf8')) as Plan;
  const rec = JSON.parse(readFileSync(join(job.jobDir(), 'ports.json'), 'utf8')) as { base: number };
  return portsOf(rec.base, plan.portLayout);
}

/** Ray's process groups as the agents logged them ("ray: process group <pgid>"). */
function rayGroups(job: Job): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of readdirSync(job.jobDir())) {
    const m = /^agent-(.+)\.log$/.exec(f);
    const g = m && /ray: process group (\d+)/.exec(readFileSync(join(job.jobDir(), f), 'utf8'));
    if (m?.[1] && g?.[1]) out[m[1]] = Number(g[1]);
  }
  return out;
}

/** Children of a pid, from /proc (the stand-in's "raylet" is a child of `ray start`). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('raysl run --local with the ray runtime (stand-in ray)', () => {
  it('forms a 3-node Ray cluster through the agents and runs train.py against the head; clean stop, nothing left', async () => {
    const job = runLocal(['-N', '3', '--gpus-per-node', '1', 'examples/train.py'], { env: rayEnv });
    const { code } = await exitWithin(job, 40_000);
    expect(code, job.stderr()).toBe(0);
    expect(job.stdout()).toMatch(/^nodes alive: 3$/m);
    expect(job.stdout()).toMatch(/cluster resources: CPU=12 GPU=3/);
    expect(job.stdout()).toMatch(/probes: 3 on 3 node\(s\)/);
    for (const ip of ['127.0.1.1', '127.0.1.2', '127.0.1.3']) expect(job.stdout()).toContain(`probe ran on ${ip} `);

    // every node's `ray start` used the job's pinned ports; workers were pointed at the head's GCS
    const p = jobPorts(job);
    expect(agentLog(job, 'node1')).toContain(`start --head --port=${p.gcs} --node-ip-address=127.0.1.1 `);
    for (const n of ['node2', 'node3']) {
      const log = agentLog(job, n);
      expect(log).toContain(`start --address=127.0.1.1:${p.gcs} `);
      expect(log).toContain(`--node-manager-port=${p.node_manager} `);
      expect(log).toMatch(/stopping: the job is ending/);
    }
    // workers stop before the head: the head's GCS saw every worker go before it stopped
    expect(agentLog(job, 'node1')).toMatch(/stand-in: head stopping with 0 worker node\(s\) still connected/);

    const s = job.status();
    expect(s).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(s.nodes.map((n) => n.state)).toEqual(['joined', 'joined', 'joined']);
    expect(s.timeline.map((e) => e.phase)).not.toContain('node-lost');
    expect(await allGone([...agentPids(s), ...Object.values(rayGroups(job))])).toEqual([]);
    expect(jobProcesses(s.jobId)).toEqual([]);
    // Ray's temp dirs (per job and node, outside /tmp/ray) are gone with the job
    const tempDirs = [...agentLog(job, 'node1').matchAll(/--temp-dir=(\S+)/g)].map((m) => m[1]!);
    expect(tempDirs).toHaveLength(1);
    expect(tempDirs[0]).not.toBe('/tmp/ray');
    expect(existsSync(tempDirs[0]!)).toBe(false);
  }, 60_000);

  it('a raylet that dies after joining is a lost node: exit 5 naming it, entrypoint stopped, nothing left', async () => {
    const job = runLocal(['-N', '3', join(scripts, 'hold.py')], { env: rayEnv });
    const [, address, alive] = await job.waitFor(/^connected (\S+) (\d+)$/m, 30_000);
    expect(address).toBe(`127.0.1.1:${jobPorts(job).gcs}`);
    expect(alive).toBe('3');
    const s = await statusWhere(job, (x) => x.state === 'running');
    const group = rayGroups(job)['node2']!;
    const raylets = childrenOf(group);
    expect(raylets).toHaveLength(1);
    process.kill(raylets[0]!, 'SIGKILL');
    const { code } = await exitWithin(job, 15_000);
    expect(code).toBe(5);
    expect(job.stderr()).toMatch(/node node2 was lost while the job was running: its runtime exited \(code 1/);
    expect(agentLog(job, 'node2')).toMatch(/raylet \[exit code=-9\]/);
    const end = job.status();
    expect(end).toMatchObject({ state: 'failed', exitCode: 5 });
    expect(end.nodes.find((n) => n.name === 'node2')?.state).toBe('lost');
    expect(end.nodes.filter((n) => n.state === 'lost')).toHaveLength(1);
    expect(await allGone([...agentPids(s), ...Object.values(rayGroups(job))])).toEqual([]);
    expect(jobProcesses(s.jobId)).toEqual([]);
  }, 60_000);

  it('--iface: the head binds the interface address it reports, and RAY_ADDRESS points there', async () => {
    const job = runLocal(['-N', '1', '--iface', 'lo', join(scripts, 'hold.py')], { env: rayEnv });
    const [, address] = await job.waitFor(/^connected (\S+) (\d+)$/m, 30_000);
    const p = jobPorts(job);
    expect(address).toBe(`127.0.0.1:${p.gcs}`);
    expect(agentLog(job, 'node1')).toContain(`start --head --port=${p.gcs} --node-ip-address=127.0.0.1 `);
    expect(agentLog(job, 'node1')).toMatch(/joined: runtime ray up on 127\.0\.0\.1,/);
    // the control server stays on the Slurm address (127.0.1.1); only the runtime moved
    expect(job.status().controller).toMatch(/^127\.0\.1\.1:/);
    job.child.kill('SIGTERM');
    const { code } = await exitWithin(job, 15_000);
    expect(code).toBe(143);
    expect(job.status().timeline.map((e) => e.phase)).not.toContain('node-lost');
  }, 60_000);
});
