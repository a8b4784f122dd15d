/**
 * The control protocol, version 2 (v2 added the probe phase: welcome -> probed [-> probe ->
 * probed]* -> start, and the head agent learning the entrypoint's process group). One token-protected HTTP server on the head's address serves:
 *
 *   GET  /v1/info                     -> Info
 *   GET  /v1/nodes                    -> { nodes: NodeInfo[] }          (joined nodes, join order)
 *   GET  /v1/resources                -> Resources                      (sum over joined nodes)
 *   PUT  /v1/kv/<key>    {value}      -> 204
 *   GET  /v1/kv/<key>[?waitMs=N]      -> 200 {value} | 404              (waitMs: block until put)
 *   POST /v1/run         RunRequest   -> 200 RunResult | 404 unknown node | 502 node lost
 *   GET  /v1/agent  (Upgrade: raysl-agent.1) -> 101, then newline-delimited JSON both ways
 *
 * Every request carries `Authorization: Bearer <token>`; anything else gets 401 (before an
 * upgrade, too). On the agent channel the agent speaks AgentMessage, the controller
 * ControllerMessage. A closed channel is a lost node: no heartbeat is needed to notice it.
 *
 * Pure (no node:* imports): the client bundle imports it too.
 */
import type { NodeResources, PortLayout, RayAuth, RuntimeName } from '../core/types.js';

export const PROTOCOL_VERSION = 3 as const;
export const AGENT_UPGRADE = 'raysl-agent.3';
export { ADDRESS_ENV, TOKEN_ENV } from '../core/env-names.js';

export interface Info {
  protocol: typeof PROTOCOL_VERSION;
  jobId: string;
  runtime: RuntimeName;
  head: string;
}

export interface NodeInfo {
  name: string;
  role: 'head' | 'worker';
  address: string;
  hostname: string;
  cpus: number;
  gpus: number;
  memoryMb?: number;
  /** GPU ids the node's runtime may use (CUDA_VISIBLE_DEVICES as Slurm bound them). */
  gpuIds: string[];
}

export interface Resources {
  nodes: number;
  cpus: number;
  gpus: number;
  memoryMb?: number;
}

export interface RunRequest {
  node: string;
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command's process group after this long (exitCode null, signal SIGKILL). */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
}

/** What Slurm granted this agent, as it saw it in its environment. */
export interface Granted {
  cpus?: number;
  gpus?: number;
  gpuIds: string[];
}

// agent -> controller
export type AgentMessage =
  | { t: 'hello'; v: typeof PROTOCOL_VERSION; node: string; role: 'head' | 'worker'; pid: number; hostname: string; granted: Granted }
  | Probed
  /** notes: what the controller should log for the user (e.g. an old Ray without token auth). */
  | { t: 'ready'; node: NodeInfo; notes?: string[] }
  | { t: 'fail'; reason: string; hint?: string }
  | { t: 'result'; id: number; result: RunResult }
  | { t: 'runtime-exited'; code: number | null; signal: string | null; detail?: string }
  /** A runtime's agent half to its controller half; the body is the runtime's to validate. */
  | { t: 'rt'; body: unknown };

/** A port of the block this agent could not bind, and who holds it where /proc shows it. */
export interface TakenPort {
  port: number;
  reason: 'in-use' | 'permission';
  holder?: { pid: number; command: string };
}

/** The agent's bind-probe of one block (round n of the probe phase); `taken` empty = clean. */
export interface Probed {
  t: 'probed';
  round: number;
  portBase: number;
  taken: TakenPort[];
  /** The address this node's runtime will bind (its --iface address when one is named). */
  bindAddress?: string;
}

/** Everything an agent needs to start its runtime: the controller is the one source of truth. */
export interface Welcome {
  t: 'welcome';
  v: typeof PROTOCOL_VERSION;
  jobId: string;
  runtime: RuntimeName;
  address: string;
  /** Interface the user named (--iface): the runtime binds its address; the agent reports it in ready. */
  iface?: string;
  /** Probe round of portBase/probe: the agent echoes it in `probed`. */
  round: number;
  portBase: number;
  layout: PortLayout;
  expected: NodeResources;
  /** Ports this agent must find free before starting its runtime. */
  probe: number[];
  scratchDir: string;
  env: Record<string, string>;
  /** Ray runtime: token authentication with the job's secret (the 0600 tokenFile), or off. */
  rayAuth: RayAuth;
  tokenFile: string;
  /** Where the runtime keeps its own logs (Ray's session logs) when its temp dir is removed. */
  runtimeLogDir: string;
}

/** Probe again: the job moved to another block (a port of the last one was taken somewhere). */
export interface ProbeAgain {
  t: 'probe';
  round: number;
  portBase: number;
  probe: number[];
}

/** Every agent that will be used found the block free: start the runtime on the last probed block. */
export interface Start {
  t: 'start';
  round: number;
  /** Where the head's runtime listens: the address the head's agent probed (--iface may move it). */
  headAddress: string;
  /** The head's port base: differs from the agent's own when simulated nodes share a port space. */
  headPortBase?: number;
}

// controller -> agent
export type ControllerMessage =
  | Welcome
  | ProbeAgain
  | Start
  /** To the head's agent: the entrypoint's process group, killed if the controller is lost. */
  | { t: 'entrypoint'; pgid: number }
  | { t: 'run'; id: number; req: RunRequest }
  | { t: 'stop'; reason: string }
  | { t: 'refuse'; reason: string }
  /** The runtime's controller half to its agent half; the body is the runtime's to validate. */
  | { t: 'rt'; body: unknown };

export function encodeMessage(msg: AgentMessage | ControllerMessage): string {
  return JSON.stringify(msg) + '\n';
}

/** Splits a byte stream into JSON lines; partial lines wait for the next chunk. */
export class LineDecoder {
  private buffer = '';
  push(chunk: string): unknown[] {
    this.buffer += chunk;
    const out: unknown[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      out.push(JSON.parse(line));
    }
    return out;
  }
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Validates the shape of an agent's message; throws with what was received otherwise. */
export function parseAgentMessage(x: unknown): AgentMessage {
  if (!isObj(x) || typeof x.t !== 'string') throw new Error(`expected a message object with "t", got ${JSON.stringify(x)}`);
  switch (x.t) {
    case 'hello':
      if (x.v !== PROTOCOL_VERSION) throw new Error(`agent speaks protocol ${String(x.v)}, controller speaks ${PROTOCOL_VERSION}`);
      if (typeof x.node !== 'string' || (x.role !== 'head' && x.role !== 'worker') || !isObj(x.granted)) throw new Error(`malformed hello: ${JSON.stringify(x)}`);
      return x as AgentMessage;
    case 'probed':
      if (typeof x.round !== 'number' || typeof x.portBase !== 'number' || !Array.isArray(x.taken) || !(x.bindAddress === undefined || typeof x.bindAddress === 'string')) {
        throw new Error(`malformed probed: ${JSON.stringify(x)}`);
      }
      for (const tp of x.taken) {
        if (!isObj(tp) || typeof tp.port !== 'number' || (tp.reason !== 'in-use' && tp.reason !== 'permission')) throw new Error(`malformed probed: ${JSON.stringify(x)}`);
      }
      return x as AgentMessage;
    case 'ready':
      if (!isObj(x.node) || typeof x.node.name !== 'string' || !(x.notes === undefined || (Array.isArray(x.notes) && x.notes.every((n) => typeof n === 'string')))) {
        throw new Error(`malformed ready: ${JSON.stringify(x)}`);
      }
      return x as AgentMessage;
    case 'fail':
      if (typeof x.reason !== 'string') throw new Error(`malformed fail: ${JSON.stringify(x)}`);
      return x as AgentMessage;
    case 'result':
      if (typeof x.id !== 'number' || !isObj(x.result)) throw new Error(`malformed result: ${JSON.stringify(x)}`);
      return x as AgentMessage;
    case 'runtime-exited':
    case 'rt':
      return x as AgentMessage;
    default:
      throw new Error(`unknown agent message type ${JSON.stringify(x.t)}`);
  }
}

export function parseControllerMessage(x: unknown): ControllerMessage {
  if (!isObj(x) || typeof x.t !== 'string') throw new Error(`expected a message object with "t", got ${JSON.stringify(x)}`);
  if (x.t === 'welcome' && x.v !== PROTOCOL_VERSION) throw new Error(`controller speaks protocol ${String(x.v)}, agent speaks ${PROTOCOL_VERSION}`);
  if (!['welcome', 'probe', 'start', 'entrypoint', 'run', 'stop', 'refuse', 'rt'].includes(x.t)) throw new Error(`unknown controller message type ${JSON.stringify(x.t)}`);
  if (x.t === 'probe' && (typeof x.round !== 'number' || typeof x.portBase !== 'number' || !Array.isArray(x.probe))) throw new Error(`malformed probe: ${JSON.stringify(x)}`);
  if (x.t === 'start' && (typeof x.round !== 'number' || typeof x.headAddress !== 'string')) throw new Error(`malformed start: ${JSON.stringify(x)}`);
  if (x.t === 'entrypoint' && !(Number.isInteger(x.pgid) && (x.pgid as number) > 1)) throw new Error(`malformed entrypoint: ${JSON.stringify(x)}`);
  return x as ControllerMessage;
}

export function aggregateResources(nodes: NodeInfo[]): Resources {
  const withMem = nodes.filter((n) => n.memoryMb !== undefined);
  return {
    nodes: nodes.length,
    cpus: nodes.reduce((a, n) => a + n.cpus, 0),
    gpus: nodes.reduce((a, n) => a + n.gpus, 0),
    ...(withMem.length === nodes.length && nodes.length > 0 ? { memoryMb: withMem.reduce((a, n) => a + (n.memoryMb ?? 0), 0) } : {}),
  };
}

/** KV keys travel in the URL path: keep them to a safe alphabet. */
export const KV_KEY = /^[A-Za-z0-9._:/-]{1,256}$/;

/** host:port -> parts; IPv4 or a name only (the head's address is never IPv6 here). */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(address);
  if (!m || !m[1] || !m[2]) throw new Error(`expected host:port, got ${JSON.stringify(address)}`);
  return { host: m[1], port: Number(m[2]) };
}
