/**
 * --preflight: a quick per-node health check in the allocation before the runtime starts. Pure
 * here: the thresholds (parsed from `--preflight-min shm=8G,disk=20G`), and the judgement of the
 * facts an agent gathered on its node (agent/preflight-phase.ts) into problems that name what is
 * wrong and a summary line for the log. The port block is not judged here: the probe phase that
 * follows finds a free one or moves the job (DESIGN.md, "Ports").
 */
import { UsageError } from './errors.js';
import { parseMemMb } from './option-values.js';

/** Lower bounds, in MiB. */
export interface PreflightMin {
  /** Size of /dev/shm (Ray's object store lives there; PyTorch's DataLoader workers share tensors through it). */
  shmMb: number;
  /** Free space where the node's scratch dir goes (Ray's session dir, spilled objects, the builtin runtime's files). */
  diskMb: number;
}

export const PREFLIGHT_DEFAULTS: PreflightMin = { shmMb: 1024, diskMb: 1024 };

const KEYS: Record<string, keyof PreflightMin> = { shm: 'shmMb', disk: 'diskMb' };

/** "shm=8G,disk=20G" (either or both; sizes as --mem takes them) -> thresholds over the defaults. */
export function parsePreflightMin(raw: string): PreflightMin {
  const out: PreflightMin = { ...PREFLIGHT_DEFAULTS };
  const hint = 'e.g. --preflight-min shm=8G,disk=20G (sizes as --mem takes them: 4096, 500M, 64G)';
  for (const part of raw.split(',')) {
    const [name, value, extra] = part.trim().split('=');
    const key = name !== undefined ? KEYS[name.trim()] : undefined;
    if (key === undefined || value === undefined || extra !== undefined) {
      throw new UsageError(`--preflight-min: expected shm=<size> and/or disk=<size>, received ${JSON.stringify(raw)}`, {
        hint,
      });
    }
    try {
      out[key] = parseMemMb(value);
    } catch {
      throw new UsageError(`--preflight-min: ${name} wants a size like 500M or 8G, received ${JSON.stringify(value)}`, {
        hint,
      });
    }
  }
  return out;
}

/** What an agent found on its node; undefined = could not be told (said in the summary, not a failure). */
export interface PreflightFacts {
  /** /dev/shm size in MiB, or null when there is no /dev/shm. */
  shmMb: number | null | undefined;
  /** Free MiB on the filesystem of the scratch dir, and that filesystem's path (its nearest existing ancestor). */
  disk: { path: string; freeMb: number } | undefined;
  /** GPUs Slurm bound to this node's agent, and GPUs the driver shows (nvidia-smi; undefined without one). */
  gpus: { granted: number; visible: number | undefined; smiError?: string };
  /** The runtime's executable, or why it was not found. */
  runtime: { name: string; found?: string; problem?: string };
}

export interface PreflightVerdict {
  problems: string[];
  /** One line for the agent's log: every fact, checked or not. */
  summary: string;
}

export function judgePreflight(f: PreflightFacts, min: PreflightMin): PreflightVerdict {
  const problems: string[] = [];
  if (f.shmMb === null) problems.push('/dev/shm does not exist');
  else if (f.shmMb !== undefined && f.shmMb < min.shmMb)
    problems.push(`/dev/shm has ${mib(f.shmMb)}, below the ${mib(min.shmMb)} asked for`);
  if (f.disk !== undefined && f.disk.freeMb < min.diskMb)
    problems.push(`${f.disk.path} has ${mib(f.disk.freeMb)} free, below the ${mib(min.diskMb)} asked for`);
  if (f.gpus.smiError !== undefined) problems.push(`nvidia-smi failed: ${f.gpus.smiError}`);
  else if (f.gpus.visible !== undefined && f.gpus.visible < f.gpus.granted) {
    problems.push(`Slurm bound ${f.gpus.granted} GPU(s) but the driver shows ${f.gpus.visible} (nvidia-smi)`);
  }
  if (f.runtime.problem !== undefined) problems.push(f.runtime.problem);
  const shm = f.shmMb === undefined ? 'unknown' : f.shmMb === null ? 'missing' : mib(f.shmMb);
  const disk = f.disk === undefined ? 'unknown' : `${mib(f.disk.freeMb)} free in ${f.disk.path}`;
  const gpus =
    f.gpus.granted === 0
      ? 'none bound'
      : f.gpus.visible === undefined
        ? `${f.gpus.granted} bound (no nvidia-smi: not checked against the driver)`
        : `${f.gpus.granted} bound, ${f.gpus.visible} visible`;
  const runtime =
    f.runtime.found !== undefined ? `${f.runtime.name} at ${f.runtime.found}` : `${f.runtime.name} not found`;
  return { problems, summary: `preflight: /dev/shm ${shm}; scratch ${disk}; GPUs ${gpus}; runtime ${runtime}` };
}

function mib(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GiB` : `${Math.floor(mb)} MiB`;
}
