// The real test cluster (scripts/dev-slurm.sh) behaves like the multi-node Slurm raysl targets:
// nodes that are separate network hosts (own address, own port space) with their own hostname,
// GPUs bound through GRES, the agent steps raysl launches (built by srunArgv) running side by
// side, and scancel leaving nothing behind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import { expandHostlist } from '../../src/core/nodelist.js';
import { runSlurm } from '../../src/slurm/exec.js';
import { cancel } from '../../src/slurm/scancel.js';
import { showNodes } from '../../src/slurm/scontrol.js';
import { srunArgv } from '../../src/slurm/srun.js';
import {
  clusterNetwork,
  jobOutput,
  jobProcesses,
  shq,
  slurmConf,
  slurmDir,
  submitScript,
  waitForJobEnd,
  waitForJobState,
} from './helpers.js';
import { until } from '../support/until.js';

slurmConf();

async function clusterNodes(): Promise<string[]> {
  return expandHostlist((await runSlurm(['sinfo', '--noheader', '--format=%N'])).trim());
}

describe('test cluster', () => {
  it('has 4 responding nodes, each with its own NodeAddr (its network namespace, resolvable by name), 4 CPUs and 4 GPUs', async () => {
    const names = await clusterNodes();
    expect(names).toHaveLength(4);
    const nodes = await showNodes(names.join(','));
    expect(nodes.map((n) => n.name)).toEqual(names);
    const net = clusterNetwork();
    expect(net.map((n) => n.node)).toEqual(names);
    expect(new Set(net.map((n) => n.addr)).size).toBe(4);
    expect(new Set(net.map((n) => n.netns)).size).toBe(4);
    for (const [i, n] of nodes.entries()) {
      expect(n).toMatchObject({ addr: net[i]!.addr, hostname: n.name, cpus: 4, gpus: 4 });
      expect(n.addr).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(n.addr).not.toMatch(/^127\./);
      // Other engineers' jobs may be running: any schedulable state is fine, DOWN/DRAIN is not.
      expect(n.state).toMatch(/^(IDLE|MIXED|ALLOCATED)$/);
      expect((await lookup(n.name, { family: 4 })).address).toBe(n.addr);
    }
  });

  it('gives every node its own network: only lo and its own address, and its own port space', async () => {
    const names = await clusterNodes();
    const net = clusterNetwork();
    // The same port on 0.0.0.0 on all 4 nodes at once (as Ray's servers bind): each task binds,
    // then holds the port until every node has bound it (bounded wait), so all 4 held it together.
    const port = 31000 + Math.floor(Math.random() * 1000);
    const hold =
      "const fs = require('fs'), node = process.env.SLURMD_NODENAME, n = Number(process.argv[1]);" +
      "const s = require('net').createServer();" +
      "s.on('error', (e) => { console.log('bind ' + node + ' ' + e.code); process.exit(1); });" +
      `s.listen(${port}, '0.0.0.0', () => {` +
      "  fs.writeFileSync('bound.' + node, '');" +
      '  const until = Date.now() + 20000;' +
      "  setInterval(() => { const k = fs.readdirSync('.').filter((f) => f.startsWith('bound.')).length;" +
      "    if (k >= n || Date.now() > until) { console.log('bound ' + node + ' ' + k); process.exit(k >= n ? 0 : 1); } }, 50);" +
      '});';
    const listSelf =
      'echo "addrs $SLURMD_NODENAME $(hostname) $(ip -4 -o addr show | awk \'{ print $2 "=" $4 }\' | sort | tr "\\n" " ")| sys $(ls /sys/class/net | sort | tr "\\n" " ")"';
    const job = await submitScript(
      [
        `srun --nodes=${names.length} --ntasks-per-node=1 bash -c ${shq(listSelf)}`,
        `srun --nodes=${names.length} --ntasks-per-node=1 ${shq(process.execPath)} -e ${shq(hold)} ${names.length}; echo "bind rc=$?"`,
      ].join('\n'),
      { name: 'netns', sbatchArgs: [`--nodes=${names.length}`] },
    );
    await waitForJobState(job.jobId, ['COMPLETED'], { timeoutMs: 60_000 });
    const lines = jobOutput(job.outputPath).trim().split('\n');
    // nodes.net's 4th column: the node's address on the node-only fabric (ib0)
    const ib = Object.fromEntries(
      readFileSync(join(slurmDir(), 'nodes.net'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.split(' ')[0], l.split(' ')[3]]),
    );
    for (const n of net) {
      expect(ib[n.node]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(lines).toContain(
        `addrs ${n.node} ${n.node} eth0=${n.addr}/24 ib0=${ib[n.node]}/24 lo=127.0.0.1/8 | sys eth0 ib0 lo `,
      );
      expect(lines).toContain(`bound ${n.node} ${names.length}`);
    }
    expect(lines).toContain('bind rc=0');
  });

  it('runs the head and worker agent steps concurrently on 4 nodes, each task on its own hostname with its GPUs', async () => {
    const names = await clusterNodes();
    const [head, ...workers] = names;
    // Each agent task records it started, then waits (bounded) for the other step's marker and for
    // the batch script's extra step to finish: the job only passes if both agent steps ran at the
    // same time AND another step could start while they ran (without --overlap it blocks).
    const body = (role: string, waitFor: string[]) =>
      `echo "${role} $SLURMD_NODENAME $(hostname) gpus=$CUDA_VISIBLE_DEVICES step=$SLURM_STEP_ID"; ` +
      `touch "started.${role}.$SLURMD_NODENAME"; ` +
      `for i in $(seq 400); do ok=1; for f in ${waitFor.map((w) => shq(w)).join(' ')}; do [ -e "$f" ] || ok=0; done; [ $ok = 1 ] && exit 0; sleep 0.05; done; ` +
      `echo "${role} on $SLURMD_NODENAME never saw ${waitFor.join(' ')}"; exit 1`;
    const headStep = srunArgv({
      nodes: 1,
      nodelist: head!,
      ntasksPerNode: 1,
      gpusPerNode: 2,
      overlap: true,
      command: ['bash', '-c', body('head', [...workers.map((w) => `started.worker.${w}`), 'user-step.done'])],
    });
    const workerStep = srunArgv({
      nodes: workers.length,
      nodelist: workers.join(','),
      ntasksPerNode: 1,
      gpusPerNode: 2,
      overlap: true,
      command: ['bash', '-c', body('worker', [`started.head.${head}`, 'user-step.done'])],
    });
    const q = (argv: string[]) => argv.map(shq).join(' ');
    const job = await submitScript(
      [
        'echo "batch $SLURMD_NODENAME $(hostname) nodes=$SLURM_JOB_NODELIST"',
        `${q(headStep)} & h=$!`,
        `${q(workerStep)} & w=$!`,
        // While the agents run, any other step must still start (no "Requested nodes are busy").
        `until [ -e ${shq(`started.head.${head}`)} ]; do sleep 0.05; done`,
        `timeout 10 srun --nodes=${names.length} --ntasks-per-node=1 true; echo "user-step rc=$?"; touch user-step.done`,
        'wait $h; hr=$?; wait $w; echo "rc head=$hr workers=$?"',
      ].join('\n'),
      { name: 'agents', sbatchArgs: [`--nodes=${names.length}`, `--nodelist=${names.join(',')}`, '--gpus-per-node=2'] },
    );
    const done = await waitForJobState(job.jobId, ['COMPLETED'], { timeoutMs: 60_000 });
    expect(expandHostlist(done.nodelist)).toEqual(names);
    const lines = jobOutput(job.outputPath).trim().split('\n');
    expect(lines).toContain(`batch ${head} ${head} nodes=${done.nodelist}`);
    expect(lines.filter((l) => l.startsWith('head '))).toEqual([
      expect.stringMatching(new RegExp(`^head ${head} ${head} gpus=0,1 step=\\d+$`)),
    ]);
    const workerLines = lines.filter((l) => l.startsWith('worker ')).sort();
    expect(workerLines).toHaveLength(workers.length);
    workers.forEach((w, i) => expect(workerLines[i]).toMatch(new RegExp(`^worker ${w} ${w} gpus=0,1 step=\\d+$`)));
    expect(lines).toContain('user-step rc=0');
    expect(lines).toContain('rc head=0 workers=0');
  });

  it('scancel leaves no process of the job on any node, double-forked ones included', async () => {
    const names = await clusterNodes();
    const step = srunArgv({
      nodes: names.length,
      nodelist: names.join(','),
      ntasksPerNode: 1,
      overlap: true,
      command: ['bash', '-c', '( setsid sleep 300 & ); sleep 300'],
    });
    const job = await submitScript(`sleep 300 &\n${step.map(shq).join(' ')}\nwait`, {
      name: 'orphans',
      sbatchArgs: [`--nodes=${names.length}`],
    });
    await waitForJobState(job.jobId, ['RUNNING'], { timeoutMs: 30_000 });
    // Two sleeps per node (step task + escaped child) plus the batch shell's own.
    const before = await until(
      'the job to have its sleeps on every node',
      async () => {
        const ps = jobProcesses(job.jobId).filter((p) => p.cmdline === 'sleep 300');
        return ps.length >= 2 * names.length + 1 ? ps : undefined;
      },
      15_000,
    );
    expect(new Set(before.map((p) => p.node))).toEqual(new Set(names));

    await cancel({ jobId: job.jobId });
    await waitForJobEnd(job.jobId, { timeoutMs: 30_000 });
    expect(jobProcesses(job.jobId)).toEqual([]);
  });
});
