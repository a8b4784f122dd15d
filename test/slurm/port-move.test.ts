// The probe phase on the real test cluster: a port of the block a held job will get (predicted
// with `raysl check-ports --job-id`) is bound on node2's address by a process this test starts in
// node2's network namespace; once released, the job moves to another block, says so in
// controller.log (port, node, holder) and succeeds.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckPortsReport } from '../../src/core/port-check.js';
import { clusterNode, jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { holdEntrypoint, newJobRoot, raysl, rayslDone, submittedId, waitForStatus } from './raysl-cli.js';

const conf = slurmConf();
const holders: ChildProcess[] = [];
afterAll(() => {
  for (const h of holders) h.kill('SIGKILL');
});

/**
 * Binds `port` on `node`'s address from inside the node's network namespace (nsenter execs node
 * there, so the returned child's pid is the holder) and resolves once it listens.
 */
async function holdPortOnNode(node: string, port: number): Promise<ChildProcess> {
  const { addr, netns } = clusterNode(node);
  const js =
    "const s = require('net').createServer(); s.listen(Number(process.argv[1]), process.argv[2], () => console.log('listening'));";
  const child = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', js, String(port), addr], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  holders.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`port holder on ${node} (${addr}:${port}) exited ${code}: ${err}`)));
    child.on('error', reject);
  });
  return child;
}

describe('a taken port on the test cluster', () => {
  it('moves a job to another block and names the port, node2 and the process holding it', async () => {
    const jobRoot = newJobRoot('port-move');
    const hold = holdEntrypoint(jobRoot);
    const job = raysl([
      'submit',
      '-N',
      '2',
      '-c',
      '2',
      '--sbatch-arg=--nodelist=node[1-2]',
      '--sbatch-arg=--hold',
      '--job-dir',
      jobRoot,
      hold.path,
      '--follow',
    ]);
    const jobId = await submittedId(job);
    const predicted = await rayslDone([
      '--json',
      'check-ports',
      '-w',
      'node[1-2]',
      '--runtime',
      'builtin',
      '--job-id',
      jobId,
    ]);
    expect(predicted.code, predicted.stderr).toBe(0);
    const first = (JSON.parse(predicted.stdout) as CheckPortsReport).block!.first;
    // the builtin layout's agent port, on node2 (its own network namespace)
    const holder = await holdPortOnNode('node2', first + 1);
    await execa('scontrol', ['release', jobId], { env: { ...process.env, SLURM_CONF: conf } });

    const running = await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running', 60_000);
    expect(running.portBlock!.base).not.toBe(first);
    hold.release();
    expect(await job.exited, job.stderr()).toBe(0);
    const log = readFileSync(join(jobRoot, jobId, 'controller.log'), 'utf8');
    expect(log).toMatch(
      new RegExp(
        `port ${first + 1} \\(agent\\) taken on node2 by pid ${holder.pid} \\(.*\\): moving the job to block \\d+-\\d+`,
      ),
    );
    expect(log).toContain(
      `moving the job to block ${running.portBlock!.base}-${running.portBlock!.base + running.portBlock!.size - 1}`,
    );
    expect(JSON.parse(readFileSync(join(jobRoot, jobId, 'ports.json'), 'utf8'))).toMatchObject({
      base: running.portBlock!.base,
    });
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });
});
