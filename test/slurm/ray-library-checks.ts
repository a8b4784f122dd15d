/**
 * What the tests of Ray's libraries on raysl (ray-libraries.test.ts, ray-jobs-api.test.ts) check
 * alike: an example's own "ok"/"FAIL" lines, that nothing of a job is left, and which ports a job
 * listens on outside its block.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { expect } from 'vitest';
import { parseProcNetTcp } from '../../src/agent/port-probe.js';
import { rayslJobProcesses, waitForJobEnd } from './helpers.js';
import { portBlockOf } from './ray-helpers.js';

/** The lines an example prints about its own checks ("ok  ..." / "FAIL ..."). */
export function checks(out: string): { ok: string[]; failed: string[] } {
  const lines = out.split('\n');
  return { ok: lines.filter((l) => l.startsWith('ok   ')), failed: lines.filter((l) => l.startsWith('FAIL ')) };
}

/** The job ended on Slurm, no process of it is left on any node and its temp dir is gone. */
export async function expectNothingLeft(jobId: string): Promise<void> {
  await waitForJobEnd(jobId);
  expect(rayslJobProcesses(jobId), `processes of job ${jobId} still there`).toEqual([]);
  expect(existsSync(`/tmp/raysl-${jobId}`), `/tmp/raysl-${jobId} still there`).toBe(false);
}

/** TCP ports a process listens on (its network namespace's LISTEN sockets whose inode it holds). */
function listenPortsOf(pid: number): number[] {
  try {
    const mine = new Set(
      readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      }),
    );
    const table = ['tcp', 'tcp6'].flatMap((t) => parseProcNetTcp(readFileSync(`/proc/${pid}/net/${t}`, 'utf8')));
    return table.filter((s) => mine.has(`socket:[${s.inode}]`)).map((s) => s.port);
  } catch {
    return []; // gone meanwhile
  }
}

export interface Listener {
  port: number;
  node: string;
  cmd: string;
}

/** Every port a job's processes listen on outside its block. */
export function listenersOutsideBlock(jobRoot: string, jobId: string): Listener[] {
  const b = portBlockOf(jobRoot, jobId);
  return rayslJobProcesses(jobId).flatMap((p) =>
    listenPortsOf(p.pid)
      .filter((port) => port < b.base || port >= b.base + b.size)
      .map((port) => ({ port, node: p.node, cmd: p.cmdline.slice(0, 80) })),
  );
}

const [ephemeralLow, ephemeralHigh] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
  .trim()
  .split(/\s+/)
  .map(Number) as [number, number];

/**
 * Listeners outside the block that nothing known explains. Known, on kernel-picked ports of the
 * ephemeral range (they cannot collide with a block, which sits below it, nor with each other):
 * Slurm's srun (its steps' I/O), and in Ray 2.60 each Serve replica's inter-deployment gRPC server
 * (ray/serve/_private/replica.py: add_port_to_grpc_server(self._server, "[::]:0")) and Train's
 * torch rendezvous and gloo (train/_internal/utils.py get_address_and_port: find_free_port()).
 */
export function unexplained(listeners: Listener[]): string[] {
  const known = /^(srun |ray::ServeReplica:|ray::RayTrainWorker|ray::_RayTrainWorker)/;
  return listeners
    .filter((l) => !known.test(l.cmd) || l.port < ephemeralLow || l.port > ephemeralHigh)
    .map((l) => `${l.port} on ${l.node}: ${l.cmd}`);
}
