// Faults of the real Ray (2.60) inside a raysl job on the Slurm test cluster: a daemon killed with
// SIGKILL while the entrypoint runs must end the job with exit 5 naming the node, and leave nothing
// behind. (scancel mid-run is in ray.test.ts, on two jobs sharing nodes.)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/core/status.js';
import { rayslJobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, raysl, submittedId, type Cli } from './raysl-cli.js';
import { activate, agentLog, cleanUp, holdPy, rayBinEnv, rayPortsOf, within } from './ray-helpers.js';

slurmConf();

/**
 * Starts a 2-node holding job, kills `daemon` (its binary path as in the command line, e.g.
 * '/raylet/raylet') of `node` with SIGKILL once the entrypoint runs, and returns what raysl did.
 */
async function killDaemon(
  name: string,
  node: string,
  daemon: string,
): Promise<{ code: number; stderr: string; jobRoot: string; jobId: string; killed: string }> {
  const jobRoot = newJobRoot(name);
  const hold = holdPy(jobRoot, 'hold');
  const clis: Cli[] = [];
  const ids: string[] = [];
  try {
    const c = raysl(
      [
        'submit',
        '-N',
        '2',
        '--cpus-per-task',
        '2',
        '--gpus-per-node',
        '1',
        '--job-dir',
        jobRoot,
        ...activate(),
        hold.path,
        '--follow',
      ],
      { env: rayBinEnv() },
    );
    clis.push(c);
    const jobId = await submittedId(c);
    ids.push(jobId);
    await c.waitFor(/^holding$/m, 200_000, 'stdout');
    const nodes = (JSON.parse(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8')) as JobStatus).nodes.map(
      (n) => n.name,
    );
    const target = nodes[node === 'head' ? 0 : 1]!;
    // the daemon: this job's (RAYSL_JOB_ID in its environment, or its temp dir on its command line),
    // on that node (its temp dir), the job's node-manager port for a raylet
    const { ports } = rayPortsOf(jobRoot, jobId);
    const matches = rayslJobProcesses(jobId).filter(
      (p) =>
        p.cmdline.includes(`${daemon} `) &&
        p.cmdline.includes(`/tmp/raysl-${jobId}/${target}/ray/`) &&
        (daemon !== '/raylet/raylet' || p.cmdline.includes(`--node_manager_port=${ports.node_manager} `)),
    );
    expect(
      matches.map((p) => p.node),
      `${daemon} of job ${jobId} on ${target}`,
    ).toEqual([target]);
    process.kill(matches[0]!.pid, 'SIGKILL');
    // generous: Ray's `ray start --block` notices a dead daemon within about a second
    const code = await within(c.exited, 30_000, `raysl to end job ${jobId} after ${daemon} on ${target} was killed`);
    await waitForJobEnd(jobId);
    expect(rayslJobProcesses(jobId), `processes of job ${jobId} still there`).toEqual([]);
    for (const n of nodes) expect(existsSync(`/tmp/raysl-${jobId}/${n}`), `/tmp/raysl-${jobId}/${n}`).toBe(false);
    expect(c.stdout()).not.toMatch(/^released$/m);
    return { code, stderr: c.stderr(), jobRoot, jobId, killed: target };
  } finally {
    hold.release();
    await cleanUp(clis, ids);
  }
}

describe('ray runtime on Slurm: Ray daemons dying (real Ray 2.60)', () => {
  it.concurrent("kill -9 of a worker node's raylet: the job exits 5 naming that node; nothing is left", {
    timeout: 300_000,
  }, async () => {
    const r = await killDaemon('ray-raylet-kill', 'worker', '/raylet/raylet');
    expect(r.code, r.stderr).toBe(5);
    // the error names what Ray reported dead, and the hint points at that node's log
    expect(r.stderr).toMatch(
      new RegExp(
        `^raysl: error: node ${r.killed} was lost while the job was running: its runtime exited .*: Ray reported raylet \\[exit code=-9\\]`,
        'm',
      ),
    );
    expect(r.stderr).toMatch(
      new RegExp(`^ {2}hint: read \\S+agent-${r.killed}\\.log; pass --continue-on-node-loss`, 'm'),
    );
    // Ray's own report, in that node's agent log
    const log = agentLog(r.jobRoot, r.jobId, r.killed);
    expect(log).toMatch(new RegExp(`\\[${r.killed}\\] ray: .*Some Ray subprocesses exited unexpectedly:`));
    expect(log).toMatch(/ray: .*raylet.*\[exit code=-9\]/);
    const s = JSON.parse(readFileSync(join(r.jobRoot, r.jobId, 'status.json'), 'utf8')) as JobStatus;
    expect(s).toMatchObject({ exitCode: 5 });
    expect(s.nodes.find((n) => n.name === r.killed)?.state).toBe('lost');
  });

  it.concurrent("kill -9 of the head's gcs_server: the job exits 5 naming the head node; nothing is left", {
    timeout: 300_000,
  }, async () => {
    const r = await killDaemon('ray-gcs-kill', 'head', '/gcs/gcs_server');
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(
      new RegExp(
        `^raysl: error: node ${r.killed} was lost while the job was running: its runtime exited .*: Ray reported gcs_server \\[exit code=-9\\]`,
        'm',
      ),
    );
    expect(r.stderr).toMatch(
      new RegExp(`^ {2}hint: read \\S+agent-${r.killed}\\.log; pass --continue-on-node-loss`, 'm'),
    );
    expect(agentLog(r.jobRoot, r.jobId, r.killed)).toMatch(/ray: .*gcs_server.*\[exit code=-9\]/);
  });
});
