/**
 * Resource requests as a caller writes them -> the wire's ResourceRequest. Two spellings are
 * accepted, so code written for Ray reads naturally: raysl's `{ cpus, gpus, memoryMb, custom }`
 * and Ray's `{ CPU, GPU, memory, <custom name>: n }`. raysl counts memory in MB in both
 * spellings (Ray's `memory` is bytes: write MB here).
 */
import type { ResourceRequest } from '../protocol/api.js';
import { usageError } from './errors.js';

/** raysl's spelling; `custom` holds named resources (e.g. { trainer: 1 }). */
export interface RayslResources {
  cpus?: number;
  gpus?: number;
  memoryMb?: number;
  custom?: Record<string, number>;
}
/** Ray's spelling: CPU, GPU, memory (in MB here), anything else a custom resource. */
export type RayResources = { CPU?: number; GPU?: number; memory?: number } & Record<string, number | undefined>;
export type Resources = RayslResources | RayResources;

const builtinKeys = {
  cpus: 'cpus',
  CPU: 'cpus',
  gpus: 'gpus',
  GPU: 'gpus',
  memoryMb: 'memoryMb',
  memory: 'memoryMb',
} as const;
type Builtin = (typeof builtinKeys)[keyof typeof builtinKeys];

/** Spellings that are almost a builtin key: surely a typo, not a custom resource of that name. */
const nearMisses = new Set(['cpu', 'cpus', 'gpu', 'gpus', 'mem', 'memorymb', 'memory_mb', 'num_cpus', 'num_gpus']);

function checkAmount(where: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw usageError(`${where}: ${key} must be a number >= 0, got ${JSON.stringify(v)}`, `e.g. { gpus: 0.5 }`);
  }
  return v;
}

/**
 * Normalizes one request (a bundle, or a task's resources). `where` names it in errors
 * ("bundle 1", "run options"). Undefined amounts are left out; an empty request stays empty.
 */
export function normalizeResources(input: Resources, where: string): ResourceRequest {
  const out: ResourceRequest = {};
  const seen = new Map<Builtin, string>();
  const custom: Record<string, number> = {};
  const addCustom = (name: string, v: unknown) => {
    if (Object.hasOwn(custom, name))
      throw usageError(`${where}: custom resource ${JSON.stringify(name)} is given twice`, 'give each resource once');
    custom[name] = checkAmount(where, name, v);
  };
  for (const [key, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (key === 'custom') {
      if (typeof v !== 'object' || v === null)
        throw usageError(`${where}: custom must be an object of name -> amount`, 'e.g. { custom: { trainer: 1 } }');
      for (const [name, amount] of Object.entries(v as Record<string, unknown>))
        if (amount !== undefined) addCustom(name, amount);
      continue;
    }
    const builtin = Object.hasOwn(builtinKeys, key) ? builtinKeys[key as keyof typeof builtinKeys] : undefined;
    if (builtin === undefined) {
      if (nearMisses.has(key.toLowerCase())) {
        throw usageError(
          `${where}: unknown resource key ${JSON.stringify(key)}`,
          'raysl spells them cpus, gpus, memoryMb (or Ray-style CPU, GPU, memory in MB)',
        );
      }
      addCustom(key, v);
      continue;
    }
    const other = seen.get(builtin);
    if (other !== undefined)
      throw usageError(`${where}: both ${other} and ${key} are given`, `they mean the same resource; keep one`);
    seen.set(builtin, key);
    out[builtin] = checkAmount(where, key, v);
  }
  if (Object.keys(custom).length > 0) out.custom = custom;
  return out;
}

/** A task's resources from run/spawn options: top-level cpus/gpus/memoryMb plus `resources`. */
export function taskResources(
  opts: RayslResources & { resources?: Resources },
  where: string,
): ResourceRequest | undefined {
  const top = normalizeResources({ cpus: opts.cpus, gpus: opts.gpus, memoryMb: opts.memoryMb }, where);
  const extra = opts.resources === undefined ? {} : normalizeResources(opts.resources, `${where}.resources`);
  for (const k of ['cpus', 'gpus', 'memoryMb'] as const) {
    if (top[k] !== undefined && extra[k] !== undefined)
      throw usageError(`${where}: ${k} is given both directly and in resources`, 'keep one');
  }
  const merged: ResourceRequest = { ...extra, ...top };
  return Object.keys(merged).length > 0 ? merged : undefined;
}
