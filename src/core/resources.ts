/**
 * Custom resources (--resources): names and amounts each node advertises to the scheduler (the
 * builtin runtime's, or Ray's through `ray start --resources`). A grant applies to a set of nodes
 * picked by index in allocation order (0 = the head); later grants override earlier ones name by
 * name, so flags override a profile. Pure: parsing, validation, and one node's map.
 */
import { UsageError } from './errors.js';

/** Nodes a grant applies to: every node, the head, every node but the head, or indices from..to (inclusive). */
export type NodeSelector = 'all' | 'head' | 'workers' | { from: number; to: number };

export interface ResourceGrant {
  nodes: NodeSelector;
  resources: Record<string, number>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_:-]{0,63}$/;
// Ray computes these itself (from --num-cpus, --num-gpus, --memory, ...) or per node (node:<ip>)
const RESERVED = new Set(['CPU', 'GPU', 'memory', 'object_store_memory']);
const EXAMPLE = `e.g. --resources '{"trainer": 1}' or --resources 'head={"ps": 1}'`;

function refuse(message: string, hint: string): UsageError {
  return new UsageError(`--resources: ${message}`, { hint });
}

function validateResourceName(name: string): void {
  if (RESERVED.has(name) || name.startsWith('node:')) {
    throw refuse(
      `${name} is a resource Ray sets itself`,
      'CPUs, GPUs and memory come from -c, --gpus-per-node and --mem; pick another name for a custom resource',
    );
  }
  if (!NAME.test(name) || name === '__proto__') {
    throw refuse(
      `resource name ${JSON.stringify(name)} is not valid`,
      'names start with a letter or _, then letters, digits, _ : - (at most 64 characters)',
    );
  }
}

/** Finite, >= 0, at most 4 decimals (Ray's resource granularity is 0.0001). */
function validateResourceAmount(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || Math.round(value * 1e4) / 1e4 !== value) {
    throw refuse(
      `${name}: expected a number >= 0 with at most 4 decimals, received ${JSON.stringify(value) ?? String(value)}`,
      'e.g. {"trainer": 1} or {"slot": 0.25}',
    );
  }
  return value;
}

/** A decoded map -> validated resources (names and amounts). */
export function validateResourceMap(map: unknown): Record<string, number> {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw refuse(`expected a JSON object of name: amount, received ${JSON.stringify(map)}`, EXAMPLE);
  }
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(map)) {
    validateResourceName(name);
    out[name] = validateResourceAmount(name, value);
  }
  return out;
}

/** "all" | "head" | "workers" | "N" | "N-M" -> a selector. */
export function parseNodeSelector(raw: string): NodeSelector {
  if (raw === 'all' || raw === 'head' || raw === 'workers') return raw;
  const m = raw.match(/^(\d{1,6})(?:-(\d{1,6}))?$/);
  const from = Number(m?.[1]);
  const to = m?.[2] === undefined ? from : Number(m[2]);
  if (!m || to < from) {
    throw refuse(
      `node selector ${JSON.stringify(raw)} is not all, head, workers, N or N-M`,
      'nodes are numbered in allocation order from 0 (the head), e.g. --resources \'1-3={"x": 1}\'',
    );
  }
  return { from, to };
}

/** One --resources value: `{json}` (every node) or `<selector>={json}`. */
export function parseResourcesFlag(raw: string): ResourceGrant {
  const brace = raw.indexOf('{');
  if (brace < 0)
    throw refuse(`expected a JSON object, optionally after <nodes>=, received ${JSON.stringify(raw)}`, EXAMPLE);
  const prefix = raw.slice(0, brace).trim();
  if (prefix !== '' && !prefix.endsWith('='))
    throw refuse(`expected <nodes>={json}, received ${JSON.stringify(raw)}`, EXAMPLE);
  const nodes = prefix === '' ? 'all' : parseNodeSelector(prefix.slice(0, -1).trim());
  let decoded: unknown;
  try {
    decoded = JSON.parse(raw.slice(brace));
  } catch (err) {
    throw refuse(
      `${JSON.stringify(raw.slice(brace))} is not JSON (${err instanceof Error ? err.message : String(err)})`,
      `quote it for the shell: ${EXAMPLE}`,
    );
  }
  return { nodes, resources: validateResourceMap(decoded) };
}

/** Grants of a job -> checked against its node count (an index past the last node is a mistake, not a no-op). */
export function checkGrants(grants: readonly ResourceGrant[], nodes: number): void {
  for (const g of grants) {
    validateResourceMap(g.resources);
    if (typeof g.nodes === 'object' && g.nodes.to >= nodes) {
      throw refuse(
        `node ${g.nodes.to} does not exist: the job has ${nodes} node${nodes === 1 ? '' : 's'} (0 to ${nodes - 1})`,
        'nodes are numbered in allocation order from 0 (the head); raise -N or lower the index',
      );
    }
  }
}

function applies(sel: NodeSelector, node: { index: number; role: 'head' | 'worker' }): boolean {
  if (sel === 'all') return true;
  if (sel === 'head') return node.role === 'head';
  if (sel === 'workers') return node.role === 'worker';
  return node.index >= sel.from && node.index <= sel.to;
}

/** The custom resources one node advertises: every grant that applies to it, later ones winning name by name. */
export function customResourcesFor(
  grants: readonly ResourceGrant[] | undefined,
  node: { index: number; role: 'head' | 'worker' },
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of grants ?? []) if (applies(g.nodes, node)) Object.assign(out, g.resources);
  return out;
}

/** A grant as the user would write it again: `head={"ps":1}`. */
export function describeGrant(g: ResourceGrant): string {
  const sel =
    typeof g.nodes === 'object'
      ? g.nodes.from === g.nodes.to
        ? `${g.nodes.from}`
        : `${g.nodes.from}-${g.nodes.to}`
      : g.nodes;
  return `${sel}=${JSON.stringify(g.resources)}`;
}
