// The probe phase end to end: a port of the job's first-choice block held on one simulated node
// (127.0.1.3) by a process we start moves the whole job to another block, logged with the port,
// the node and the holder; with no block left to try it fails with exit 4 naming them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocatePortBlock, formatBlock, portLayout, portRange } from '../../src/core/ports.js';
import { readEphemeralPortRange } from '../../src/cli/facts.js';
import { localLauncher } from '../../src/launchers/local.js';
import { agentPids, allGone, ensureBuilt, exitWithin, runLocal } from './helpers.js';
import { withFaults } from '../support/fault-env.js';

beforeAll(() => ensureBuilt(), 120_000);

const holders: ChildProcess[] = [];
afterAll(() => {
  for (const c of holders) if (c.exitCode === null) c.kill('SIGKILL');
});

/** A child process listening on host:port; resolves once it listens. */
async function holdPort(host: string, port: number): Promise<ChildProcess> {
  const code = `require('net').createServer().listen(${port},${JSON.stringify(host)},()=>console.log('LISTENING'));`;
  const child = spawn(process.execPath, ['-e', code, 'raysl-port-holder'], { stdio: ['ignore', 'pipe', 'pipe'] });
  holders.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('LISTENING') && resolve());
    child.once('exit', (c) => reject(new Error(`port holder exited with ${c}: ${err}`)));
  });
  return child;
}

/**
 * A first-choice block no other live local job holds, with its agent port held on node3 by us. Other
 * test files start local jobs at the same time: one may take the block between the choice and the
 * hold (the hold then fails to bind), so a few fresh choices are tried.
 */
async function firstChoiceHeld(): Promise<{
  first: { base: number; size: number };
  agentPort: number;
  holder: ChildProcess;
}> {
  for (let attempt = 1; ; attempt++) {
    const first = await firstChoice();
    const agentPort = first.base + 1; // the builtin layout's "agent" port
    try {
      return { first, agentPort, holder: await holdPort('127.0.1.3', agentPort) };
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

/** A first-choice block no other live local job holds (the job is told to try it first). */
async function firstChoice(): Promise<{ base: number; size: number }> {
  const taken = await localLauncher().takenBlocks('none', []);
  const size = portLayout('builtin', 4).size;
  return allocatePortBlock({ jobId: randomUUID(), size, range: portRange(readEphemeralPortRange()), taken });
}

describe('raysl run --local: a taken port moves the job', () => {
  it('moves the whole job to another block when a port is held on node3, and names port, node and holder', async () => {
    const { first, agentPort, holder } = await firstChoiceHeld();
    const job = runLocal(['-N', '4', 'examples/train.ts'], {
      env: withFaults({ RAYSL_TEST_FIRST_PORT_BASE: String(first.base) }),
    });
    const { code } = await exitWithin(job, 20_000);
    expect(code, job.stderr()).toBe(0);
    const s = job.status();
    expect(s.state).toBe('succeeded');
    expect(s.joined.sort()).toEqual(['node1', 'node2', 'node3', 'node4']);
    expect(s.portBlock).toBeDefined();
    expect(s.portBlock!.base).not.toBe(first.base);
    const moved = formatBlock(s.portBlock!);
    const log = readFileSync(join(job.jobDir(), 'controller.log'), 'utf8');
    expect(log).toMatch(
      new RegExp(
        `port ${agentPort} \\(agent\\) taken on node3 by pid ${holder.pid} \\(.*raysl-port-holder\\): moving the job to block \\d+-\\d+`,
      ),
    );
    // (a port of the next block taken too would move it again: the last move names where it ended)
    expect(log).toContain(`moving the job to block ${moved}`);
    // the record follows the move; the control server stayed where it first bound
    const ports = JSON.parse(readFileSync(join(job.jobDir(), 'ports.json'), 'utf8'));
    expect(ports).toMatchObject({ base: s.portBlock!.base, controller: `127.0.1.1:${first.base}` });
    // every agent started its runtime on the moved block, none on the first one
    for (const n of ['node1', 'node2', 'node3', 'node4']) {
      expect(readFileSync(join(job.jobDir(), `agent-${n}.log`), 'utf8')).toContain(`ports ${moved}`);
    }
    expect(await allGone(agentPids(s))).toEqual([]);
  });

  it('with --min-nodes below -N, a node that never reports its probe does not hold the others back', async () => {
    const job = runLocal(['-N', '4', '--min-nodes', '3', '--join-timeout', '30', 'examples/train.ts'], {
      env: withFaults({ RAYSL_TEST_SILENT_AGENT: 'node4' }),
    });
    const { code } = await exitWithin(job, 60_000);
    expect(code, job.stderr()).toBe(0);
    expect(job.stdout()).toMatch(/3 nodes, 12 CPUs/);
    const s = job.status();
    // decided after 3 clean probes, not by the 30 s join deadline: ready came before it, with node4 still pending
    const ready = s.timeline.find((e) => e.phase === 'ready');
    expect(ready?.t).toBeLessThan(30_000);
    expect(s.timeline.some((e) => e.phase === 'error')).toBe(false);
    expect(s.joined.sort()).toEqual(['node1', 'node2', 'node3']);
    expect(await allGone(agentPids(s))).toEqual([]);
  });

  it('fails with exit 4 naming the port, node and holder when every block tried has a taken port', async () => {
    const { first, agentPort, holder } = await firstChoiceHeld();
    const job = runLocal(['-N', '3', 'examples/train.ts'], {
      env: withFaults({ RAYSL_TEST_FIRST_PORT_BASE: String(first.base), RAYSL_TEST_PROBE_ATTEMPTS: '1' }),
    });
    const { code } = await exitWithin(job, 20_000);
    expect(code, job.stderr()).toBe(4);
    expect(job.stderr()).toMatch(
      new RegExp(
        `did not form: a port was taken in each of the 1 port block\\(s\\) tried \\(${formatBlock(first)}\\).*port ${agentPort} \\(agent\\) taken on node3 \\(127\\.0\\.1\\.3\\) by pid ${holder.pid} \\(.*raysl-port-holder\\)`,
      ),
    );
    expect(job.stderr()).toMatch(/hint: .*check-ports/);
    const s = job.status();
    expect(s).toMatchObject({ state: 'failed', exitCode: 4 });
    expect(s.timeline.map((e) => e.phase)).not.toContain('node-joined');
    expect(await allGone(agentPids(s))).toEqual([]);
  });
});
