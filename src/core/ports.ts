/**
 * Port blocks: where every port of one raysl job lives on a node (DESIGN.md, "Ports").
 * Pure: data in, data out. This comment is THE description of the layout; `describeLayout`
 * prints the same table for `render` and `check-ports`.
 *
 * A job owns one block [base, base + size) on every node it touches. Offsets inside a block:
 *
 *   runtime  offset        name                    what opens it
 *   -------  ------------  ----------------------  -------------------------------------------
 *   both     0             controller              raysl control server (head only)
 *   builtin  1             agent                   builtin runtime agent (every node)
 *   builtin  2-7           (spare)                 room for future named ports
 *   builtin  8-15          app (8 ports)           the user's own services (e.g. MASTER_PORT)
 *   builtin  16-47         service (32 ports)      cluster.spawn(): one per service ($RAYSL_SERVICE_PORT)
 *   ray      1             gcs                     ray start --port (GCS server)
 *   ray      2             node_manager            --node-manager-port (raylet)
 *   ray      3             object_manager          --object-manager-port
 *   ray      4             ray_client_server       --ray-client-server-port (head)
 *   ray      5             dashboard               --dashboard-port (head)
 *   ray      6             dashboard_grpc          --dashboard-grpc-port (head)
 *   ray      7             dashboard_agent_grpc    --dashboard-agent-grpc-port
 *   ray      8             dashboard_agent_listen  --dashboard-agent-listen-port (agent http)
 *   ray      9             metrics_export          --metrics-export-port
 *   ray      10            runtime_env_agent       --runtime-env-agent-port
 *   ray      11            autoscaler_metrics      AUTOSCALER_METRIC_PORT (head; Ray's default 44217)
 *   ray      12            dashboard_metrics       DASHBOARD_METRIC_PORT (head; Ray's default 44227)
 *   ray      13            serve_http              Ray Serve's HTTP proxy (every node; Ray's default 8000)
 *   ray      14            serve_grpc              Ray Serve's gRPC proxy (every node; Ray's default 9000)
 *   ray      15            serve_fallback_http     RAY_SERVE_FALLBACK_PROXY_HTTP_PORT (head; Ray's default 8500)
 *   ray      16            serve_fallback_grpc     RAY_SERVE_FALLBACK_PROXY_GRPC_PORT (head; Ray's default 9500)
 *   ray      17-24         app (8 ports)           the user's own services
 *   ray      25-...        worker (W ports)        --min-worker-port / --max-worker-port
 *
 * W = clamp(4 x CPUs per node, 64, 1024). Ray gives each worker process (task worker, actor,
 * driver, spill/restore IO worker) its own port from this range and holds it until the
 * process exits: one task worker per CPU, plus zero-CPU actors, drivers and churn, so 4 per CPU.
 * The floor keeps small nodes usable for actor-heavy jobs; the cap keeps a 256-CPU node's block
 * small enough that several jobs still fit below the ephemeral range.
 *
 * Every block size is rounded up to GRANULARITY and every base is a multiple of GRANULARITY, so
 * blocks of different sizes (ray on big nodes, builtin, ...) tile the range without odd gaps.
 *
 * Where blocks may sit: from MIN_BLOCK_PORT (20000: above the well-known and common service
 * ports and above Ray's default worker range 10002-19999) up to just below the kernel's ephemeral
 * range (outgoing connections take random ports from there; a listener inside it can be
 * stolen at any moment). Blocks also never cover Ray's own defaults (RAY_DEFAULT_PORTS), so a
 * raysl job does not collide with a hand-started Ray on a shared node.
 */
import { ExitCode, InternalError, RayslError, UsageError } from './errors.js';
import type { PortBlock, PortLayout, RuntimeName } from './types.js';

export const GRANULARITY = 64;
const MIN_BLOCK_PORT = 20000;
const MAX_PORT = 65535;
const APP_PORTS = 8;
/** Ports of the builtin runtime's services per node (cluster.spawn); a block has 64 ports anyway. */
const SERVICE_PORTS = 32;
const WORKER_PORTS_PER_CPU = 4;
const WORKER_PORTS_MIN = 64;
const WORKER_PORTS_MAX = 1024;

/** Ports a hand-started Ray takes by default (ray_constants.py / `ray start --help` / Ray docs). */
export const RAY_DEFAULT_PORTS: ReadonlyArray<{ name: string; first: number; last: number }> = [
  { name: 'Ray GCS (6379)', first: 6379, last: 6379 },
  { name: 'Ray object manager (8076)', first: 8076, last: 8076 },
  { name: 'Ray node manager (8077)', first: 8077, last: 8077 },
  { name: 'Ray dashboard (8265)', first: 8265, last: 8265 },
  { name: 'Ray client server (10001)', first: 10001, last: 10001 },
  { name: 'Ray worker ports (10002-19999)', first: 10002, last: 19999 },
  { name: 'Ray autoscaler metrics (44217)', first: 44217, last: 44217 },
  { name: 'Ray dashboard metrics (44227)', first: 44227, last: 44227 },
  { name: 'Ray dashboard agent http (52365)', first: 52365, last: 52365 },
];

/**
 * Every single port `ray start` opens, in layout order (offsets 1..12); the ray adapter pins each.
 * The last two have no flag: Ray 2.60's head binds them on 0.0.0.0 at fixed defaults unless the
 * environment names others (two heads on one host would collide there).
 */
export const RAY_PORT_NAMES = [
  'gcs',
  'node_manager',
  'object_manager',
  'ray_client_server',
  'dashboard',
  'dashboard_grpc',
  'dashboard_agent_grpc',
  'dashboard_agent_listen',
  'metrics_export',
  'runtime_env_agent',
  'autoscaler_metrics',
  'dashboard_metrics',
] as const;
export type RayPortName = (typeof RAY_PORT_NAMES)[number];

/**
 * Ray Serve's proxy ports, in layout order (offsets 13..16): Serve opens them (not `ray start`)
 * once an entrypoint starts it; the ray adapter hands them to Serve (src/runtimes/ray/serve.ts).
 */
export const RAY_SERVE_PORT_NAMES = ['serve_http', 'serve_grpc', 'serve_fallback_http', 'serve_fallback_grpc'] as const;
export type RayServePortName = (typeof RAY_SERVE_PORT_NAMES)[number];

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Worker ports for Ray on a node with this many CPUs (see the table above for why). */
function workerPortCount(cpusPerNode: number): number {
  return Math.min(WORKER_PORTS_MAX, Math.max(WORKER_PORTS_MIN, WORKER_PORTS_PER_CPU * cpusPerNode));
}

export function portLayout(runtime: RuntimeName, cpusPerNode: number): PortLayout {
  if (!Number.isInteger(cpusPerNode) || cpusPerNode < 1) {
    throw new UsageError(`CPUs per node must be a positive whole number, received ${String(cpusPerNode)}`, {
      hint: 'pass --cpus-per-task with a number like 4',
    });
  }
  if (runtime === 'builtin') {
    return {
      size: GRANULARITY,
      ports: { controller: 0, agent: 1 },
      ranges: { app: { offset: 8, count: APP_PORTS }, service: { offset: 16, count: SERVICE_PORTS } },
    };
  }
  if (runtime === 'ray') {
    const ports: Record<string, number> = { controller: 0 };
    [...RAY_PORT_NAMES, ...RAY_SERVE_PORT_NAMES].forEach((name, i) => (ports[name] = i + 1));
    const workers = workerPortCount(cpusPerNode);
    return {
      size: roundUp(25 + workers, GRANULARITY),
      ports,
      ranges: { app: { offset: 17, count: APP_PORTS }, worker: { offset: 25, count: workers } },
    };
  }
  throw new UsageError(`unknown runtime: expected "ray" or "builtin", received ${JSON.stringify(runtime)}`, {
    hint: 'pass --runtime ray or --runtime builtin',
  });
}

/** Inclusive bounds a block must fit in: from MIN_BLOCK_PORT to just below the ephemeral range. */
export function portRange(ephemeral: [number, number]): { min: number; max: number } {
  const [low] = ephemeral;
  // An ephemeral range that starts at or below MIN_BLOCK_PORT leaves nothing: min > max, and
  // allocatePortBlock / rangeProblems say so with the numbers.
  return { min: MIN_BLOCK_PORT, max: Math.min(MAX_PORT, low - 1) };
}

export function portsOf(base: number, layout: PortLayout): Record<string, number> {
  return Object.fromEntries(Object.entries(layout.ports).map(([name, off]) => [name, base + off]));
}

export function rangesOf(base: number, layout: PortLayout): Record<string, [first: number, last: number]> {
  return Object.fromEntries(
    Object.entries(layout.ranges).map(([name, r]) => [
      name,
      [base + r.offset, base + r.offset + r.count - 1] as [number, number],
    ]),
  );
}

export function blocksOverlap(a: PortBlock, b: PortBlock): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

export const blockLast = (b: PortBlock): number => b.base + b.size - 1;
export const formatBlock = (b: PortBlock): string => `${b.base}-${blockLast(b)}`;

// ---- the record kept in the Slurm job's Comment -------------------------------------------

const RECORD_RE = /(?:^|[^\w:])raysl:ports=(\d{1,5})-(\d{1,5})(?!\d)/;

/** `raysl:ports=20480-20607` (inclusive): what the controller writes into its job's Comment. */
export function formatPortRecord(block: PortBlock): string {
  return `raysl:ports=${formatBlock(block)}`;
}

/** Finds a port record anywhere in a Comment; undefined when there is none or it is malformed. */
export function parsePortRecord(text: string): PortBlock | undefined {
  const m = RECORD_RE.exec(text);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first < 1 || last > MAX_PORT || last < first) return undefined;
  return { base: first, size: last - first + 1 };
}

/** Replaces (or appends) the port record in a Comment, keeping whatever else it says. */
export function withPortRecord(comment: string, block: PortBlock): string {
  const record = formatPortRecord(block);
  const stripped = comment.replace(/\s*raysl:ports=\d+-\d+/g, '').trim();
  return stripped === '' ? record : `${stripped} ${record}`;
}

// ---- the allocator ------------------------------------------------------------------------

/** A block cannot be given: every slot taken by other jobs (a collision, exit 1). */
export class PortBlockUnavailableError extends RayslError {
  constructor(message: string, opts: { hint: string; details: Record<string, unknown> }) {
    super(message, { ...opts, exitCode: ExitCode.collision });
  }
}

/** FNV-1a, 32 bit: stable across Node versions and machines, enough spread for a start slot. */
export function hashJobId(jobId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < jobId.length; i++) {
    h ^= jobId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Aligned bases a block of `size` can take inside the range. */
export function candidateBases(size: number, range: { min: number; max: number }): { first: number; count: number } {
  const first = roundUp(range.min, GRANULARITY);
  const lastBase = range.max - size + 1;
  const count = lastBase < first ? 0 : Math.floor((lastBase - first) / GRANULARITY) + 1;
  return { first, count };
}

const RAY_DEFAULT_BLOCKS: PortBlock[] = RAY_DEFAULT_PORTS.map((p) => ({ base: p.first, size: p.last - p.first + 1 }));

/**
 * Gives a job its block: a hash of the job id picks the first candidate, then the walk goes up
 * (wrapping) to the first one that overlaps no taken block and no Ray default. Same inputs,
 * same block, so a controller that restarts, or check-ports asking ahead, agrees with itself.
 */
export function allocatePortBlock(req: {
  jobId: string;
  size: number;
  range: { min: number; max: number };
  taken: PortBlock[];
}): PortBlock {
  const { jobId, size, range, taken } = req;
  if (!Number.isInteger(size) || size < 1) {
    throw new InternalError(`port block size must be a positive whole number, received ${String(size)}`, {
      hint: 'this is a bug in raysl; report it with the command you ran',
    });
  }
  const { first, count } = candidateBases(size, range);
  const roomy = Math.max(0, range.max - range.min + 1);
  if (count === 0) {
    throw new UsageError(
      `a port block of ${size} ports does not fit in ${range.min}-${range.max} (${roomy} ports between ${MIN_BLOCK_PORT} and the start of the ephemeral range)`,
      {
        hint: 'ask the admins to start net.ipv4.ip_local_port_range higher (e.g. 32768), or use fewer CPUs per node or --runtime builtin',
        details: { blockSize: size, range },
      },
    );
  }
  const blockers = [...taken, ...RAY_DEFAULT_BLOCKS];
  const start = hashJobId(jobId) % count;
  for (let i = 0; i < count; i++) {
    const base = first + ((start + i) % count) * GRANULARITY;
    const block = { base, size };
    if (!blockers.some((t) => blocksOverlap(block, t))) return block;
  }
  const inRange = taken.filter((t) => t.base <= range.max && blockLast(t) >= range.min);
  throw new PortBlockUnavailableError(
    `no free port block of ${size} ports in ${range.min}-${range.max}: all ${count} slots overlap the ${inRange.length} block(s) other raysl jobs hold on these nodes (${taken.length} taken in total)`,
    {
      hint: 'wait for a raysl job on these nodes to finish, pick other nodes (-w/--exclude), or use fewer CPUs per node',
      details: { blockSize: size, range, slots: count, taken: taken.map(formatBlock) },
    },
  );
}

// ---- checks -------------------------------------------------------------------------------

export interface PortProblem {
  kind: 'layout-overlap' | 'outside-block' | 'ephemeral' | 'ray-default' | 'range';
  message: string;
}

interface Span {
  name: string;
  first: number;
  last: number;
}

function spansOf(layout: PortLayout): Span[] {
  return [
    ...Object.entries(layout.ports).map(([name, o]) => ({ name, first: o, last: o })),
    ...Object.entries(layout.ranges).map(([name, r]) => ({
      name: `${name} range`,
      first: r.offset,
      last: r.offset + r.count - 1,
    })),
  ];
}

/** Named ports and ranges that overlap each other or stick out of the block. */
export function layoutProblems(layout: PortLayout): PortProblem[] {
  const spans = spansOf(layout);
  const out: PortProblem[] = [];
  for (const s of spans) {
    if (s.first < 0 || s.last >= layout.size || s.last < s.first) {
      out.push({
        kind: 'outside-block',
        message: `${s.name} (offsets ${s.first}-${s.last}) lies outside the block of ${layout.size} ports`,
      });
    }
  }
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i]!;
      const b = spans[j]!;
      if (a.first <= b.last && b.first <= a.last) {
        out.push({
          kind: 'layout-overlap',
          message: `${a.name} (offsets ${a.first}-${a.last}) overlaps ${b.name} (offsets ${b.first}-${b.last}) inside the layout`,
        });
      }
    }
  }
  return out;
}

/** The block against the ephemeral range and the allowed range. */
export function rangeProblems(block: PortBlock, ephemeral: [number, number]): PortProblem[] {
  const out: PortProblem[] = [];
  const [lo, hi] = ephemeral;
  if (block.base <= hi && blockLast(block) >= lo) {
    out.push({
      kind: 'ephemeral',
      message: `block ${formatBlock(block)} overlaps the kernel's ephemeral range ${lo}-${hi}: outgoing connections may take its ports at any time`,
    });
  }
  if (block.base < MIN_BLOCK_PORT) {
    out.push({
      kind: 'range',
      message: `block ${formatBlock(block)} starts below ${MIN_BLOCK_PORT}, among well-known and common service ports`,
    });
  }
  if (blockLast(block) > MAX_PORT)
    out.push({ kind: 'range', message: `block ${formatBlock(block)} ends above ${MAX_PORT}` });
  return out;
}

/** Ray's own default ports that fall inside the block. */
export function rayDefaultProblems(block: PortBlock): PortProblem[] {
  return RAY_DEFAULT_PORTS.filter((d) => blocksOverlap(block, { base: d.first, size: d.last - d.first + 1 })).map(
    (d) => ({
      kind: 'ray-default' as const,
      message: `block ${formatBlock(block)} covers ${d.name}, which a hand-started Ray on the same node would take`,
    }),
  );
}

// ---- describer ----------------------------------------------------------------------------

export interface LayoutRow {
  name: string;
  offset: number;
  count: number;
  /** Concrete ports when a base is given. */
  first?: number;
  last?: number;
}

/** Every named port and range, by offset (with concrete ports when a base is given). */
export function layoutRows(layout: PortLayout, base?: number): LayoutRow[] {
  const rows: LayoutRow[] = [
    ...Object.entries(layout.ports).map(([name, offset]) => ({ name, offset, count: 1 })),
    ...Object.entries(layout.ranges).map(([name, r]) => ({ name, offset: r.offset, count: r.count })),
  ].sort((a, b) => a.offset - b.offset);
  return base === undefined
    ? rows
    : rows.map((r) => ({ ...r, first: base + r.offset, last: base + r.offset + r.count - 1 }));
}

/** Plain-text table of a layout (no colour: callers add it). */
export function describeLayout(layout: PortLayout, base?: number): string {
  const rows = layoutRows(layout, base);
  const cells = rows.map((r) => [
    r.name,
    r.count === 1 ? String(r.offset) : `${r.offset}-${r.offset + r.count - 1}`,
    String(r.count),
    r.first === undefined ? '' : r.count === 1 ? String(r.first) : `${r.first}-${r.last}`,
  ]);
  const head = ['name', 'offset', 'ports', base === undefined ? '' : 'port(s)'];
  const all = [head, ...cells];
  const widths = head.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const lines = all.map((c) =>
    c
      .map((s, i) => s.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  const total =
    base === undefined ? `block size ${layout.size}` : `block ${base}-${base + layout.size - 1} (${layout.size} ports)`;
  return [...lines, total].join('\n');
}

/**
 * The job's `app` ports as the entrypoint and every command run on a node see them:
 * RAYSL_APP_PORTS=<first>-<last>, the same on every node (e.g. torch's MASTER_PORT is the first).
 */
export function appPortsEnv(base: number, layout: PortLayout): Record<string, string> {
  const app = rangesOf(base, layout)['app'];
  return app ? { RAYSL_APP_PORTS: `${app[0]}-${app[1]}` } : {};
}
