/**
 * Cluster facts, gathered once before planning (STYLE.md, "Facts, then plan"): the partition's
 * nodes from sinfo, the Slurm version (sbatch --version, refused below the oldest supported release),
 * and the login node's ephemeral port range.
 */
import { readFileSync } from 'node:fs';
import { RayslError, SlurmError, UsageError } from '../core/errors.js';
import type { ClusterFacts, NodeFacts } from '../core/types.js';
import { runSinfoNodes } from '../slurm/sinfo.js';
import { runSlurmVersion } from '../slurm/version.js';
import { slurmSupport, type SlurmVersion } from '../core/slurm-support.js';
import type { SlurmExec } from '../slurm/exec.js';
import type { Io } from './io.js';

// Linux's default; used only where /proc is not there to ask (the value is then a guess, said so nowhere
// else because every Slurm node is Linux).
const LINUX_DEFAULT_EPHEMERAL: [number, number] = [32768, 60999];

/** /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999"). */
export function readEphemeralPortRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)
      return [lo, hi];
  } catch {
    // not Linux, or /proc not mounted
  }
  return LINUX_DEFAULT_EPHEMERAL;
}

export interface GatherOptions {
  partition?: string;
  noCheck?: boolean;
  /** Injected runner (tests); default runs the real sinfo. */
  exec?: SlurmExec;
}

export async function gatherFacts(opts: GatherOptions, io: Io): Promise<ClusterFacts> {
  const ephemeralPortRange = readEphemeralPortRange();
  if (opts.noCheck) {
    io.stderr.write(
      'raysl: warning: --no-check: not asking sinfo; GPUs, CPUs and node counts are not checked against the partition\n',
    );
    return { source: 'none', ...(opts.partition ? { partition: opts.partition } : {}), nodes: [], ephemeralPortRange };
  }
  const run = { env: io.env, timeoutMs: 30_000, ...(opts.exec ? { exec: opts.exec } : {}) };
  let listed: Awaited<ReturnType<typeof runSinfoNodes>>;
  let version: SlurmVersion;
  try {
    [listed, version] = await Promise.all([runSinfoNodes(run), runSlurmVersion(run)]);
  } catch (err) {
    if (err instanceof RayslError) {
      throw new SlurmError(err.message, {
        hint: `${err.hint ?? 'check that sinfo works'}; or pass --no-check to go on without cluster facts`,
        cause: err,
        ...(err.details ? { details: err.details } : {}),
      });
    }
    throw err;
  }
  const { warning } = slurmSupport(version);
  if (warning !== undefined) io.stderr.write(`raysl: warning: ${warning}\n`);
  const partition = opts.partition ?? listed.defaultPartition;
  if (partition === undefined) {
    throw new UsageError('no partition given and the cluster has no default partition', {
      hint: `pass -p with one of: ${listed.partitions.join(', ') || '(sinfo listed none)'}`,
    });
  }
  if (!listed.partitions.includes(partition)) {
    throw new UsageError(
      `partition ${JSON.stringify(partition)} does not exist (sinfo lists: ${listed.partitions.join(', ') || 'none'})`,
      {
        hint: 'pick one of those with -p, or check the spelling',
        details: { partitions: listed.partitions },
      },
    );
  }
  return {
    source: 'sinfo',
    slurmVersion: version.text,
    partition,
    nodes: listed.nodes.filter((n) => n.partitions.includes(partition)),
    ephemeralPortRange,
  };
}

/** Facts for the local launcher: N identical simulated nodes node1..nodeN, all idle. */
export function localFacts(nodes: number, perNode: { cpus: number; gpus: number; memoryMb: number }): ClusterFacts {
  const list: NodeFacts[] = Array.from({ length: nodes }, (_, i) => ({
    name: `node${i + 1}`,
    cpus: perNode.cpus,
    memoryMb: perNode.memoryMb,
    gpus: perNode.gpus,
    gres: perNode.gpus > 0 ? `gpu:${perNode.gpus}` : '(null)',
    state: 'idle',
    partitions: ['local'],
    features: [],
  }));
  return { source: 'local', partition: 'local', nodes: list, ephemeralPortRange: readEphemeralPortRange() };
}
