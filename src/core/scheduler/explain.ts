/**
 * Why a request can never fit, as one sentence a user understands: what was asked, and what the
 * biggest place it could go has.
 */
import { canEverFit, type Pool } from './pool.js';
import { addDemands, describeDemand, fromUnits, SHARE_UNIT, WHOLE_GPU, ZERO_DEMAND, type Demand } from './units.js';
import { SEARCH_STEP_BUDGET } from './placement.js';
import type { Strategy } from './types.js';

/** A pool's whole capacity, as a Demand, to describe it. */
function capacityOf(p: Pool): Demand {
  return {
    cpu: p.cpuCap,
    mem: p.memCap,
    gpu: p.devices.reduce((a, d) => a + d.cap, 0),
    custom: [...p.customCap].filter(([, v]) => v > 0).sort(([a], [b]) => (a < b ? -1 : 1)),
  };
}

const gpuWord = (units: number) => `${fromUnits(units, SHARE_UNIT)} ${units === WHOLE_GPU ? 'GPU' : 'GPUs'}`;

/** Largest pool by one measure; `where` names it ("the largest node (n1)", "node n1", "bundle 0 of group g"). */
function largest(pools: readonly Pool[], measure: (p: Pool) => number): Pool {
  return pools.reduce((best, p) => (measure(p) > measure(best) ? p : best));
}

/**
 * `subject` asks for `d`, which fits none of `pools` even empty. `where(pool, many)` names a pool.
 * Checks one dimension at a time so the sentence names the one that is short.
 */
export function whyNeverFits(
  subject: string,
  d: Demand,
  pools: readonly Pool[],
  where: (p: Pool) => string,
  inBundles = false,
): string {
  const noSpan = inBundles ? '' : ', and one request never spans nodes';
  const asked = `${subject} asks for ${describeDemand(d)}`;
  if (pools.length === 0) return `${asked}, but no node has joined the cluster yet`;
  const cpu = largest(pools, (p) => p.cpuCap);
  if (d.cpu > cpu.cpuCap)
    return `${asked}, but ${where(cpu)} has ${describeDemand({ ...ZERO_DEMAND, cpu: cpu.cpuCap })}`;
  const mem = largest(pools, (p) => p.memCap);
  if (d.mem > mem.memCap) return `${asked}, but ${where(mem)} has ${mem.memCap} MB memory`;
  for (const [k, v] of d.custom) {
    const c = largest(pools, (p) => p.customCap.get(k) ?? 0);
    const has = c.customCap.get(k) ?? 0;
    if (v > has)
      return has === 0
        ? `${asked}, but no node offers the custom resource "${k}"`
        : `${asked}, but ${where(c)} has ${fromUnits(has, SHARE_UNIT)} ${k}`;
  }
  if (d.gpu > 0 && d.gpu < WHOLE_GPU) {
    const g = largest(pools, (p) => Math.max(0, ...p.devices.map((x) => x.cap)));
    const best = Math.max(0, ...g.devices.map((x) => x.cap));
    if (d.gpu > best)
      return best === 0
        ? `${asked}, but ${where(g)} has no GPU`
        : `${asked}, but ${where(g)} holds at most ${gpuWord(best)} of one device`;
  }
  if (d.gpu >= WHOLE_GPU) {
    const whole = (p: Pool) => p.devices.filter((x) => x.cap === WHOLE_GPU).length;
    const g = largest(pools, whole);
    if (d.gpu / WHOLE_GPU > whole(g)) {
      const has = whole(g) === 0 ? 'no whole GPU' : gpuWord(whole(g) * WHOLE_GPU);
      return `${asked}, but ${where(g)} has ${has}${noSpan}`;
    }
  }
  const big = largest(pools, (p) => p.devices.length * 1e12 + p.cpuCap);
  return `${asked}, but no single ${inBundles ? 'bundle' : 'node'} has all of it at once${inBundles ? '' : ' (one request never spans nodes)'}; ${where(big)} has ${describeDemand(capacityOf(big))}`;
}

export const largestNode = (pools: readonly Pool[]) => (p: Pool) =>
  pools.length === 1 ? `node ${p.name}` : `the largest node (${p.name})`;

/** Why a placement group can never be placed, even on the empty cluster. */
export function whyGroupNeverFits(
  group: string,
  bundles: readonly Demand[],
  strategy: Strategy,
  nodes: readonly Pool[],
  gaveUp: boolean,
): string {
  const name = `placement group ${group}`;
  if (nodes.length === 0) return `${name} asks for ${bundles.length} bundles, but no node has joined the cluster yet`;
  for (const [i, d] of bundles.entries()) {
    if (!nodes.some((p) => canEverFit(p, d)))
      return whyNeverFits(`bundle ${i} of ${name}`, d, nodes, largestNode(nodes));
  }
  if (gaveUp) {
    return `${name} (${bundles.length} bundles, ${strategy}) could not be placed within the search budget of ${SEARCH_STEP_BUDGET} steps: use fewer, larger bundles or a STRICT_ strategy`;
  }
  const sum = bundles.reduce(addDemands, ZERO_DEMAND);
  if (strategy === 'STRICT_PACK') {
    const big = largest(nodes, (p) => p.devices.length * 1e12 + p.cpuCap);
    return `${name} is STRICT_PACK: all ${bundles.length} bundles (${describeDemand(sum)} in total) must fit on one node, but none can hold them; the largest, ${big.name}, has ${describeDemand(capacityOf(big))}`;
  }
  if (strategy === 'STRICT_SPREAD') {
    if (bundles.length > nodes.length)
      return `${name} is STRICT_SPREAD: its ${bundles.length} bundles need ${bundles.length} distinct nodes, but the cluster has ${nodes.length}`;
    return `${name} is STRICT_SPREAD: each of its ${bundles.length} bundles needs a node of its own, but the nodes cannot hold them one each (bundles: ${bundles.map(describeDemand).join('; ')})`;
  }
  const total = nodes.map(capacityOf).reduce(addDemands, ZERO_DEMAND);
  return `${name} asks for ${describeDemand(sum)} in ${bundles.length} bundles, which do not fit in the cluster together (${nodes.length} nodes, ${describeDemand(total)} in all)`;
}
