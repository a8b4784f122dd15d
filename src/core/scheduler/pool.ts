/**
 * One pool of capacity: a node, or a reserved placement-group bundle (a sub-pool cut from a node).
 * Scalars (CPU, memory, custom) are amounts; GPUs are concrete devices, each with its own free share,
 * because "0.5 GPU" must name the device the task may use.
 */
import { fromUnits, CPU_UNIT, SHARE_UNIT, WHOLE_GPU, type Demand } from './units.js';
import type { Grant } from './types.js';

export interface Device {
  id: string;
  /** Share units this pool owns of the device: a whole one for a node, maybe less in a bundle. */
  cap: number;
  free: number;
}

export interface Pool {
  name: string;
  cpuCap: number;
  cpuFree: number;
  memCap: number;
  memFree: number;
  customCap: Map<string, number>;
  customFree: Map<string, number>;
  devices: Device[];
}

/** What a task or bundle holds, in units: released exactly as taken. */
export interface Holding {
  node: string;
  cpu: number;
  mem: number;
  custom: ReadonlyArray<readonly [string, number]>;
  gpus: Array<{ id: string; units: number }>;
}

export function newPool(
  name: string,
  cpu: number,
  mem: number,
  custom: Iterable<readonly [string, number]>,
  devices: Array<{ id: string; cap: number }>,
): Pool {
  const customCap = new Map(custom);
  return {
    name,
    cpuCap: cpu,
    cpuFree: cpu,
    memCap: mem,
    memFree: mem,
    customCap,
    customFree: new Map(customCap),
    devices: devices.map((d) => ({ id: d.id, cap: d.cap, free: d.cap })),
  };
}

/** A bundle's reservation as a pool of its own; tasks inside the group allocate from it. */
export function poolOfHolding(h: Holding): Pool {
  return newPool(
    h.node,
    h.cpu,
    h.mem,
    h.custom,
    h.gpus.map((g) => ({ id: g.id, cap: g.units })),
  );
}

/**
 * Which devices a GPU amount would take (indexes into `devices`), or undefined.
 * Below one GPU: a share of ONE device, best fit (the device with the least free share that still
 * fits, first on ties), so two 0.5 tasks share a device and whole devices stay whole.
 * One or more: that many distinct devices that are whole and completely free.
 * `empty` asks the question of the pool with nothing allocated (can it EVER fit).
 */
function pickDevices(
  devices: readonly Device[],
  gpu: number,
  empty = false,
): Array<{ index: number; units: number }> | undefined {
  if (gpu === 0) return [];
  if (gpu < WHOLE_GPU) {
    let best = -1;
    let bestFree = Infinity;
    devices.forEach((d, i) => {
      const free = empty ? d.cap : d.free;
      if (free >= gpu && free < bestFree) {
        best = i;
        bestFree = free;
      }
    });
    return best < 0 ? undefined : [{ index: best, units: gpu }];
  }
  const want = gpu / WHOLE_GPU;
  const picked: Array<{ index: number; units: number }> = [];
  for (let i = 0; i < devices.length && picked.length < want; i++) {
    const d = devices[i]!;
    if (d.cap === WHOLE_GPU && (empty || d.free === d.cap)) picked.push({ index: i, units: WHOLE_GPU });
  }
  return picked.length === want ? picked : undefined;
}

function fitsScalars(pool: Pool, d: Demand, empty = false): boolean {
  if (d.cpu > (empty ? pool.cpuCap : pool.cpuFree)) return false;
  if (d.mem > (empty ? pool.memCap : pool.memFree)) return false;
  const custom = empty ? pool.customCap : pool.customFree;
  return d.custom.every(([k, v]) => v <= (custom.get(k) ?? 0));
}

/** Could `d` fit in this pool if everything in it were released? */
export function canEverFit(pool: Pool, d: Demand): boolean {
  return fitsScalars(pool, d, true) && pickDevices(pool.devices, d.gpu, true) !== undefined;
}

/** Takes `d` from the pool, or returns undefined and changes nothing. */
export function allocate(pool: Pool, d: Demand): Holding | undefined {
  if (!fitsScalars(pool, d)) return undefined;
  const picked = pickDevices(pool.devices, d.gpu);
  if (!picked) return undefined;
  pool.cpuFree -= d.cpu;
  pool.memFree -= d.mem;
  for (const [k, v] of d.custom) pool.customFree.set(k, pool.customFree.get(k)! - v);
  const gpus = picked.map(({ index, units }) => {
    const dev = pool.devices[index]!;
    dev.free -= units;
    return { id: dev.id, units };
  });
  return { node: pool.name, cpu: d.cpu, mem: d.mem, custom: d.custom, gpus };
}

/** Takes a holding chosen elsewhere (the placement search); the caller has checked that it fits. */
export function take(pool: Pool, h: Holding): void {
  pool.cpuFree -= h.cpu;
  pool.memFree -= h.mem;
  for (const [k, v] of h.custom) pool.customFree.set(k, (pool.customFree.get(k) ?? 0) - v);
  for (const g of h.gpus) device(pool, g.id).free -= g.units;
}

export function release(pool: Pool, h: Holding): void {
  pool.cpuFree += h.cpu;
  pool.memFree += h.mem;
  for (const [k, v] of h.custom) pool.customFree.set(k, (pool.customFree.get(k) ?? 0) + v);
  for (const g of h.gpus) device(pool, g.id).free += g.units;
}

function device(pool: Pool, id: string): Device {
  const d = pool.devices.find((x) => x.id === id);
  if (!d) throw new Error(`internal: pool ${pool.name} has no GPU ${id}`);
  return d;
}

export function toGrant(h: Holding): Grant {
  const custom: Record<string, number> = {};
  for (const [k, v] of h.custom) custom[k] = fromUnits(v, SHARE_UNIT);
  return {
    node: h.node,
    cpus: fromUnits(h.cpu, CPU_UNIT),
    memoryMb: h.mem,
    custom,
    gpus: h.gpus.map((g) => ({ id: g.id, share: fromUnits(g.units, SHARE_UNIT) })),
  };
}
