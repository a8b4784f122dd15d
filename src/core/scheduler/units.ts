/**
 * Integer accounting. Floats drift (0.1 + 0.2 !== 0.3), so every amount is turned into whole units once,
 * at the edge, with Ray's precision: CPU in 1/1000, GPU shares and custom resources in 1/10000, memory
 * in whole MB. Anything finer, negative or not a number is refused with a sentence saying so.
 */
import type { ResourceRequest } from './types.js';

export const CPU_UNIT = 1000;
export const SHARE_UNIT = 10_000;
const MEM_UNIT = 1;
/** One whole GPU device, in share units. */
export const WHOLE_GPU = SHARE_UNIT;

/** A request in integer units. custom holds only keys with a positive amount, sorted by name. */
export interface Demand {
  cpu: number;
  mem: number;
  gpu: number;
  custom: ReadonlyArray<readonly [string, number]>;
}

export const ZERO_DEMAND: Demand = { cpu: 0, mem: 0, gpu: 0, custom: [] };

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const REQUEST_KEYS = new Set(['cpus', 'gpus', 'memoryMb', 'custom']);
/** Custom names that would shadow a built-in resource and silently mean something else. */
const RESERVED_CUSTOM = new Set(['cpu', 'cpus', 'gpu', 'gpus', 'memory', 'memorymb']);

function precisionWord(unit: number): string {
  return unit === 1 ? 'whole numbers' : `steps of ${1 / unit}`;
}

/** `value` (user units) as whole units, or the reason it cannot be. */
export function toUnits(what: string, value: unknown, unit: number): Parsed<number> {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return { ok: false, reason: `${what} must be a finite number, got ${JSON.stringify(value) ?? String(value)}` };
  }
  if (value < 0) return { ok: false, reason: `${what} must not be negative, got ${value}` };
  const scaled = value * unit;
  const units = Math.round(scaled);
  // Tolerance of float multiplication only (1.1 * 1000 = 1100.0000000000002); anything more is real precision.
  if (Math.abs(scaled - units) > 1e-9 * Math.max(1, scaled)) {
    return { ok: false, reason: `${what} ${value} is finer than raysl accounts for: use ${precisionWord(unit)}` };
  }
  if (!Number.isSafeInteger(units)) return { ok: false, reason: `${what} ${value} is too large to account for` };
  return { ok: true, value: units };
}

export function fromUnits(units: number, unit: number): number {
  // Division by a power of ten of an integer gives the nearest double to the decimal: 5000/10000 -> 0.5.
  return units / unit;
}

/**
 * Validates a request. `defaultCpus` applies when cpus is absent (a task's 1 CPU); bundles pass 0.
 * GPU amounts above one device must be whole: a device is shared only below 1 (Ray's rule).
 */
export function parseRequest(req: unknown, defaultCpus: number): Parsed<Demand> {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return {
      ok: false,
      reason: `a resource request must be an object like { cpus: 1, gpus: 0.5 }, got ${JSON.stringify(req) ?? String(req)}`,
    };
  }
  const r = req as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !REQUEST_KEYS.has(k));
  if (unknown.length > 0) {
    return {
      ok: false,
      reason: `unknown resource ${unknown.map((k) => JSON.stringify(k)).join(', ')}: use cpus, gpus, memoryMb or custom: { name: amount }`,
    };
  }
  const cpu = toUnits('cpus', r.cpus === undefined ? defaultCpus : r.cpus, CPU_UNIT);
  if (!cpu.ok) return cpu;
  const mem = toUnits('memoryMb', r.memoryMb ?? 0, MEM_UNIT);
  if (!mem.ok) return mem;
  const gpu = toUnits('gpus', r.gpus ?? 0, SHARE_UNIT);
  if (!gpu.ok) return gpu;
  if (gpu.value > WHOLE_GPU && gpu.value % WHOLE_GPU !== 0) {
    const g = r.gpus as number;
    return {
      ok: false,
      reason: `GPU requests above 1 must be whole numbers (Ray's rule): ask for ${Math.floor(g)} or ${Math.ceil(g)}, not ${g}`,
    };
  }
  const custom = parseCustom(r.custom);
  if (!custom.ok) return custom;
  return { ok: true, value: { cpu: cpu.value, mem: mem.value, gpu: gpu.value, custom: custom.value } };
}

export function parseCustom(custom: unknown): Parsed<Array<[string, number]>> {
  if (custom === undefined) return { ok: true, value: [] };
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) {
    return { ok: false, reason: `custom must be an object of { name: amount }, got ${JSON.stringify(custom)}` };
  }
  const out: Array<[string, number]> = [];
  for (const [name, amount] of Object.entries(custom as Record<string, unknown>)) {
    if (name === '' || RESERVED_CUSTOM.has(name.toLowerCase())) {
      return {
        ok: false,
        reason: `custom resource name ${JSON.stringify(name)} is not allowed: use cpus, gpus or memoryMb for those`,
      };
    }
    const units = toUnits(`custom resource ${JSON.stringify(name)}`, amount, SHARE_UNIT);
    if (!units.ok) return units;
    if (units.value > 0) out.push([name, units.value]);
  }
  out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { ok: true, value: out };
}

/** A task's request with Ray's task default (1 CPU when cpus is not given); bundles get no default. */
export function taskRequest(req: ResourceRequest): ResourceRequest {
  return req.cpus === undefined ? { ...req, cpus: 1 } : req;
}

export function isEmptyDemand(d: Demand): boolean {
  return d.cpu === 0 && d.mem === 0 && d.gpu === 0 && d.custom.length === 0;
}

/** A stable key for "the same shape" of request. */
export function demandKey(d: Demand): string {
  return `${d.cpu}/${d.mem}/${d.gpu}/${d.custom.map(([k, v]) => `${k}=${v}`).join(',')}`;
}

/** "2 CPUs, 0.5 GPU, 1024 MB, 1 of ib" — for messages. */
export function describeDemand(d: Demand): string {
  const parts: string[] = [];
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  if (d.cpu > 0 || (d.gpu === 0 && d.mem === 0 && d.custom.length === 0))
    parts.push(plural(fromUnits(d.cpu, CPU_UNIT), 'CPU', 'CPUs'));
  if (d.gpu > 0) parts.push(plural(fromUnits(d.gpu, SHARE_UNIT), 'GPU', 'GPUs'));
  if (d.mem > 0) parts.push(`${d.mem} MB memory`);
  for (const [k, v] of d.custom) parts.push(`${fromUnits(v, SHARE_UNIT)} ${k}`);
  return parts.join(', ');
}

export function addDemands(a: Demand, b: Demand): Demand {
  const custom = new Map(a.custom);
  for (const [k, v] of b.custom) custom.set(k, (custom.get(k) ?? 0) + v);
  return {
    cpu: a.cpu + b.cpu,
    mem: a.mem + b.mem,
    gpu: a.gpu + b.gpu,
    custom: [...custom].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
  };
}
