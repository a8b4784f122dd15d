// The ray runtime on the real test cluster with the real Ray 2.60 (ray[default], the venv of
// scripts/ray-venv.sh; test/setup/ray-global.ts provides it). Jobs get Ray the way users do it:
// `--setup 'source <venv>/bin/activate'`, and in some tests RAYSL_RAY_BIN in the submitting
// environment. Every node is its own network host (netns): node K at <subnet>.(10+K).
// Faults (raylet / gcs_server killed) are in ray-faults.test.ts.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocksOverlap, parsePortRecord } from '../../src/core/ports.js';
import type { PortLayout } from '../../src/core/types.js';
import type { JobStatus } from '../../src/core/status.js';
import { resolveRayPorts } from '../../src/runtimes/ray/ports.js';
import { cancel } from '../../src/slurm/scancel.js';
import { listJobs } from '../../src/slurm/squeue.js';
import {
  clusterNetwork,
  clusterNode,
  connectFrom,
  rayslJobProcesses,
  slurmConf,
  waitForJobEnd,
  waitForJobState,
  watchCommandLines,
} from './helpers.js';
import { processAlive } from '../../src/proc/identity.js';
import { until } from '../support/until.js';
import { newJobRoot, raysl, rayslDone, root, submittedId, waitForStatus, type Cli } from './raysl-cli.js';
import {
  activate,
  agentLog,
  cleanUp,
  holdPy,
  portBlockOf,
  rayBinEnv,
  rayPortsOf,
  rayStartLine,
  tempDirOf,
  venvBin,
  within,
} from './ray-helpers.js';

slurmConf();
const train = join(root, 'examples', 'train.py');
/** `ray stop` kills every Ray of the user on a node (other jobs included): raysl must never run it. */
const RAY_STOP = /\bray(\.exe)?\s+stop\b/;

/** After a job ended: none of its processes on any node (Ray's daemons and workers included), no temp dirs. */
function expectNothingLeft(jobId: string, tempDirs: Iterable<string>): void {
  expect(rayslJobProcesses(jobId), `processes of job ${jobId} still there`).toEqual([]);
  for (const t of tempDirs) expect(existsSync(t), `${t} still there`).toBe(false);
  expect(existsSync(`/tmp/raysl-${jobId}`), `/tmp/raysl-${jobId} still there`).toBe(false);
}

/** GET on the dashboard's Jobs API from the login node; the HTTP status. */
async function jobsApi(base: string, token?: string): Promise<number> {
  const r = await fetch(`${base}/api/jobs/`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(20_000),
  });
  await r.arrayBuffer();
  return r.status;
}

describe('ray runtime on Slurm (real Ray 2.60)', () => {
  it('examples/train.py on 4 nodes x 4 GPUs: the cluster has what Slurm granted, every check passes, GPU tasks run on all 4 nodes; nothing is left afterwards', {
    timeout: 300_000,
  }, async () => {
    const jobRoot = newJobRoot('ray4');
    const net = clusterNetwork();
    const stops = watchCommandLines(RAY_STOP);
    // only the activated venv: `ray` and `python3` come from PATH in the job
    const c = raysl([
      'submit',
      '-N',
      '4',
      '--gpus-per-node',
      '4',
      '--job-dir',
      jobRoot,
      ...activate(),
      train,
      '--follow',
    ]);
    let jobId: string | undefined;
    try {
      jobId = await submittedId(c);
      const code = await within(c.exited, 240_000, `job ${jobId} (train.py) to end`);
      const out = c.stdout();
      expect(code, c.stderr()).toBe(0);
      expect(out).toMatch(/^nodes alive: 4$/m);
      // what Slurm granted (4 CPUs, 4 GPUs per node), not what the host has (2 CPUs, no GPU)
      expect(out).toMatch(/^cluster resources: CPU=16 GPU=16$/m);
      const checks = out.split('\n').filter((l) => /^(ok  |FAIL) /.test(l));
      expect(checks.length, out).toBe(6);
      expect(checks.filter((l) => !l.startsWith('ok  '))).toEqual([]);
      expect(out).toMatch(/^checks: all passed$/m);
      // 16 whole-GPU tasks at once: each node's 4 devices, on that node's own address and hostname
      const gpuTasks = [...out.matchAll(/^gpu task on (\S+) \((\S+)\) CUDA_VISIBLE_DEVICES=(\S*)$/gm)].map(
        (m) => `${m[1]} ${m[2]} ${m[3]}`,
      );
      expect(gpuTasks.sort()).toEqual(net.flatMap((n) => [0, 1, 2, 3].map((g) => `${n.addr} ${n.node} ${g}`)).sort());

      // every node ran `ray start` on its own address with the job's pinned ports
      const { ports, workerPorts } = rayPortsOf(jobRoot, jobId);
      const head = clusterNode('node1');
      const headLine = rayStartLine(jobRoot, jobId, 'node1');
      expect(headLine).toContain(` start --head --port=${ports.gcs} --node-ip-address=${head.addr} `);
      for (const p of [
        ports.node_manager,
        ports.object_manager,
        ports.ray_client_server,
        ports.dashboard,
        ports.metrics_export,
        ...workerPorts,
      ]) {
        expect(headLine).toMatch(new RegExp(`=${p}( |$)`));
      }
      expect(headLine).toContain(`--dashboard-host=${head.addr} `);
      expect(headLine).toContain('--num-cpus=4 --num-gpus=4 ');
      expect(headLine.startsWith('ray start '), headLine).toBe(true); // no RAYSL_RAY_BIN: `ray` from the activated venv's PATH
      const temps = new Set([tempDirOf(headLine)]);
      for (const n of net.filter((x) => x.node !== 'node1')) {
        const line = rayStartLine(jobRoot, jobId, n.node);
        expect(line).toContain(
          ` start --address=${head.addr}:${ports.gcs} --node-ip-address=${n.addr} --node-manager-port=${ports.node_manager} `,
        );
        expect(line).toContain('--num-cpus=4 --num-gpus=4 ');
        temps.add(tempDirOf(line));
      }
      expect([...temps].sort()).toEqual(net.map((n) => `/tmp/raysl-${jobId}/${n.node}/ray`).sort());
      // raysl's own word that Ray came up (after its readiness check), on the node's address and the job's port block;
      // not Ray's "Ray runtime started." banner, which a stand-in prints as well
      const block = portBlockOf(jobRoot, jobId);
      for (const n of net) {
        const joined = `] joined: runtime ray up on ${n.addr}, ports ${block.base}-${block.base + block.size - 1}`;
        expect(
          agentLog(jobRoot, jobId, n.node)
            .split('\n')
            .filter((l) => l.endsWith(joined)),
          `${n.node}'s log`,
        ).toHaveLength(1);
      }
      // workers start with the head through the boot script (ray-boot.ts) and take the head's session
      // dir from the GCS: it must be the head's real one (the session the head's logs were kept from)
      const headSession = readdirSync(join(jobRoot, jobId, 'runtime-logs', 'node1')).find((d) =>
        d.startsWith('session_'),
      );
      expect(headSession).toBeDefined();
      for (const n of net.filter((x) => x.node !== 'node1')) {
        expect(agentLog(jobRoot, jobId, n.node)).toContain(
          `raysl-ray-boot: head's session dir /tmp/raysl-${jobId}/node1/ray/${headSession} from the GCS config: not waiting for the head's raylet`,
        );
      }

      const s = JSON.parse(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8')) as JobStatus;
      expect(s).toMatchObject({ state: 'succeeded', exitCode: 0, runtime: 'ray', launcher: 'srun' });

      // teardown: no process of the job's Ray (gcs_server, raylet, dashboard, agents, ray:: workers,
      // log monitor) on any node, and the temp dirs are gone
      await waitForJobEnd(jobId);
      expectNothingLeft(jobId, temps);
      expect(stops.stop()).toEqual([]);
    } finally {
      stops.stop();
      await cleanUp([c], jobId ? [jobId] : []);
    }
  });

  it('two real Ray jobs on the same nodes (token auth / --ray-auth off): disjoint port blocks, separate clusters, the dashboard answers only on the head address, the token guards it and never leaks, `ray job submit` works from the entrypoint; scancel of one leaves nothing of it and the other runs to success; no `ray stop`', {
    timeout: 300_000,
  }, async () => {
    const jobRoot = newJobRoot('ray-shared');
    const holdA = holdPy(jobRoot, 'a', { jobSubmit: true });
    const holdB = holdPy(jobRoot, 'b', { jobSubmit: true });
    const shared = [
      '-N',
      '2',
      '--cpus-per-task',
      '2',
      '--gpus-per-node',
      '2',
      '--sbatch-arg=--nodelist=node[1-2]',
      '--job-dir',
      jobRoot,
      ...activate(),
    ];
    const stops = watchCommandLines(RAY_STOP);
    const clis: Cli[] = [];
    const ids: string[] = [];
    try {
      const t0 = Date.now();
      const laps: string[] = [];
      const lap = (what: string): void => void laps.push(`${what} +${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const a = raysl(['submit', ...shared, holdA.path, '--follow'], { env: rayBinEnv() });
      clis.push(a);
      const idA = await submittedId(a);
      ids.push(idA);
      // B plans its block once A's is recorded (the case that must not collide)
      await waitForStatus(jobRoot, idA, 'a port block', (s) => s.portBlock !== undefined, 120_000);
      const b = raysl(['submit', ...shared, '--ray-auth', 'off', holdB.path, '--follow'], { env: rayBinEnv() });
      clis.push(b);
      const idB = await submittedId(b);
      ids.push(idB);
      expect(b.stderr()).toMatch(/^raysl: warning: --ray-auth off: Ray's dashboard, Jobs API and GCS accept anyone/m);
      expect(a.stderr()).not.toMatch(/--ray-auth off/);
      await Promise.all([a, b].map((c) => c.waitFor(/^holding$/m, 200_000, 'stdout')));
      lap('both holding');
      // the head's own note, in the controller's log
      expect(readFileSync(join(jobRoot, idB, 'controller.log'), 'utf8')).toMatch(
        /\] node1: Ray's token authentication is off \(--ray-auth off\)/,
      );
      const [sa, sb] = await Promise.all(
        [idA, idB].map((id) => waitForStatus(jobRoot, id, 'state running', (s) => s.state === 'running')),
      );
      expect(sa!.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
      expect(sb!.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);

      // port blocks: disjoint, recorded in ports.json and in each job's Slurm Comment
      const blocks = [idA, idB].map((id) => portBlockOf(jobRoot, id));
      expect(blocksOverlap(blocks[0]!, blocks[1]!)).toBe(false);
      const jobs = await listJobs({ jobIds: [idA, idB] });
      [idA, idB].forEach((id, i) =>
        expect(parsePortRecord(jobs.find((j) => j.id === id)!.comment)).toEqual({
          base: blocks[i]!.base,
          size: blocks[i]!.size,
        }),
      );

      // two separate Ray clusters: each entrypoint reached its own head's GCS and saw only its own 2 nodes, 4 GPUs, 4 CPUs
      const head = clusterNode('node1');
      const [pa, pb] = [idA, idB].map((id) => rayPortsOf(jobRoot, id).ports);
      for (const [c, p] of [
        [a, pa!],
        [b, pb!],
      ] as const) {
        expect(c.stdout()).toMatch(new RegExp(`^connected ${head.addr.replaceAll('.', '\\.')}:${p.gcs} 2 4 4$`, 'm'));
        // `ray job submit` with nothing but the environment raysl gave the entrypoint: a job on this cluster
        expect(c.stdout()).toMatch(/^job submit exit 0$/m);
        expect(c.stdout()).toMatch(/^job submit says job-ok 2 4$/m);
      }

      // the dashboard and Jobs API: on the head's address at the pinned port, from the login node and from node2
      const dashA = `http://${head.addr}:${pa!.dashboard}`;
      const dashB = `http://${head.addr}:${pb!.dashboard}`;
      const tokenFile = join(jobRoot, idA, 'token');
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect(await jobsApi(dashA)).toBe(401);
      expect(await jobsApi(dashA, 'x'.repeat(token.length))).toBe(403);
      expect(await jobsApi(dashA, token)).toBe(200);
      expect(await jobsApi(dashB)).toBe(200); // --ray-auth off: open to anyone who reaches it
      expect(await connectFrom(clusterNode('node2').netns, head.addr, pa!.dashboard)).toBe('open');
      // ... and not on node1's other addresses (node1 has lo and eth0 only)
      for (const p of [pa!, pb!]) expect(await connectFrom(head.netns, '127.0.0.1', p.dashboard)).toBe('ECONNREFUSED');
      expect(await connectFrom(head.netns, head.addr, pa!.dashboard)).toBe('open');

      // the token is in no log, not in the job script, not on any job process's command line
      const files = [
        'job.sh',
        'controller.log',
        'agent-node1.log',
        'agent-node2.log',
        'entrypoint.log',
        'status.json',
        'plan.json',
      ];
      for (const f of files)
        expect(readFileSync(join(jobRoot, idA, f), 'utf8').includes(token), `token in ${f}`).toBe(false);
      expect(a.stdout().includes(token) || a.stderr().includes(token)).toBe(false);
      const procsA = rayslJobProcesses(idA);
      expect(
        procsA
          .filter((p) => /\/raylet\/raylet /.test(p.cmdline))
          .map((p) => p.node)
          .sort(),
      ).toEqual(['node1', 'node2']);
      expect(procsA.filter((p) => /\/gcs\/gcs_server /.test(p.cmdline)).map((p) => p.node)).toEqual(['node1']);
      expect(procsA.filter((p) => /dashboard\.py /.test(p.cmdline)).map((p) => p.node)).toEqual(['node1']);
      // a worker starts at a low CPU share (its session's autogroup at nice 19, so the head's start
      // goes first where nodes share cores) and is back at its own once its agents answer
      const workerLog = () => agentLog(jobRoot, idA, 'node2');
      if (readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1') {
        const workerRaylet = procsA.find((p) => p.node === 'node2' && /\/raylet\/raylet /.test(p.cmdline));
        expect(workerRaylet, "job A's raylet on node2").toBeDefined();
        await until(
          "job A's worker raylet back at autogroup nice 0",
          () =>
            / nice 0$/.test(readFileSync(`/proc/${workerRaylet?.pid}/autogroup`, 'utf8').trim()) ? true : undefined,
          60_000,
        );
        expect(workerLog()).toMatch(/raysl-ray-boot: this node's Ray at autogroup nice 19 until \S+ answer/);
        expect(workerLog()).toContain('raysl-ray-boot: back at autogroup nice 0');
      } else {
        // without autogroups a worker's share is left alone, and it does not claim otherwise
        expect(workerLog()).not.toContain('autogroup nice');
      }
      expect(agentLog(jobRoot, idA, 'node1')).not.toContain('autogroup nice');
      // the scan sees the processes Ray renamed with setproctitle (ray::DashboardAgent, ray::IDLE, ...)
      expect(procsA.filter((p) => p.cmdline.startsWith('ray::')).length).toBeGreaterThan(0);
      expect(procsA.filter((p) => p.cmdline.includes(token))).toEqual([]);

      // own temp dirs per job and node, each holding that job's live Ray session
      const tempsA = new Set<string>();
      const tempsB = new Set<string>();
      for (const node of ['node1', 'node2']) {
        const ta = tempDirOf(rayStartLine(jobRoot, idA, node));
        const tb = tempDirOf(rayStartLine(jobRoot, idB, node));
        expect(ta).toBe(`/tmp/raysl-${idA}/${node}/ray`);
        expect(tb).toBe(`/tmp/raysl-${idB}/${node}/ray`);
        for (const t of [ta, tb]) expect(readdirSync(t).some((d) => d.startsWith('session_'))).toBe(true);
        tempsA.add(ta);
        tempsB.add(tb);
      }

      // scancel A mid-run: all of A goes (Ray's daemons and workers included); every process of B stays, and B finishes its work
      const beforeB = rayslJobProcesses(idB);
      expect(
        beforeB
          .filter((p) => /\bray start /.test(p.cmdline))
          .map((p) => p.node)
          .sort(),
      ).toEqual(['node1', 'node2']);
      lap('checks done');
      await cancel({ jobId: idA });
      await waitForJobEnd(idA);
      lap('A cancelled and gone');
      expect(await within(a.exited, 60_000, 'raysl --follow of the cancelled job to exit')).not.toBe(0);
      expect(a.stdout()).not.toMatch(/^released$/m);
      expectNothingLeft(idA, tempsA);
      expect(beforeB.filter((p) => !processAlive(p.pid))).toEqual([]);
      expect(await waitForJobState(idB, ['RUNNING'])).toMatchObject({ id: idB });
      expect(await jobsApi(dashB)).toBe(200);
      holdB.release();
      expect(await within(b.exited, 60_000, 'job B to end after its release'), b.stderr()).toBe(0);
      expect(b.stdout()).toMatch(/^released$/m);
      await waitForJobEnd(idB);
      lap('B done and gone');
      console.log(`ray-shared (from A's submit): ${laps.join(', ')}`);
      expectNothingLeft(idB, tempsB);

      // raysl never ran `ray stop`: no such process appeared, and no agent logged running one
      expect(stops.stop()).toEqual([]);
      for (const id of [idA, idB]) {
        for (const node of ['node1', 'node2']) {
          // raysl's own lines (Ray's output, "[nodeN] ray: ...", does print `ray stop` as a hint)
          const own = agentLog(jobRoot, id, node)
            .split('\n')
            .filter((l) => !/\] ray: /.test(l));
          expect(own.filter((l) => RAY_STOP.test(l))).toEqual([]);
        }
      }
    } finally {
      stops.stop();
      holdA.release();
      holdB.release();
      await cleanUp(clis, ids);
    }
  });

  it('Ray missing on the nodes (RAYSL_RAY_BIN names nothing / no venv on PATH): one error line naming it, a hint, exit 4, no hang', {
    timeout: 180_000,
  }, async () => {
    const jobRoot = newJobRoot('ray-missing');
    const venv = venvBin();
    const pathWithoutVenv = (process.env.PATH ?? '')
      .split(':')
      .filter((d) => d !== venv)
      .join(':');
    const clis = [
      raysl(['submit', '-N', '1', '--gpus-per-node', '1', '--job-dir', jobRoot, ...activate(), train, '--follow'], {
        env: { RAYSL_RAY_BIN: '/nonexistent/ray' },
      }),
      raysl(['submit', '-N', '1', '--gpus-per-node', '1', '--job-dir', jobRoot, train, '--follow'], {
        env: { PATH: pathWithoutVenv, RAYSL_RAY_BIN: '' },
      }),
    ];
    const ids: string[] = [];
    try {
      for (const c of clis) ids.push(await submittedId(c));
      const codes = await Promise.all(
        clis.map((c, i) => within(c.exited, 150_000, `job ${ids[i]} with no Ray to fail`)),
      );
      expect(codes, clis.map((c) => c.stderr() + c.stdout()).join('\n----\n')).toEqual([4, 4]);
      for (const [c, bin] of [
        [clis[0]!, '/nonexistent/ray'],
        [clis[1]!, 'ray'],
      ] as const) {
        const err = c.stderr();
        const errors = err.split('\n').filter((l) => l.startsWith('raysl: error: '));
        expect(errors, err).toHaveLength(1);
        expect(errors[0]).toContain(`the cluster did not form`);
        expect(errors[0]).toContain(`Ray's CLI "${bin}" was not found`);
        // the failing nodes' own hint, not the generic join advice
        expect(err).toMatch(/^ {2}hint: .*--setup.*RAYSL_RAY_BIN/m);
        expect(err).not.toMatch(/raise --join-timeout/);
      }
      for (const id of ids) {
        await waitForJobEnd(id);
        expect(rayslJobProcesses(id)).toEqual([]);
      }
    } finally {
      await cleanUp(clis, ids);
    }
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
    expect(text.stdout).toMatch(
      new RegExp(`^#\\s+worker\\s+${workerPorts[0]}-${workerPorts[1]}\\s+${workerPorts[1] - workerPorts[0] + 1}$`, 'm'),
    );
    expect(text.stdout).toMatch(/^# runtime:\s+ray \(--runtime ray\)$/m);
  });
});
