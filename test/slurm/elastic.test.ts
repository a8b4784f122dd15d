// Elastic clusters on the Slurm test cluster (issue 22): `raysl up -N 2`, `raysl grow -N 2` adds a
// satellite Slurm job whose agents join; work lands on the new nodes (tasks, and a placement group
// that needs all 4 nodes; Ray: ray.nodes() sees 4 and GPU tasks run there); `raysl shrink` with work
// running loses nothing that could be retried; an scancel of a satellite leaves the cluster going
// (status says why); the main job's end cancels every satellite and leaves nothing on any node.
// The cluster is shared with other test runs: waits are bounded but generous, and every job of a
// test is cancelled in afterEach.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jobProcesses, rayslJobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { until } from '../support/until.js';
import { newJobRoot, raysl, rayslDone, readJobStatus, root, waitForStatus } from './raysl-cli.js';
import { activate, rayBinEnv } from './ray-helpers.js';

slurmConf();

const started: string[] = [];
afterEach(async () => {
  // every job a test started (main jobs and satellites), whatever the test did
  const ids = started.splice(0);
  if (ids.length > 0) spawnSync('scancel', ids, { env: { ...process.env, SLURM_CONF: slurmConf() } });
  await Promise.all(ids.map((id) => waitForJobEnd(id, { timeoutMs: 60_000 }).catch(() => undefined)));
});

/** Satellites of the job as status.json has them. */
function satellitesOf(jobRoot: string, jobId: string) {
  return readJobStatus(jobRoot, jobId)?.satellites ?? [];
}

async function up(jobRoot: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await rayslDone(['up', '-N', '2', '-t', '10', '--job-dir', jobRoot, ...args], { env });
  const jobId = r.stdout.trim();
  if (/^\d+$/.test(jobId)) started.push(jobId);
  expect(r.code, r.stderr).toBe(0);
  return jobId;
}

async function grow(jobRoot: string, jobId: string, n: number, extra: string[] = []) {
  // a short time limit lets Slurm's backfill start it ahead of a bigger job waiting on the shared cluster
  const r = await rayslDone([
    'grow',
    jobId,
    '-N',
    String(n),
    '-t',
    '4',
    '--wait',
    '--wait-timeout',
    '300',
    '--json',
    '--job-dir',
    jobRoot,
    ...extra,
  ]);
  const sat = r.stdout.trim()
    ? (JSON.parse(r.stdout) as { id: string; slurmJobId: string; state: string; nodes: string[]; joined: string[] })
    : undefined;
  if (sat?.slurmJobId) started.push(sat.slurmJobId);
  expect(r.code, r.stderr).toBe(0);
  return sat!;
}

/** A client script run on the head with `raysl exec`; prints one JSON line. */
function clientScript(jobRoot: string, name: string, body: string): string {
  const path = join(jobRoot, name);
  writeFileSync(
    path,
    `import { connect } from ${JSON.stringify(join(root, 'dist', 'client.mjs'))};\nconst c = await connect();\n${body}\nc.close();\n`,
  );
  return path;
}

describe('elastic clusters on Slurm (builtin runtime)', () => {
  it('up -N 2, grow by 2: tasks and a placement group over all 4 nodes; shrink with work running loses nothing; down cancels every satellite', async () => {
    const jobRoot = newJobRoot('elastic');
    const jobId = await up(jobRoot);
    const own = readJobStatus(jobRoot, jobId)!.nodes.map((n) => n.name);
    expect(own).toHaveLength(2);

    const sat = await grow(jobRoot, jobId, 2);
    expect(sat).toMatchObject({ id: 's1', state: 'joined' });
    expect(sat.slurmJobId).toMatch(/^\d+$/);
    expect(sat.nodes).toHaveLength(2);
    expect(sat.nodes.filter((n) => own.includes(n))).toEqual([]);
    expect([...sat.joined].sort()).toEqual([...sat.nodes].sort());
    const s = readJobStatus(jobRoot, jobId)!;
    expect(
      s.nodes
        .filter((n) => n.satellite === 's1')
        .map((n) => [n.name, n.state])
        .sort(),
    ).toEqual(sat.nodes.map((n) => [n, 'joined']).sort());
    const shown = await rayslDone(['status', jobId, '--job-dir', jobRoot]);
    expect(shown.stdout).toMatch(
      new RegExp(`satellites:\\n\\s+s1\\s+slurm ${sat.slurmJobId}\\s+joined\\s+${sat.nodes.join(',')}`),
    );
    // the satellite recorded a port block of its own in its Slurm Comment
    const comment = spawnSync('squeue', ['-h', '-j', sat.slurmJobId, '-o', '%k'], {
      env: { ...process.env, SLURM_CONF: slurmConf() },
      encoding: 'utf8',
    }).stdout;
    expect(comment).toMatch(/raysl:ports=\d+-\d+/);

    const pg = clientScript(
      jobRoot,
      'pg.mjs',
      `const nodes = (await c.nodes()).map((n) => n.name).sort();
const g = c.placementGroup([{ cpus: 1 }, { cpus: 1 }, { cpus: 1 }, { cpus: 1 }], { strategy: 'STRICT_SPREAD' });
const st = await g.ready({ timeoutMs: 20000 });
const ran = await Promise.all([0, 1, 2, 3].map((i) => c.run(['hostname'], { placementGroup: g, bundle: i })));
await g.remove();
const tasks = await Promise.all([0, 1, 2, 3].map(() => c.run(['sleep', '1'], { resources: { cpus: 4 } })));
console.log(JSON.stringify({ nodes, bundles: st.bundles.map((b) => b.node).sort(), ran: ran.map((r) => r.node).sort(), tasks: tasks.map((r) => r.node).sort() }));`,
    );
    const r1 = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'node', pg]);
    expect(r1.code, r1.stderr).toBe(0);
    const all = [...own, ...sat.nodes].sort();
    expect(JSON.parse(r1.stdout)).toEqual({ nodes: all, bundles: all, ran: all, tasks: all });

    // shrink while a task holds every CPU of every node: the satellite's tasks are stopped at the
    // drain timeout and run again on the job's own nodes (maxRetries 1); none is lost
    const marks = join(jobRoot, 'marks');
    const work = clientScript(
      jobRoot,
      'work.mjs',
      `const rs = await Promise.all([0, 1, 2, 3].map((i) => c.run(['bash', '-c', 'mkdir -p "$0" && touch "$0/$(hostname)-$$" && sleep 8; hostname', ${JSON.stringify(marks)}], { resources: { cpus: 4 }, maxRetries: 1 }).then((r) => ({ node: r.node, code: r.exitCode, attempts: r.attempts }), (e) => ({ error: String(e) }))));
console.log(JSON.stringify(rs));`,
    );
    const running = raysl(['exec', jobId, '--job-dir', jobRoot, '--', 'node', work]);
    await until(
      'the 4 tasks to start',
      async () =>
        existsSync(marks) && spawnSync('ls', [marks], { encoding: 'utf8' }).stdout.trim().split('\n').length >= 4
          ? true
          : undefined,
      60_000,
    );
    const shrink = await rayslDone(['shrink', jobId, 's1', '--drain-timeout', '2', '--job-dir', jobRoot]);
    expect(shrink.code, shrink.stderr).toBe(0);
    expect(shrink.stdout).toMatch(/s1\s+slurm \d+\s+ended/);
    expect(await running.exited).toBe(0);
    const results = JSON.parse(running.stdout().trim().split('\n').pop()!) as Array<{
      node?: string;
      code?: number;
      attempts?: number;
      error?: string;
    }>;
    expect(results.filter((x) => x.error !== undefined)).toEqual([]);
    expect(results.every((x) => x.code === 0 && own.includes(x.node!))).toBe(true);
    expect(results.filter((x) => x.attempts === 2)).toHaveLength(2);
    await waitForJobEnd(sat.slurmJobId, { timeoutMs: 60_000 });
    expect(jobProcesses(sat.slurmJobId)).toEqual([]);
    const after = readJobStatus(jobRoot, jobId)!;
    expect(after.state).toBe('running');
    expect(after.satellites?.[0]).toMatchObject({ id: 's1', state: 'ended' });
    expect(after.nodes.filter((n) => n.satellite === 's1').map((n) => n.state)).toEqual(['stopped', 'stopped']);
    expect(after.timeline.map((e) => e.phase)).toEqual(
      expect.arrayContaining([
        'satellite-queued',
        'satellite-joining',
        'satellite-joined',
        'satellite-draining',
        'satellite-ended',
      ]),
    );

    // the main job ends: every satellite still in Slurm is cancelled, nothing is left on any node
    const s2 = await grow(jobRoot, jobId, 1);
    expect(s2).toMatchObject({ id: 's2', state: 'joined' });
    const down = await rayslDone(['down', jobId, '--job-dir', jobRoot]);
    expect(down.code, down.stderr).toBe(0);
    await Promise.all([
      waitForJobEnd(jobId, { timeoutMs: 60_000 }),
      waitForJobEnd(s2.slurmJobId, { timeoutMs: 60_000 }),
    ]);
    expect(satellitesOf(jobRoot, jobId).map((x) => [x.id, x.state])).toEqual([
      ['s1', 'ended'],
      ['s2', 'cancelled'],
    ]);
    expect([...jobProcesses(jobId), ...jobProcesses(s2.slurmJobId), ...rayslJobProcesses(jobId)]).toEqual([]);
    expect(readFileSync(join(jobRoot, jobId, 'controller.log'), 'utf8')).toMatch(/teardown: satellites done/);
  }, 600_000);

  it('scancel of a satellite: its node is lost, the cluster goes on, status says why', async () => {
    const jobRoot = newJobRoot('elastic-scancel');
    const jobId = await up(jobRoot);
    const sat = await grow(jobRoot, jobId, 1);
    spawnSync('scancel', [sat.slurmJobId], { env: { ...process.env, SLURM_CONF: slurmConf() } });
    const s = await waitForStatus(
      jobRoot,
      jobId,
      'satellite s1 cancelled',
      (x) => x.satellites?.[0]?.state === 'cancelled',
      60_000,
    );
    expect(s.state).toBe('running');
    expect(s.satellites![0]!.why).toMatch(
      new RegExp(
        `its Slurm job ${sat.slurmJobId} was stopped from outside \\(scancel, its time limit or a preemption\\); the cluster goes on`,
      ),
    );
    expect(s.nodes.find((n) => n.name === sat.nodes[0])).toMatchObject({ state: 'lost', satellite: 's1' });
    expect(s.timeline.some((e) => e.phase === 'satellite-cancelled')).toBe(true);
    // the cluster goes on: its own nodes still run work
    const r = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'hostname']);
    expect(r.code, r.stderr).toBe(0);
    const shown = await rayslDone(['status', jobId, '--job-dir', jobRoot]);
    expect(shown.stdout).toMatch(/s1\s+slurm \d+\s+cancelled .*stopped from outside/);
    await waitForJobEnd(sat.slurmJobId, { timeoutMs: 60_000 });
    expect(jobProcesses(sat.slurmJobId)).toEqual([]);
  }, 400_000);

  it("kill -9 of the controller: the satellite's agents leave with it and the satellite job ends, nothing left", async () => {
    const jobRoot = newJobRoot('elastic-kill');
    const jobId = await up(jobRoot);
    const sat = await grow(jobRoot, jobId, 1);
    const pid = readJobStatus(jobRoot, jobId)!.controllerPid!;
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGKILL');
    // no scancel of the satellite by anyone: its agents see the channel close, stop, and its batch step ends
    await waitForJobEnd(sat.slurmJobId, { timeoutMs: 60_000 });
    await waitForJobEnd(jobId, { timeoutMs: 60_000 });
    expect([...jobProcesses(sat.slurmJobId), ...jobProcesses(jobId), ...rayslJobProcesses(jobId)]).toEqual([]);
    expect(readFileSync(join(jobRoot, jobId, `agent-${sat.nodes[0]}.log`), 'utf8')).toMatch(
      /the controller went away: stopping everything this agent started/,
    );
  }, 400_000);

  it('shrink of a node of the job itself, or of an unknown target, is exit 2 with a hint', async () => {
    const jobRoot = newJobRoot('elastic-bad');
    const jobId = await up(jobRoot, ['-N', '1']);
    const head = readJobStatus(jobRoot, jobId)!.head;
    const own = await rayslDone(['shrink', jobId, head, '--job-dir', jobRoot]);
    expect(own.code).toBe(2);
    expect(own.stderr).toMatch(
      new RegExp(
        `raysl: error: ${head} is a node of job ${jobId}'s own allocation: only a satellite's nodes can be shrunk\\n  hint: `,
      ),
    );
    const unknown = await rayslDone(['shrink', jobId, 's9', '--job-dir', jobRoot]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /raysl: error: s9 is neither a node nor a satellite of job \d+\n {2}hint: raysl status/,
    );
    const noN = await rayslDone(['grow', jobId, '--job-dir', jobRoot]);
    expect(noN.code).toBe(2);
    expect(noN.stderr).toMatch(/raysl: error: raysl grow needs -N <n>.*\n {2}hint: e\.g\. raysl grow/);
  }, 200_000);
});

describe('elastic clusters on Slurm (Ray)', () => {
  it('up -N 2, grow by 2: ray.nodes() sees 4 and GPU tasks run on them; shrink drains through Ray with work running; down leaves nothing', async () => {
    const jobRoot = newJobRoot('elastic-ray');
    const jobId = await up(jobRoot, ['--runtime', 'ray', '--gpus-per-node', '1', ...activate()], rayBinEnv());
    const own = readJobStatus(jobRoot, jobId)!.nodes.map((n) => n.name);
    const sat = await grow(jobRoot, jobId, 2);
    expect(sat).toMatchObject({ id: 's1', state: 'joined' });

    const marks = join(jobRoot, 'marks');
    const probe = join(jobRoot, 'ray4.py');
    writeFileSync(
      probe,
      `import json, os, socket, sys, time, ray
ray.init()
alive = sorted(n["NodeManagerHostname"] for n in ray.nodes() if n["Alive"])
@ray.remote(num_gpus=1)
def where(sleep, marks):
    os.makedirs(marks, exist_ok=True)
    open(os.path.join(marks, f"{socket.gethostname()}-{os.getpid()}"), "w").close()
    time.sleep(sleep)
    return socket.gethostname(), os.environ.get("CUDA_VISIBLE_DEVICES")
marks, sleep = sys.argv[1], float(sys.argv[2])
print(json.dumps({"alive": len(alive), "gpus": ray.cluster_resources().get("GPU"), "ran": sorted(h for h, _ in ray.get([where.remote(sleep, marks) for _ in range(4)])), "cuda": sorted({c for _, c in ray.get([where.remote(0, marks + "-cuda") for _ in range(4)])})}))
`,
    );
    const r1 = await rayslDone([
      'exec',
      jobId,
      '--job-dir',
      jobRoot,
      '--',
      'python3',
      probe,
      join(jobRoot, 'marks0'),
      '0',
    ]);
    expect(r1.code, r1.stderr).toBe(0);
    const all = [...own, ...sat.nodes].sort();
    const seen = JSON.parse(r1.stdout.trim().split('\n').pop()!) as {
      alive: number;
      gpus: number;
      ran: string[];
      cuda: string[];
    };
    expect(seen.alive).toBe(4);
    expect(seen.gpus).toBe(4);
    expect(seen.ran).toEqual(all);
    expect(seen.cuda).toEqual(['0']);

    // shrink while a GPU task runs on every node: Ray drains the satellite's nodes (no new work
    // there), their tasks finish, the raylets leave once idle: well before the 120 s drain timeout
    const running = raysl(['exec', jobId, '--job-dir', jobRoot, '--', 'python3', probe, marks, '6']);
    await until(
      'the 4 Ray tasks to start',
      async () =>
        existsSync(marks) && spawnSync('ls', [marks], { encoding: 'utf8' }).stdout.trim().split('\n').length >= 4
          ? true
          : undefined,
      60_000,
    );
    const t0 = Date.now();
    const shrink = await rayslDone(['shrink', jobId, 's1', '--drain-timeout', '120', '--job-dir', jobRoot]);
    const took = Date.now() - t0;
    expect(shrink.code, shrink.stderr).toBe(0);
    expect(took).toBeLessThan(60_000);
    expect(await running.exited, running.stderr()).toBe(0);
    const done = JSON.parse(running.stdout().trim().split('\n').pop()!) as { ran: string[] };
    // every task of the first round finished where it ran, the satellite's nodes included
    expect(done.ran).toEqual(all);
    for (const n of sat.nodes)
      expect(readFileSync(join(jobRoot, jobId, `agent-${n}.log`), 'utf8')).toMatch(
        /drained: .*node [0-9a-f]+ idle: its raylet left/,
      );
    await waitForJobEnd(sat.slurmJobId, { timeoutMs: 60_000 });
    expect(jobProcesses(sat.slurmJobId)).toEqual([]);
    expect(satellitesOf(jobRoot, jobId)[0]).toMatchObject({ id: 's1', state: 'ended' });

    const down = await rayslDone(['down', jobId, '--job-dir', jobRoot]);
    expect(down.code, down.stderr).toBe(0);
    await waitForJobEnd(jobId, { timeoutMs: 60_000 });
    expect([...jobProcesses(jobId), ...rayslJobProcesses(jobId)]).toEqual([]);
  }, 600_000);
});
