/**
 * The ray runtime through raysl itself (controller -> agents -> `ray start`), against the real Ray
 * 2.60 of the project's venv (test/setup/ray-global.ts), the way a user runs it: RAYSL_RAY_BIN names
 * that ray and its bin directory is first on PATH (an activated venv), so `python3` imports ray.
 * Simulated nodes share this machine's port space and Ray binds 0.0.0.0, so each node gets its own
 * slice of the job's block.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  agentPids,
  allGone,
  ensureBuilt,
  exitWithin,
  jobProcesses,
  root,
  runLocal,
  statusWhere,
  type Job,
} from './helpers.js';
import { portLayout } from '../../src/core/ports.js';
import { groupMembers } from '../../src/proc/group.js';
import type { Plan } from '../../src/core/types.js';
import { tempDir } from '../support/temp-dir.js';

const rayEnv = (): NodeJS.ProcessEnv => ({
  RAYSL_RAY_BIN: inject('rayBin'),
  PATH: `${inject('rayVenvBin')}:${process.env.PATH ?? ''}`,
});
let scripts: string;

beforeAll(() => {
  ensureBuilt();
  scripts = tempDir('raysl-ray-run-');
  // connects like train.py, says where, then waits for the teardown's SIGTERM (no sleep)
  writeFileSync(
    join(scripts, 'hold.py'),
    'import os, signal, ray\nray.init()\nprint("connected", os.environ["RAY_ADDRESS"], len([n for n in ray.nodes() if n["Alive"]]), flush=True)\nsignal.pause()\n',
  );
  // what a user's entrypoint can do with Ray's control plane, with and without the job's token
  writeFileSync(
    join(scripts, 'auth_probe.py'),
    `import os, re, subprocess, urllib.request, urllib.error
base = os.environ["RAY_API_SERVER_ADDRESS"]
token_path = os.environ.get("RAY_AUTH_TOKEN_PATH")
token = open(token_path).read().strip() if token_path else ""
def get(path, auth):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + auth} if auth else {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
print("auth-mode", os.environ.get("RAY_AUTH_MODE"), flush=True)
print("version no-token", get("/api/version", None), flush=True)
print("version wrong-token", get("/api/version", "x" * 43), flush=True)
print("version token", get("/api/version", token), flush=True)
print("jobs no-token", get("/api/jobs/", None), flush=True)
r = subprocess.run(["ray", "job", "submit", "--", "python3", "-c", "import os, ray; ray.init(); print('job-ok', int(ray.cluster_resources()['CPU']), 'raysl-token-seen', 'RAYSL_TOKEN' in os.environ)"], capture_output=True, text=True, timeout=120)
print("submit exit", r.returncode, flush=True)
m = re.search(r"job-ok \\d+ raysl-token-seen \\w+", r.stdout)
print("submit says", m.group(0) if m else (r.stdout + r.stderr)[-3000:], flush=True)
cmdlines = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmdlines.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
    except OSError:
        pass
print("token in a cmdline", bool(token) and any(token in c for c in cmdlines), flush=True)
`,
  );
}, 120_000);
afterAll(() => rmSync(scripts, { recursive: true, force: true }));

function agentLog(job: Job, node: string): string {
  return readFileSync(join(job.jobDir(), `agent-${node}.log`), 'utf8');
}

function plan(job: Job): Plan {
  return JSON.parse(readFileSync(join(job.jobDir(), 'plan.json'), 'utf8')) as Plan;
}

function block(job: Job): { base: number; size: number } {
  return JSON.parse(readFileSync(join(job.jobDir(), 'ports.json'), 'utf8')) as { base: number; size: number };
}

/** `--flag=value` of the `ray start` line an agent logged. */
function startFlag(job: Job, node: string, flag: string): string {
  const line = /ray \d+\.\d+\.\d+: \S+ (start .*)$/m.exec(agentLog(job, node))?.[1] ?? '';
  const m = new RegExp(`--${flag}=(\\S+)`).exec(line);
  if (!m?.[1]) throw new Error(`no --${flag} in ${node}'s ray start line: ${line}`);
  return m[1];
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

/** Processes whose command line names one of these paths (Ray's daemons carry their temp dir). */
function processesMentioning(paths: string[]): number[] {
  const found: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (paths.some((p) => cmd.includes(p))) found.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

async function expectNothingLeft(job: Job, tempDirs: string[]): Promise<void> {
  const s = job.status();
  expect(await allGone([...agentPids(s), ...Object.values(rayGroups(job))])).toEqual([]);
  expect(jobProcesses(s.jobId)).toEqual([]);
  expect(processesMentioning(tempDirs)).toEqual([]);
  for (const d of tempDirs) expect(existsSync(d), d).toBe(false);
}

describe('raysl run --local with the real Ray', () => {
  it('runs train.py on 4 simulated nodes, each with its own slice of the block; every check passes and nothing is left', async () => {
    const job = runLocal(['-N', '4', '--gpus-per-node', '1', 'examples/train.py'], { env: rayEnv() });
    const { code } = await exitWithin(job, 150_000);
    expect(code, job.stderr() + job.stdout()).toBe(0);
    expect(job.stdout()).toMatch(/^nodes alive: 4$/m);
    expect(job.stdout()).toMatch(/^cluster resources: CPU=16 GPU=4$/m);
    expect(job.stdout()).toMatch(/^ok {3}GPU tasks spread over 4 of 4 GPU nodes$/m);
    expect(job.stdout()).toMatch(/^ok {3}STRICT_SPREAD placement group: 4 bundles on 4 distinct nodes$/m);
    expect(job.stdout()).toMatch(/^ok {3}8 tasks of num_gpus=0\.5 ran at once, two per device on 4 devices$/m);
    expect(job.stdout()).toMatch(/^checks: all passed$/m);

    // node i binds its own slice [base + i*size, base + (i+1)*size); workers dial the head's GCS
    const size = plan(job).portLayout.size;
    expect(size).toBe(portLayout('ray', 4).size);
    const b = block(job);
    expect(b.size).toBe(4 * size);
    const headGcs = Number(startFlag(job, 'node1', 'port'));
    expect(headGcs).toBe(b.base + 1);
    for (const [i, node] of ['node1', 'node2', 'node3', 'node4'].entries()) {
      const nm = Number(startFlag(job, node, 'node-manager-port'));
      expect(nm).toBe(b.base + i * size + 2);
      expect(Number(startFlag(job, node, 'max-worker-port'))).toBeLessThan(b.base + (i + 1) * size);
      expect(startFlag(job, node, 'node-ip-address')).toBe(`127.0.1.${i + 1}`);
      if (i > 0) expect(startFlag(job, node, 'address')).toBe(`127.0.1.1:${headGcs}`);
    }
    const tempDirs = ['node1', 'node2', 'node3', 'node4'].map((n) => startFlag(job, n, 'temp-dir'));
    expect(new Set(tempDirs).size).toBe(4);
    for (const d of tempDirs) expect(d).not.toMatch(/^\/tmp\/ray(\/|$)/);
    expect(job.status()).toMatchObject({ state: 'succeeded', exitCode: 0 });
    await expectNothingLeft(job, tempDirs);
    // Ray's session logs outlive the temp dir, in the job dir
    for (const node of ['node1', 'node4']) {
      const kept = join(job.jobDir(), 'runtime-logs', node);
      const session = readdirSync(kept).find((d) => d.startsWith('session_'));
      expect(session, `${node}: ${readdirSync(kept).join(', ')}`).toBeDefined();
      expect(readFileSync(join(kept, session!, 'logs', 'raylet.out'), 'utf8')).toMatch(/\S/);
      expect(agentLog(job, node)).toMatch(/ray: kept \d+ session log file\(s\), \d+ KiB, in /);
    }
    expect(
      readdirSync(
        join(
          job.jobDir(),
          'runtime-logs',
          'node1',
          readdirSync(join(job.jobDir(), 'runtime-logs', 'node1'))[0]!,
          'logs',
        ),
      ),
    ).toContain('gcs_server.out');
  }, 180_000);

  it("--head-cpus-only: Ray's head reports 0 GPUs, each worker its 1; train.py's checks pass and nothing is left", async () => {
    const job = runLocal(['--head-cpus-only', '-N', '2', '--gpus-per-node', '1', 'examples/train.py'], {
      env: rayEnv(),
    });
    const { code } = await exitWithin(job, 150_000);
    expect(code, job.stderr() + job.stdout()).toBe(0);
    expect(job.stdout()).toMatch(/^nodes alive: 3$/m);
    expect(job.stdout()).toMatch(/^cluster resources: CPU=12 GPU=2$/m);
    expect(job.stdout()).toMatch(/^node 127\.0\.1\.1 \(head\): CPU=4 GPU=0$/m);
    expect(job.stdout().match(/^node 127\.0\.1\.[23]: CPU=4 GPU=1$/gm)).toHaveLength(2);
    expect(job.stdout()).toMatch(/^ok {3}GPU tasks spread over 2 of 2 GPU nodes$/m);
    expect(job.stdout()).toMatch(/^checks: all passed$/m);
    await expectNothingLeft(job, []);
  }, 180_000);

  it("Ray's dashboard and Jobs API need the job's token; the entrypoint and `ray job submit` work without the user doing anything", async () => {
    const job = runLocal(['-N', '2', join(scripts, 'auth_probe.py')], { env: rayEnv() });
    const { code } = await exitWithin(job, 150_000);
    expect(code, job.stderr() + job.stdout()).toBe(0);
    const out = job.stdout();
    expect(out).toMatch(/^auth-mode token$/m);
    expect(out).toMatch(/^version no-token 401$/m);
    expect(out).toMatch(/^version wrong-token 403$/m);
    expect(out).toMatch(/^version token 200$/m);
    expect(out).toMatch(/^jobs no-token 401$/m);
    expect(out).toMatch(/^submit exit 0$/m);
    // a Jobs API job runs on this cluster (8 CPUs), and raysl's own token does not reach Ray's processes
    expect(out).toMatch(/^submit says job-ok 8 raysl-token-seen False$/m);
    expect(out).toMatch(/^token in a cmdline False$/m);
    // the secret travels in a 0600 file, never in a log
    const tokenFile = join(job.jobDir(), 'token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    for (const f of readdirSync(job.jobDir()).filter((x) => x.endsWith('.log'))) {
      expect(readFileSync(join(job.jobDir(), f), 'utf8').includes(token), f).toBe(false);
    }
    expect(job.stderr().includes(token)).toBe(false);
    for (const n of ['node1', 'node2'])
      expect(agentLog(job, n)).not.toMatch(/ray: .*\bray stop\b.*running|running `ray stop`/);
  }, 180_000);

  it('--ray-auth off: warned about, and the dashboard answers anyone', async () => {
    const job = runLocal(['-N', '1', '--ray-auth', 'off', join(scripts, 'auth_probe.py')], { env: rayEnv() });
    const { code } = await exitWithin(job, 150_000);
    expect(code, job.stderr() + job.stdout()).toBe(0);
    expect(job.stderr()).toMatch(/warning: --ray-auth off: Ray's dashboard, Jobs API and GCS accept anyone/);
    expect(job.stderr()).toMatch(/node1: Ray's token authentication is off \(--ray-auth off\)/);
    expect(job.stdout()).toMatch(/^auth-mode disabled$/m);
    expect(job.stdout()).toMatch(/^version no-token 200$/m);
  }, 180_000);

  it('a raylet killed after joining is a lost node: exit 5 naming it, entrypoint stopped, nothing left', async () => {
    const job = runLocal(['-N', '3', join(scripts, 'hold.py')], { env: rayEnv() });
    const [, address, nodes] = await job.waitFor(/^connected (\S+) (\d+)$/m, 120_000);
    expect(address).toBe(`127.0.1.1:${Number(startFlag(job, 'node1', 'port'))}`);
    expect(nodes).toBe('3');
    const s = await statusWhere(job, (x) => x.state === 'running');
    const raylets = groupMembers(rayGroups(job)['node2']!).filter((p) => comm(p) === 'raylet');
    expect(raylets).toHaveLength(1);
    process.kill(raylets[0]!, 'SIGKILL');
    const { code } = await exitWithin(job, 60_000);
    expect(code).toBe(5);
    expect(job.stderr()).toMatch(
      /node node2 was lost while the job was running: its runtime exited \(code \d+, signal none\): Ray reported raylet \[exit code=-9\]/,
    );
    const end = job.status();
    expect(end).toMatchObject({ state: 'failed', exitCode: 5 });
    expect(end.nodes.filter((n) => n.state === 'lost').map((n) => n.name)).toEqual(['node2']);
    expect(s.jobId).toBe(end.jobId);
    await expectNothingLeft(
      job,
      ['node1', 'node2', 'node3'].map((n) => startFlag(job, n, 'temp-dir')),
    );
  }, 180_000);

  it("an agent killed with SIGKILL cannot stop its Ray: exit 5, and the teardown finds that node's Ray by the job's marker", async () => {
    const job = runLocal(['-N', '2', join(scripts, 'hold.py')], { env: rayEnv() });
    await job.waitFor(/^connected (\S+) 2$/m, 120_000);
    const s = await statusWhere(job, (x) => x.state === 'running');
    const agent = s.nodes.find((n) => n.name === 'node2')?.pid;
    expect(agent).toBeGreaterThan(1);
    const orphans = groupMembers(rayGroups(job)['node2']!);
    expect(orphans.length).toBeGreaterThan(0);
    process.kill(agent!, 'SIGKILL');
    const { code } = await exitWithin(job, 60_000);
    expect(code).toBe(5);
    expect(job.stderr()).toMatch(/node node2 was lost while the job was running/);
    expect(job.stderr()).toMatch(
      /killed \d+ process\(es\) of the job that outlived their agent \(found by RAYSL_JOB_ID=/,
    );
    expect(await allGone(orphans)).toEqual([]);
    await expectNothingLeft(
      job,
      ['node1', 'node2'].map((n) => startFlag(job, n, 'temp-dir')),
    );
  }, 180_000);

  it('--iface: the head binds the interface address it reports, and RAY_ADDRESS points there', async () => {
    const job = runLocal(['-N', '1', '--iface', 'lo', join(scripts, 'hold.py')], { env: rayEnv() });
    const [, address] = await job.waitFor(/^connected (\S+) (\d+)$/m, 120_000);
    expect(address).toBe(`127.0.0.1:${Number(startFlag(job, 'node1', 'port'))}`);
    expect(startFlag(job, 'node1', 'node-ip-address')).toBe('127.0.0.1');
    expect(agentLog(job, 'node1')).toMatch(/joined: runtime ray up on 127\.0\.0\.1,/);
    // the control server stays on the Slurm address (127.0.1.1); only the runtime moved
    expect(job.status().controller).toMatch(/^127\.0\.1\.1:/);
    job.child.kill('SIGTERM');
    const { code } = await exitWithin(job, 30_000);
    // a run the user stopped exits 128 + the signal whatever the entrypoint made of it: ray.init()
    // makes a driver exit with the signal's number on SIGTERM (worker.py: sigterm_handler ->
    // sys.exit(signum)), so its own code is 15, and raysl's is 143
    expect(code).toBe(143);
    expect(job.status().timeline.map((e) => e.phase)).not.toContain('node-lost');
    await expectNothingLeft(job, [startFlag(job, 'node1', 'temp-dir')]);
  }, 180_000);

  it('a Ray too old to pin every port (stand-in ray answering 2.8.1: the installed Ray cannot be old): exit 4 at start, one line, a hint', async () => {
    const standin = join(root, 'test', 'standin', 'ray');
    const job = runLocal(['-N', '2', join(scripts, 'hold.py')], {
      env: { ...rayEnv(), RAYSL_RAY_BIN: standin, RAYSL_STANDIN_RAY_VERSION: '2.8.1' },
    });
    const { code } = await exitWithin(job, 30_000);
    expect(code).toBe(4);
    const errors = job
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('raysl: error: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Ray 2\.8\.1 is too old: raysl needs Ray >= 2\.9\.0 to pin every port/);
    expect(job.stderr()).toMatch(/\n {2}hint: install a newer Ray in the job environment/);
    expect(job.stdout()).toBe('');
  }, 60_000);

  it('Ray missing on the nodes: exit 4 at start with one clear line and a hint, no hang', async () => {
    const job = runLocal(['-N', '2', join(scripts, 'hold.py')], {
      env: { ...rayEnv(), RAYSL_RAY_BIN: '/nonexistent/venv/bin/ray' },
    });
    const { code } = await exitWithin(job, 30_000);
    expect(code).toBe(4);
    expect(job.stderr()).toMatch(
      /raysl: error: the cluster did not form: .*Ray's CLI "\/nonexistent\/venv\/bin\/ray" was not found/,
    );
    // the hint is the failing nodes' own (how to make Ray available), not the generic join advice
    // a local job: activate Ray in this shell (--setup is the batch script's, issue 16)
    expect(job.stderr()).toMatch(
      /\n {2}hint: activate the environment that has Ray in this shell before raysl run --local \/ up --local, or set RAYSL_RAY_BIN/,
    );
    expect(job.stderr()).not.toMatch(/raise --join-timeout/);
    expect(job.stdout()).toBe('');
  }, 60_000);
});
