// The probe phase on the real test cluster: a port of the block a held job will get (predicted
// with `raysl check-ports --job-id`) is bound on node2's address by this test; once released, the
// job moves to another block, says so in controller.log (port, node, holder) and succeeds.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckPortsReport } from '../../src/cli/check-ports.js';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { holdEntrypoint, newJobRoot, raysl, rayslDone, submittedId, waitForStatus } from './raysl-cli.js';

const conf = slurmConf();
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('a taken port on the test cluster', () => {
  it('moves a job to another block and names the port, node2 and this process', async () => {
    const jobRoot = newJobRoot('port-move');
    const hold = holdEntrypoint(jobRoot);
    const job = raysl(['submit', '-N', '2', '-c', '2', '--sbatch-arg=--nodelist=node[1-2]', '--sbatch-arg=--hold', '--job-dir', jobRoot, hold.path, '--follow']);
    const jobId = await submittedId(job);
    const predicted = await rayslDone(['--json', 'check-ports', '-w', 'node[1-2]', '--runtime', 'builtin', '--job-id', jobId]);
    expect(predicted.code, predicted.stderr).toBe(0);
    const first = (JSON.parse(predicted.stdout) as CheckPortsReport).block!.first;
    // node2's address (all test nodes share this host's network): the builtin layout's agent port
    const s = createServer();
    servers.push(s);
    s.listen(first + 1, '127.0.1.2');
    await once(s, 'listening');
    await execa('scontrol', ['release', jobId], { env: { ...process.env, SLURM_CONF: conf } });

    const running = await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running', 60_000);
    expect(running.portBlock!.base).not.toBe(first);
    hold.release();
    expect(await job.exited, job.stderr()).toBe(0);
    const log = readFileSync(join(jobRoot, jobId, 'controller.log'), 'utf8');
    expect(log).toMatch(new RegExp(`port ${first + 1} \\(agent\\) taken on node2 by pid ${process.pid} \\(.*\\): moving the job to block \\d+-\\d+`));
    expect(log).toContain(`moving the job to block ${running.portBlock!.base}-${running.portBlock!.base + running.portBlock!.size - 1}`);
    expect(JSON.parse(readFileSync(join(jobRoot, jobId, 'ports.json'), 'utf8'))).toMatchObject({ base: running.portBlock!.base });
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });
});
