// processAlive: the one "is this pid alive" check, against real processes (a live child, a zombie
// nobody reaps, a reaped pid, a pid whose recorded start time does not match).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localLauncher } from '../../src/launchers/local.js';
import { groupMembers } from '../../src/proc/group.js';
import { processAlive, processStartTicks, readProcStat } from '../../src/proc/identity.js';
import { pollUntil } from '../../src/proc/poll.js';

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
});

function start(script: string, detached = false): ChildProcess {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'], detached });
  children.push(child);
  return child;
}

async function firstLine(child: ChildProcess): Promise<string> {
  let text = '';
  for await (const chunk of child.stdout!) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!;
}

/**
 * A zombie: sh starts a short sleep in the background, prints its pid, then becomes `sleep 30`
 * (exec), a parent that never waits for children. Once the short sleep exits it stays a zombie
 * until `sleep 30` ends. (A child that exits before the exec may be reaped by sh itself.)
 */
async function zombie(): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = start('sleep 0.3 & echo $!; exec sleep 30', true);
  const pid = Number(await firstLine(parent));
  const z = await pollUntil(() => (readProcStat(pid)?.state === 'Z' ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 5,
    maxIntervalMs: 50,
  });
  expect(z.done).toBe(true);
  return { pid, parent };
}

describe('processAlive', () => {
  it('a running child is alive; with its recorded start time too, with another one not (a reused pid)', async () => {
    const child = start('echo up; exec sleep 30');
    await firstLine(child);
    const pid = child.pid!;
    const ticks = processStartTicks(pid);
    expect(ticks).toBeGreaterThan(0);
    expect(processAlive(pid)).toBe(true);
    expect(processAlive(pid, ticks)).toBe(true);
    expect(processAlive(pid, ticks! + 1)).toBe(false);
    expect(processAlive(pid, ticks! - 1)).toBe(false);
  });

  it('a zombie is dead though kill(pid, 0) still succeeds on it', async () => {
    const { pid, parent } = await zombie();
    expect(() => process.kill(pid, 0)).not.toThrow(); // what a kill(0)-only check would call alive
    expect(processAlive(pid)).toBe(false);
    expect(processStartTicks(pid)).toBeUndefined();
    // nor is it a live member of its process group (the detached parent's)
    expect(groupMembers(parent.pid!)).toEqual([parent.pid]);
  });

  it('a child that exited and was reaped is dead', async () => {
    const child = start('exit 0');
    const pid = child.pid!;
    await once(child, 'exit');
    expect(processAlive(pid)).toBe(false);
    const other = spawnSync('sh', ['-c', 'echo $$']);
    expect(processAlive(Number(String(other.stdout).trim()))).toBe(false);
  });

  it('this process is alive, with its own start time', () => {
    expect(processAlive(process.pid, processStartTicks(process.pid))).toBe(true);
  });

  it('a process whose name holds spaces and parentheses parses (comm may hold anything)', async () => {
    // exec -a sets argv[0] only; the kernel's comm is the file name, so copy sleep under an odd name
    const child = start('d=$(mktemp -d); cp "$(command -v sleep)" "$d/a) b (c"; echo "$d"; exec "$d/a) b (c" 30');
    const dir = await firstLine(child);
    const stat = await pollUntil(
      () => {
        const s = readProcStat(child.pid!);
        return s !== undefined &&
          spawnSync('cat', [`/proc/${child.pid}/comm`])
            .stdout.toString()
            .startsWith('a) b (c')
          ? s
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 5, maxIntervalMs: 50 },
    );
    spawnSync('rm', ['-rf', dir]);
    expect(stat.done).toBe(true);
    if (!stat.done) return;
    expect(stat.value.state).toMatch(/^[RS]$/);
    expect(stat.value.pgrp).toBe(readProcStat(process.pid)!.pgrp); // not detached: our own group
    expect(processAlive(child.pid!, stat.value.startTicks)).toBe(true);
  });
});

describe('the local launcher port registry', () => {
  it('a record whose controller is a zombie, or whose pid was reused, is stale and tidied; a live one counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raysl-registry-'));
    try {
      const { pid: zpid } = await zombie();
      const me = processStartTicks(process.pid)!;
      const rec = (jobId: string, base: number, pid: number, startTicks?: number) =>
        writeFileSync(
          join(dir, `${jobId}.json`),
          JSON.stringify({
            version: 1,
            jobId,
            base,
            size: 10,
            controller: '127.0.0.1:1',
            pid,
            ...(startTicks !== undefined ? { startTicks } : {}),
          }),
        );
      rec('zombie', 20000, zpid);
      rec('reused', 21000, process.pid, me + 1);
      rec('live', 22000, process.pid, me);
      rec('live-old-record', 23000, process.pid); // written before start times were recorded
      const blocks = await localLauncher({ registryDir: dir }).takenBlocks('mine', ['node1']);
      expect(blocks.map((b) => b.base).sort()).toEqual([22000, 23000]);
      expect(readdirSync(dir).sort()).toEqual(['live-old-record.json', 'live.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
