// A worker agent killed with SIGKILL cannot remove its node-local scratch dir (<TMPDIR>/raysl-<job>/
// <node>); the controller's teardown does it with one srun step on the nodes whose agents did not end
// cleanly. The test cluster's nodes share /tmp, so the dir is visible from here.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { alive, holdEntrypoint, newJobRoot, raysl, submittedId, waitForStatus } from './raysl-cli.js';

slurmConf();

describe('raysl submit: nothing left after an agent is killed', () => {
  it("SIGKILL of a worker agent: exit 5, and its node's scratch dir is removed by the teardown", async () => {
    const jobRoot = newJobRoot('leftdir');
    const hold = holdEntrypoint(jobRoot);
    const c = raysl(['submit', '-N', '2', '--job-dir', jobRoot, hold.path, '--follow'], { env: { TMPDIR: tmpdir() } });
    const jobId = await submittedId(c);
    const s = await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running');
    await c.waitFor(/holding until/, 30_000, 'stdout');
    const scratch = join(tmpdir(), `raysl-${jobId}`, 'node2');
    expect(existsSync(scratch), `${scratch} while node2's agent runs`).toBe(true);
    const victim = s.nodes.find((n) => n.name === 'node2')!;
    expect(alive(victim.pid!)).toBe(true);
    process.kill(victim.pid!, 'SIGKILL');
    expect(await c.exited, c.stderr()).toBe(5);
    await waitForJobEnd(jobId);
    expect(existsSync(scratch), `${scratch} after the job`).toBe(false);
    expect(existsSync(join(tmpdir(), `raysl-${jobId}`))).toBe(false);
    expect(jobProcesses(jobId)).toEqual([]);
  });
});
