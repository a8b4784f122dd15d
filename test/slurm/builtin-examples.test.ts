// The builtin runtime's client examples on the real test cluster (controller in the batch step,
// agents as srun steps, GPUs from Slurm's GRES). Each test checks the example's output against
// what Slurm and the job record say, on its own: the examples' self-checks are not trusted here.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandHostlist } from '../../src/core/nodelist.js';
import type { JobStatus } from '../../src/core/status.js';
import { clusterNode, jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, rayslDone, readJobStatus, root } from './raysl-cli.js';

slurmConf();
const example = (name: string) => join(root, 'examples', name);
// a job runs for seconds, but may first wait behind other jobs on the shared cluster
const JOB_MS = 600_000;

interface Finished {
  code: number;
  stdout: string;
  stderr: string;
  jobId: string;
  status: JobStatus;
  /** Node -> GPU ids Slurm granted the job there (`scontrol show job -d`, taken inside the allocation). */
  granted: Map<string, string[]>;
}

/**
 * Submits `entrypoint` with --follow on `-N 4 --gpus-per-node 2`, waits for the Slurm job to be
 * over, and checks that nothing of it is left running. The batch script itself records Slurm's
 * GPU grant (a --setup line), as it is only shown while the job is allocated.
 */
async function submitFollow(name: string, entrypoint: string, jobRoot = newJobRoot(name)): Promise<Finished> {
  const setup = `scontrol show job -d "$SLURM_JOB_ID" > ${jobRoot}/scontrol-"$SLURM_JOB_ID".txt`;
  const r = await rayslDone([
    'submit',
    '-N',
    '4',
    '--gpus-per-node',
    '2',
    '--setup',
    setup,
    '--job-dir',
    jobRoot,
    entrypoint,
    '--follow',
  ]);
  const jobId = /submitted job (\d+)/.exec(r.stderr)?.[1];
  if (jobId === undefined) throw new Error(`raysl submit printed no job id (exit ${r.code}): ${r.stderr}`);
  await waitForJobEnd(jobId);
  expect(jobProcesses(jobId)).toEqual([]);
  const status = readJobStatus(jobRoot, jobId);
  if (status === undefined) throw new Error(`job ${jobId} wrote no status.json: ${r.stderr}`);
  return { ...r, jobId, status, granted: grantedGpus(readFileSync(join(jobRoot, `scontrol-${jobId}.txt`), 'utf8')) };
}

/** `Nodes=node[1-4] CPU_IDs=0-3 Mem=0 GRES=gpu:2(IDX:0-1)` lines -> node -> ["0", "1"]. */
function grantedGpus(scontrolDetail: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of scontrolDetail.matchAll(/^\s*Nodes=(\S+) .*GRES=\S*?\(IDX:([\d,-]+)\)/gm)) {
    const ids = m[2]!.split(',').flatMap((part) => {
      const [lo, hi = lo] = part.split('-').map(Number);
      return Array.from({ length: hi! - lo! + 1 }, (_, i) => String(lo! + i));
    });
    for (const node of expandHostlist(m[1]!)) out.set(node, ids);
  }
  if (out.size === 0) throw new Error(`no GRES IDX in scontrol's job detail:\n${scontrolDetail}`);
  return out;
}

/** Rows of a table the examples print: lines whose first cell is a node name (node1..node4). */
function tableRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((cells) => /^node\d+$/.test(cells[0] ?? ''));
}

describe('builtin examples on Slurm (-N 4, 2 GPUs per node)', () => {
  it('probe.ts: one task per granted GPU, each (node, GPU) exactly once, each seeing only its device', {
    timeout: JOB_MS,
  }, async () => {
    const job = await submitFollow('probe', example('probe.ts'));
    expect(job.code, job.stdout + job.stderr).toBe(0);
    expect(job.status).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect([...job.granted.keys()].sort()).toEqual(['node1', 'node2', 'node3', 'node4']);

    // node, granted, CUDA_VISIBLE_DEVICES, hostname, RAYSL_NODE, exit
    const rows = tableRows(job.stdout);
    const pairs = rows.map(([node, gpu]) => `${node}/${gpu}`).sort();
    const expected = [...job.granted].flatMap(([node, ids]) => ids.map((id) => `${node}/${id}`)).sort();
    expect(pairs).toEqual(expected);
    for (const [node, gpu, visible, host, seenAs, exit] of rows)
      expect({ visible, host, seenAs, exit }).toEqual({ visible: gpu, host: node, seenAs: node, exit: '0' });
  });

  it('sweep.ts: two 0.5-GPU trials run on each reserved device at once, none holds more than 1.0', {
    timeout: JOB_MS,
  }, async () => {
    const job = await submitFollow('sweep', example('sweep.ts'));
    expect(job.code, job.stdout + job.stderr).toBe(0);
    expect(job.status).toMatchObject({ state: 'succeeded', exitCode: 0 });

    // placement group pgN (PACK): bundle 0 on node1 GPU 0; bundle 1 on ...
    const bundles = [...job.stdout.matchAll(/bundle (\d+) on (node\d+) GPU (\d+)/g)].map((m) => ({
      node: m[2]!,
      gpu: m[3]!,
    }));
    expect(bundles).toHaveLength(4);
    expect(new Set(bundles.map((b) => `${b.node}/${b.gpu}`)).size).toBe(4); // four whole devices
    for (const b of bundles) expect(job.granted.get(b.node)).toContain(b.gpu);
    // PACK: as few nodes as hold 4 GPUs at 2 per node
    expect(new Set(bundles.map((b) => b.node)).size).toBe(2);

    // lr, bundle, node, GPU, CUDA_VISIBLE_DEVICES, loss, exit, ran (ms): trials are laid out two per bundle
    const trials = job.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => /^\d\.\de[-+]\d+$/.test(c[0] ?? ''))
      .map(([, bundle, node, gpu, visible, , exit, ran]) => {
        const [from, to] = ran!.split('-').map(Number);
        return { bundle: Number(bundle), device: `${node}/${gpu}`, visible, exit, from: from!, to: to! };
      });
    expect(trials).toHaveLength(8);
    for (const t of trials) {
      const b = bundles[t.bundle]!;
      expect(t).toMatchObject({ device: `${b.node}/${b.gpu}`, visible: b.gpu, exit: '0' });
    }
    // how much GPU each device held at most, from when the trials ran (0.5 each)
    const peak = new Map<string, number>();
    for (const t of trials) {
      const atItsStart = trials.filter((o) => o.device === t.device && o.from <= t.from && t.from < o.to).length * 0.5;
      peak.set(t.device, Math.max(peak.get(t.device) ?? 0, atItsStart));
    }
    expect([...peak.values()].every((v) => v <= 1.0)).toBe(true);
    expect([...peak.values()].filter((v) => v === 1.0).length, `peaks ${JSON.stringify([...peak])}`).toBeGreaterThan(0);
  });

  it("serve.ts: a task on another node reaches both services at their nodes' addresses on ports of the job's block", {
    timeout: JOB_MS,
  }, async () => {
    const job = await submitFollow('serve', example('serve.ts'));
    expect(job.code, job.stdout + job.stderr).toBe(0);
    expect(job.status).toMatchObject({ state: 'succeeded', exitCode: 0 });
    const block = job.status.portBlock!;

    // embedder: http://<address>:<port> on <node> (GPU <id>, 0.5 of it)
    const services = [
      ...job.stdout.matchAll(/^(embedder|reranker): http:\/\/([\d.]+):(\d+) on (node\d+) \(GPU (\d+), 0\.5 of it\)$/gm),
    ].map((m) => ({
      name: m[1]!,
      address: m[2]!,
      port: Number(m[3]),
      node: m[4]!,
      gpu: m[5]!,
    }));
    expect(services.map((s) => s.name).sort()).toEqual(['embedder', 'reranker']);
    for (const s of services) {
      expect(s.address).toBe(clusterNode(s.node).addr);
      expect(s.port).toBeGreaterThanOrEqual(block.base);
      expect(s.port).toBeLessThan(block.base + block.size);
      expect(job.granted.get(s.node)).toContain(s.gpu);
    }
    expect(new Set(services.map((s) => `${s.address}:${s.port}`)).size).toBe(2);

    // client task on <node> got: one JSON answer per service, from the node it runs on
    const client = /^client task on (node\d+) got:$/m.exec(job.stdout)?.[1];
    expect(services.map((s) => s.node)).not.toContain(client);
    const answers = job.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { name: string; node: string; gpus: string; path: string });
    expect(answers.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      services
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((s) => ({ name: s.name, node: s.node, gpus: s.gpu, path: '/query?q=1' })),
    );
    // both were stopped by the client (SIGTERM: the server exits 0 on it)
    for (const s of services)
      expect(job.stdout).toMatch(new RegExp(`^stopped \\S+ on ${s.node}: (exit 0|SIGTERM)$`, 'm'));
  });

  it("train.ts: one probe per node sees that node's granted GPUs and the job's app ports; the kv master is the head's", {
    timeout: JOB_MS,
  }, async () => {
    const job = await submitFollow('train', example('train.ts'));
    expect(job.code, job.stdout + job.stderr).toBe(0);
    expect(job.status).toMatchObject({ state: 'succeeded', exitCode: 0 });
    const block = job.status.portBlock!;

    // node, role, address, cpus, gpus seen, hostname, RAYSL_NODE, app ports, exit
    const rows = tableRows(job.stdout);
    expect(rows.map((r) => r[0]).sort()).toEqual([...job.granted.keys()].sort());
    const appPorts = new Set(rows.map((r) => r[7]));
    expect(appPorts.size).toBe(1); // the same range on every node
    const [lo, hi] = rows[0]![7]!.split('-').map(Number);
    expect(lo).toBeGreaterThanOrEqual(block.base);
    expect(hi).toBeLessThan(block.base + block.size);
    for (const [node, role, address, , gpus, host, seenAs, , exit] of rows) {
      expect({ role, address, gpus, host, seenAs, exit }).toEqual({
        role: node === job.status.head ? 'head' : 'worker',
        address: clusterNode(node!).addr,
        gpus: job.granted.get(node!)!.join(','),
        host: node,
        seenAs: node,
        exit: '0',
      });
    }
    expect(job.stdout).toContain(`kv master = ${clusterNode(job.status.head).addr}:${lo}`);
  });

  it('an entrypoint asking for 3 GPUs on 2-GPU nodes gets InfeasibleError naming the largest node', {
    timeout: JOB_MS,
  }, async () => {
    const jobRoot = newJobRoot('infeasible');
    // an entrypoint outside any package still imports the client as 'raysl' (and awaits at top level)
    const entry = join(jobRoot, 'too-big.ts');
    writeFileSync(
      entry,
      [
        "import { connect, InfeasibleError } from 'raysl';",
        'const cluster = await connect();',
        'try {',
        "  const r = await cluster.run(['echo', 'three GPUs'], { gpus: 3 });",
        '  console.log(`placed on ${r.node} with GPUs ${r.gpuIds.join(",")}`);',
        '  process.exitCode = 2;',
        '} catch (e) {',
        '  console.log(`${(e as Error).name} (instanceof InfeasibleError: ${e instanceof InfeasibleError}): ${(e as Error).message}`);',
        '} finally {',
        '  cluster.close();',
        '}',
        '',
      ].join('\n'),
    );
    const job = await submitFollow('infeasible', entry, jobRoot);
    expect(job.code, job.stdout + job.stderr).toBe(0);
    expect(job.status).toMatchObject({ state: 'succeeded', exitCode: 0 });
    const m =
      /^InfeasibleError \(instanceof InfeasibleError: true\): .*3 GPUs.*the largest node \((node\d+)\) has 2 GPUs/m.exec(
        job.stdout,
      );
    expect(m, job.stdout).not.toBeNull();
    expect(job.granted.get(m![1]!)).toHaveLength(2);
  });
});
