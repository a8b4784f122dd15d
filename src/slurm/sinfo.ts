/**
 * sinfo wrapper: argv builder and parsers (pure, tested on recorded output) plus one runner.
 * One node-oriented call lists every partition, so the default partition (marked "*") and an
 * unknown -p are both answered without a second round trip.
 */
import type { NodeFacts } from '../core/types.js';
import { SlurmError } from '../core/errors.js';
import { runSlurm, type SlurmRunOptions } from './exec.js';

/** Fields, "|"-separated (no node name, partition, state or GRES contains "|"): name, partition, CPUs, memory MB, GRES, compact state, features. */
const SINFO_NODE_FORMAT = '%N|%P|%c|%m|%G|%t|%f';

export function sinfoNodesArgv(): string[] {
  return ['sinfo', '--noheader', '--Node', '--format', SINFO_NODE_FORMAT];
}

export interface SinfoNodes {
  nodes: NodeFacts[];
  /** Every partition seen, in sinfo's order. */
  partitions: string[];
  /** The partition sinfo marks with "*", if any. */
  defaultPartition?: string;
}

/** Splits on commas outside parentheses: "gpu:a100:8(S:0,1),nvme:1" -> ["gpu:a100:8(S:0,1)", "nvme:1"]. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

/**
 * GPUs in a GRES string: "gpu:4" -> 4, "gpu:a100:8(S:0-1)" -> 8, "gpu:2,gpu:tesla:2" -> 4,
 * "(null)" -> 0, "gpu" -> 1 (Slurm's count defaults to 1), "nvme:1" -> 0.
 */
export function gpusInGres(gres: string): number {
  const g = gres.trim();
  if (g === '' || g === '(null)' || g === 'N/A') return 0;
  let total = 0;
  for (const entry of splitTopLevel(g)) {
    const spec = entry.replace(/\(.*\)$/, '');
    const parts = spec.split(':');
    if (parts[0] !== 'gpu') continue;
    const last = parts.length > 1 ? parts[parts.length - 1]! : '';
    const m = last.match(/^(\d+)([KMG])?$/i);
    if (!m) {
      total += 1;
      continue;
    }
    const mult = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as 'K' | 'M' | 'G'] ?? 1;
    total += Number(m[1]) * mult;
  }
  return total;
}

const toInt = (s: string): number => {
  const n = parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
};

/** Parses output of `sinfoNodesArgv()`; one line per (node, partition), merged per node. */
export function parseSinfoNodes(text: string): SinfoNodes {
  const byName = new Map<string, NodeFacts>();
  const partitions: string[] = [];
  let defaultPartition: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const f = line.split('|');
    if (f.length !== 7) {
      throw new SlurmError(
        `sinfo line ${i + 1}: expected 7 "|"-separated fields (${SINFO_NODE_FORMAT}), received ${JSON.stringify(raw)}`,
        {
          hint: 'a site sinfo wrapper may change the output; run `sinfo -N -h -o "%N|%P|%c|%m|%G|%t|%f"` by hand, or pass --no-check',
        },
      );
    }
    const [name, partRaw, cpus, mem, gres, state, features] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const isDefault = partRaw.endsWith('*');
    const partition = isDefault ? partRaw.slice(0, -1) : partRaw;
    if (isDefault) defaultPartition = partition;
    if (!partitions.includes(partition)) partitions.push(partition);
    const known = byName.get(name);
    if (known) {
      if (!known.partitions.includes(partition)) known.partitions.push(partition);
      return;
    }
    byName.set(name, {
      name,
      cpus: toInt(cpus),
      memoryMb: toInt(mem),
      gpus: gpusInGres(gres),
      gres,
      state: state.toLowerCase(),
      partitions: [partition],
      features: features === '(null)' || features === '' ? [] : features.split(','),
    });
  });
  return { nodes: [...byName.values()], partitions, ...(defaultPartition !== undefined ? { defaultPartition } : {}) };
}

export async function runSinfoNodes(opts: SlurmRunOptions = {}): Promise<SinfoNodes> {
  return parseSinfoNodes(await runSlurm(sinfoNodesArgv(), opts));
}
