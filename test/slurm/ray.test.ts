// The ray runtime on the real test cluster, with the stand-in `ray` (test/standin/ray; Ray cannot be
// installed here) and its stand-in python module, both named in the submitting environment
// (sbatch exports it to the job; `--env` refuses RAYSL_* keys on purpose).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocksOverlap, parsePortRecord } from '../../src/core/ports.js';
import type { PortBlock, PortLayout } from '../../src/core/types.js';
import type { JobStatus, PhaseEvent } from '../../src/core/status.js';
import { resolveRayPorts } from '../../src/runtimes/ray-ports.js';
import { cancel } from '../../src/slurm/scancel.js';
import { listJobs } from '../../src/slurm/squeue.js';
import { jobProcesses, slurmConf, waitForJobEnd, waitForJobState } from './helpers.js';
import { alive, newJobRoot, raysl, rayslDone, root, submittedId, waitForStatus } from './raysl-cli.js';

slurmConf();
const train = join(root, 'examples', 'train.py');
const rayEnv = {
  RAYSL_RAY_BIN: join(root, 'test', 'standin', 'ray'),
  PYTHONPATH: join(root, 'test', 'standin', 'python'),
};

function agentLog(jobRoot: string, jobId: string, node: string): string {
  return readFileSync(join(jobRoot, jobId, `agent-${node}.log`), 'utf8');
}

/** The `ray start ...` line an agent logged. */
function rayStartLine(jobRoot: string, jobId: string, node: string): string {
  const m = /ray \d+\.\d+\.\d+: (\S+ start .*)$/m.exec(agentLog(jobRoot, jobId, node));
  if (!m?.[1]) throw new Error(`no ray start line in ${node}'s log of job ${jobId}`);
  return m[1];
}

function tempDirOf(line: string): string {
  return /--temp-dir=(\S+)/.exec(line)![1]!;
}

function phaseAt(s: JobStatus, phase: PhaseEvent['phase'], node?: string): number {
  const e = s.timeline.find((x) => x.phase === phase && (node === undefined || x.node === node));
  if (!e) throw new Error(`no ${phase}${node ? ` of ${node}` : ''} in the timeline`);
  return Date.parse(e.at);
}

/**
 * A ray workload that connects like train.py, says which cluster it sees, then runs until the test
 * creates its release file (bounded at 60 s so a broken test cannot leave it running).
 */
function holdPy(jobRoot: string, name: string): { path: string; release: () => void } {
  const path = join(jobRoot, `${name}.py`);
  const flag = join(jobRoot, `${name}.release`);
  writeFileSync(
    path,
    [
      'import os, time, ray',
      'ray.init()',
      'alive = [n for n in ray.nodes() if n["Alive"]]',
      'print("connected", os.environ["RAY_ADDRESS"], len(alive), ray.cluster_resources().get("GPU", 0), flush=True)',
      'end = time.time() + 60',
      `while not os.path.exists(${JSON.stringify(flag)}) and time.time() < end:`,
      '    time.sleep(0.1)',
      `print("released" if os.path.exists(${JSON.stringify(flag)}) else "gave up", flush=True)`,
    ].join('\n') + '\n',
  );
  return { path, release: () => writeFileSync(flag, '') };
}

describe('ray runtime on Slurm (stand-in ray)', () => {
  it('a 4-node ray job forms through srun agents and runs train.py on all nodes and GPUs', async () => {
    const jobRoot = newJobRoot('ray4');
    const t0 = Date.now();
    const r = await rayslDone(['submit', '-N', '4', '--gpus-per-node', '1', '--job-dir', jobRoot, train, '--follow'], { env: rayEnv });
    const total = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^nodes alive: 4$/m);
    expect(r.stdout).toMatch(/^cluster resources: CPU=16 GPU=4$/m);
    for (const i of [1, 2, 3, 4]) expect(r.stdout).toMatch(new RegExp(`^probe ran on 127\\.0\\.1\\.${i} \\(\\S+\\) gpus=\\[0\\]$`, 'm'));
    expect(r.stdout).toMatch(/^probes: 4 on 4 node\(s\)$/m);
    const jobId = /submitted job (\d+)/.exec(r.stderr)![1]!;

    // every node ran `ray start` with the job's pinned ports; workers joined the head's own GCS
    const block = JSON.parse(readFileSync(join(jobRoot, jobId, 'ports.json'), 'utf8')) as PortBlock;
    const layout = (JSON.parse(readFileSync(join(jobRoot, jobId, 'plan.json'), 'utf8')) as { portLayout: PortLayout }).portLayout;
    const { ports, workerPorts } = resolveRayPorts(block.base, layout);
    const head = rayStartLine(jobRoot, jobId, 'node1');
    expect(head).toContain(` start --head --port=${ports.gcs} --node-ip-address=127.0.1.1 `);
    for (const p of [ports.node_manager, ports.object_manager, ports.ray_client_server, ports.dashboard, ports.metrics_export, ...workerPorts]) {
      expect(head).toMatch(new RegExp(`=${p}( |$)`));
    }
    expect(head).toContain('--dashboard-host=127.0.1.1 ');
    const temps = new Set([tempDirOf(head)]);
    for (const n of [2, 3, 4]) {
      const line = rayStartLine(jobRoot, jobId, `node${n}`);
      expect(line).toContain(` start --address=127.0.1.1:${ports.gcs} --node-ip-address=127.0.1.${n} --node-manager-port=${ports.node_manager} `);
      expect(line).toContain('--num-gpus=1 ');
      temps.add(tempDirOf(line));
    }
    expect(temps.size).toBe(4);
    expect([...temps].every((t) => t.startsWith(`/tmp/raysl-${jobId}/`))).toBe(true);
    expect(agentLog(jobRoot, jobId, 'node1')).toMatch(/head stopping with 0 worker node\(s\) still connected/);

    const s = JSON.parse(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8')) as JobStatus;
    expect(s).toMatchObject({ state: 'succeeded', exitCode: 0, runtime: 'ray', launcher: 'srun' });
    const joined = Math.max(...['node1', 'node2', 'node3', 'node4'].map((n) => phaseAt(s, 'node-joined', n)));
    console.log(`ray 4-node job ${jobId}: batch start -> all joined ${((joined - Date.parse(s.startedAt)) / 1000).toFixed(2)} s, submit -> raysl exit ${(total / 1000).toFixed(2)} s`);
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
    for (const t of temps) expect(existsSync(t)).toBe(false);
  });

  it('two ray jobs on the same nodes: disjoint port blocks, own temp dirs and clusters; scancel of one leaves the other running to success', async () => {
    const jobRoot = newJobRoot('ray-shared');
    const holdA = holdPy(jobRoot, 'a');
    const holdB = holdPy(jobRoot, 'b');
    const shared = ['-N', '2', '--cpus-per-task', '2', '--gpus-per-node', '2', '--sbatch-arg=--nodelist=node[1-2]', '--job-dir', jobRoot];
    const a = raysl(['submit', ...shared, holdA.path, '--follow'], { env: rayEnv });
    const idA = await submittedId(a);
    // B plans its block once A's is recorded (the case that must not collide)
    await waitForStatus(jobRoot, idA, 'a port block', (s) => s.portBlock !== undefined);
    const b = raysl(['submit', ...shared, holdB.path, '--follow'], { env: rayEnv });
    const idB = await submittedId(b);
    const [ca, cb] = await Promise.all([a, b].map((c) => c.waitFor(/^connected (\S+) (\d+) (\S+)$/m, 30_000, 'stdout')));
    const [sa, sb] = await Promise.all([idA, idB].map((id) => waitForStatus(jobRoot, id, 'state running', (s) => s.state === 'running')));
    expect(sa!.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
    expect(sb!.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);

    // port blocks: disjoint, recorded in ports.json and in each job's Slurm Comment
    const blocks = [idA, idB].map((id) => JSON.parse(readFileSync(join(jobRoot, id, 'ports.json'), 'utf8')) as PortBlock);
    expect(blocksOverlap(blocks[0]!, blocks[1]!)).toBe(false);
    const jobs = await listJobs({ jobIds: [idA, idB] });
    [idA, idB].forEach((id, i) => expect(parsePortRecord(jobs.find((j) => j.id === id)!.comment)).toEqual({ base: blocks[i]!.base, size: blocks[i]!.size }));

    // two separate Ray clusters: each entrypoint reached its own head's GCS and saw only its 2 nodes, 4 GPUs
    const gcs = blocks.map((blk) => resolveRayPorts(blk.base, layoutOf(jobRoot, idA)).ports.gcs);
    expect(ca![1]).toBe(`127.0.1.1:${gcs[0]}`);
    expect(cb![1]).toBe(`127.0.1.1:${gcs[1]}`);
    for (const c of [ca!, cb!]) expect([c[2], c[3]]).toEqual(['2', '4.0']);

    // own temp dirs per job and node, each holding that job's live Ray session
    for (const node of ['node1', 'node2']) {
      const ta = tempDirOf(rayStartLine(jobRoot, idA, node));
      const tb = tempDirOf(rayStartLine(jobRoot, idB, node));
      expect(ta).toBe(`/tmp/raysl-${idA}/${node}/ray`);
      expect(tb).toBe(`/tmp/raysl-${idB}/${node}/ray`);
      for (const t of [ta, tb]) expect(readdirSync(t).some((d) => d.startsWith('session_'))).toBe(true);
    }

    // scancel A: A's processes all go; every process of B stays, and B still finishes its work
    const before = jobProcesses(idB);
    expect(before.filter((p) => /standin\/ray start/.test(p.cmdline)).map((p) => p.node).sort()).toEqual(['node1', 'node2']);
    await cancel({ jobId: idA });
    await waitForJobEnd(idA);
    expect(jobProcesses(idA)).toEqual([]);
    expect(before.filter((p) => !alive(p.pid))).toEqual([]);
    expect(await waitForJobState(idB, ['RUNNING'])).toMatchObject({ id: idB });
    holdB.release();
    expect(await b.exited, b.stderr()).toBe(0);
    expect(b.stdout()).toMatch(/^released$/m);
    expect(await a.exited).not.toBe(0);
    expect(a.stdout()).not.toMatch(/released/);
    await waitForJobEnd(idB);
    expect(jobProcesses(idB)).toEqual([]);
  });

  it('raysl render --runtime ray shows every port the ray adapter pins, with its offset, in the header and the --json plan', async () => {
    const text = await rayslDone(['render', '-N', '2', '--runtime', 'ray', train]);
    const json = await rayslDone(['render', '--json', '-N', '2', '--runtime', 'ray', train]);
    expect(text.code, text.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    const layout = (JSON.parse(json.stdout) as { plan: { portLayout: PortLayout } }).plan.portLayout;
    // base 0: the adapter's names resolved to their offsets in the block
    const { ports, workerPorts } = resolveRayPorts(0, layout);
    expect(Object.keys(ports).length).toBeGreaterThanOrEqual(10);
    for (const [name, offset] of Object.entries(ports)) {
      expect(layout.ports[name], name).toBe(offset);
      expect(text.stdout).toMatch(new RegExp(`^#\\s+${name}\\s+${offset}\\s+1$`, 'm'));
    }
    expect(text.stdout).toMatch(new RegExp(`^#\\s+worker\\s+${workerPorts[0]}-${workerPorts[1]}\\s+${workerPorts[1] - workerPorts[0] + 1}$`, 'm'));
    expect(text.stdout).toMatch(/^# runtime:\s+ray \(--runtime ray\)$/m);
  });
});

function layoutOf(jobRoot: string, jobId: string): PortLayout {
  return (JSON.parse(readFileSync(join(jobRoot, jobId, 'plan.json'), 'utf8')) as { portLayout: PortLayout }).portLayout;
}
