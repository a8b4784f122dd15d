// --iface on nodes that are separate hosts with two networks, like a real cluster: every test node
// has eth0 (Slurm's NodeAddr, the login node's network) and ib0 (a node-only fabric; dev-slurm.sh).
// A Ray job told `--iface ib0` must bind and talk over ib0 on every node, while raysl's own control
// plane stays on Slurm's addresses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { slurmConf, slurmDir } from './helpers.js';
import { newJobRoot, rayslDone, readJobStatus, root } from './raysl-cli.js';

slurmConf();

/** `<dir>/nodes.net`: node, eth0 address, netns path, ib0 address. */
function fabric(): Record<string, { eth0: string; ib0: string }> {
  const out: Record<string, { eth0: string; ib0: string }> = {};
  for (const line of readFileSync(join(slurmDir(), 'nodes.net'), 'utf8').trim().split('\n')) {
    const [node, eth0, , ib0] = line.split(' ');
    if (node && eth0 && ib0) out[node] = { eth0, ib0 };
  }
  return out;
}

describe('--iface on a multi-homed cluster', () => {
  it('a Ray job with --iface ib0 binds every node on its ib0 address and forms its cluster over the fabric', async () => {
    const net = fabric();
    expect(Object.keys(net).length).toBeGreaterThanOrEqual(2);
    const venv = inject('rayVenvBin');
    const jobRoot = newJobRoot('iface');
    const r = await rayslDone(
      [
        'submit',
        '-N',
        '2',
        '--gpus-per-node',
        '1',
        '--iface',
        'ib0',
        '--setup',
        `source ${venv}/activate`,
        '--job-dir',
        jobRoot,
        join(root, 'examples', 'train.py'),
        '--follow',
      ],
      { env: { RAYSL_RAY_BIN: inject('rayBin') } },
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^checks: all passed$/m);
    const jobId = /submitted job (\d+)/.exec(r.stderr)![1]!;
    const status = readJobStatus(jobRoot, jobId)!;
    const head = status.nodes.find((n) => n.role === 'head')!.name;
    const worker = status.nodes.find((n) => n.role === 'worker')!.name;
    const n1 = net[head]!;
    const n2 = net[worker]!;
    expect(n1.ib0).not.toBe(n1.eth0);
    // Ray's tasks ran on the ib0 addresses: that is the address each raylet registered with
    expect(r.stdout).toContain(`gpu task on ${n1.ib0} (${head})`);
    expect(r.stdout).toContain(`gpu task on ${n2.ib0} (${worker})`);
    expect(r.stdout).toMatch(
      new RegExp(`Connecting to existing Ray cluster at address: ${n1.ib0.replaceAll('.', '\\.')}:\\d+`),
    );
    const log = (node: string): string => readFileSync(join(jobRoot, jobId, `agent-${node}.log`), 'utf8');
    expect(log(head)).toMatch(
      new RegExp(` start --head --port=\\d+ --node-ip-address=${n1.ib0.replaceAll('.', '\\.')} `),
    );
    expect(log(head)).toContain(`--dashboard-host=${n1.ib0} `);
    // the worker was pointed at the head's ib0 address, which only the head's agent knew
    expect(log(worker)).toMatch(
      new RegExp(
        ` start --address=${n1.ib0.replaceAll('.', '\\.')}:\\d+ --node-ip-address=${n2.ib0.replaceAll('.', '\\.')} `,
      ),
    );
    // raysl's control server stays on Slurm's address for the node
    expect(status.controller).toMatch(new RegExp(`^${n1.eth0.replaceAll('.', '\\.')}:\\d+$`));
  }, 180_000);
});
