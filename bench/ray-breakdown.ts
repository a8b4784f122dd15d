// The start of a raysl Ray job broken into its parts per node, from the daemons' own logs (the
// session logs raysl keeps in <job dir>/runtime-logs/<node>/session_*/logs) and the agents' logs.
// Times are ms since the batch script's first line (t0). Ray 2.60's log lines, as the ray bench
// saw them on the test cluster:
//   agent-<node>.log    "[+1.73s] [node1] ray: 2026-12-05 06:24:15,427 INFO ..." (relative to the
//                       agent's start; the Ray line in it gives the absolute anchor)
//   gcs_server.out      "GcsServer server started, listening on port"; "Registering new node ... node_address=<ip>"
//   raylet.out          first line (raylet process up); "Raylet of id ... started" (its servers up, registering)
//   dashboard_agent.log "Dashboard agent grpc address" (the agent's Python imported and serving)
//   dashboard.log       "Dashboard head http address" (the dashboard answers)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface NodeBreakdown {
  node: string;
  role: 'head' | 'worker';
  /** ms since t0 for each event seen; missing events are absent. */
  at: Record<string, number>;
}

/** The events in start order, with what each one means (the bench output carries this table). */
export const BREAKDOWN_EVENTS: Array<[string, string]> = [
  ['agentStarted', "raysl's agent process started on the node (srun step)"],
  ['rayStartSpawned', 'the agent spawned `ray start` (through the boot script unless RAYSL_RAY_BOOT=0)'],
  ['rayImported', 'Python + `import ray` + the CLI done ("Local node IP" printed; worker boot: "CLI imported")'],
  ['gcsUp', 'head: gcs_server listening'],
  ['sessionNameSeen', "worker: the head's session name read from the GCS (worker boot)"],
  ['rayletProcess', "the node's raylet process logged its first line"],
  ['dashboardAgentUp', "the node's dashboard agent serving (its Python imported)"],
  ['rayletServing', 'raylet: "Raylet ... started" (it registers with the GCS next)'],
  ['registered', 'the GCS logged "Registering new node" for this node'],
  ['rayStarted', '`ray start` printed "Ray runtime started."'],
  ['dashboardUp', 'head: the dashboard answers HTTP'],
  ['joined', 'raysl: the agent reported the node up (ports answer) to the controller'],
];

const read = (f: string): string => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};

/** "2026-12-05 06:24:15,427" or "[2026-12-05 06:24:15,427 I" -> ms since the epoch (local time, as Ray writes it). */
function rayTime(s: string): number | undefined {
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(s);
  return m ? new Date(`${m[1]}T${m[2]}.${m[3]}`).getTime() : undefined;
}

function firstTime(text: string, re: RegExp): number | undefined {
  for (const line of text.split('\n')) if (re.test(line)) return rayTime(line);
  return undefined;
}

/** One agent log: its lines' relative seconds anchored by the first Ray line that has an absolute time. */
function agentEvents(log: string): { base?: number; rel: (re: RegExp) => number | undefined } {
  const lines = log.split('\n');
  let base: number | undefined;
  for (const l of lines) {
    const m = /^\[\+(\d+\.\d+)s\] \[[^\]]+\] ray: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})/.exec(l);
    if (m) {
      base = rayTime(m[2]!)! - Math.round(Number(m[1]) * 1000);
      break;
    }
  }
  return {
    base,
    rel: (re) => {
      if (base === undefined) return undefined;
      const l = lines.find((x) => re.test(x));
      const m = l ? /^\[\+(\d+\.\d+)s\]/.exec(l) : null;
      return m ? base + Math.round(Number(m[1]) * 1000) : undefined;
    },
  };
}

function sessionLogs(jobDir: string, node: string): string | undefined {
  const dir = join(jobDir, 'runtime-logs', node);
  if (!existsSync(dir)) return undefined;
  const s = readdirSync(dir).find((d) => d.startsWith('session_'));
  return s ? join(dir, s, 'logs') : undefined;
}

/** The per-node breakdown of one raysl job (jobDir = <job dir>/<job id>); head first. */
export function rayslBreakdown(
  jobDir: string,
  t0: number,
  head: string,
  nodeIps: Record<string, string>,
): NodeBreakdown[] {
  const headLogs = sessionLogs(jobDir, head);
  const gcsOut = headLogs ? read(join(headLogs, 'gcs_server.out')) : '';
  const nodes = Object.keys(nodeIps).sort((a, b) =>
    a === head ? -1 : b === head ? 1 : a.localeCompare(b, 'en', { numeric: true }),
  );
  return nodes.map((node) => {
    const role = node === head ? 'head' : 'worker';
    const a = agentEvents(read(join(jobDir, `agent-${node}.log`)));
    const logs = sessionLogs(jobDir, node);
    const f = (name: string) => (logs ? read(join(logs, name)) : '');
    const ip = nodeIps[node]!.replace(/\./g, '\\.');
    const raw: Record<string, number | undefined> = {
      agentStarted: a.base,
      rayStartSpawned: a.rel(/ ray: process group /),
      rayImported: a.rel(/raysl-ray-boot: Ray's CLI imported|Local node IP/),
      gcsUp: role === 'head' ? firstTime(gcsOut, /GcsServer server started, listening/) : undefined,
      sessionNameSeen: a.rel(/raysl-ray-boot: head's session name/),
      rayletProcess: firstTime(f('raylet.out'), /\(raylet\)/),
      dashboardAgentUp: firstTime(f('dashboard_agent.log'), /Dashboard agent grpc address/),
      rayletServing: firstTime(f('raylet.out'), /Raylet of id/),
      registered: firstTime(gcsOut, new RegExp(`Registering new node.*node_address=${ip}(\\s|$)`)),
      rayStarted: a.rel(/Ray runtime started\./),
      dashboardUp: role === 'head' ? firstTime(f('dashboard.log'), /Dashboard head http address/) : undefined,
      joined: a.rel(/\] joined: runtime ray up/),
    };
    const at: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) if (v !== undefined) at[k] = v - t0;
    return { node, role, at };
  });
}

/** The floor's breakdown: its one `ray start --head` output and session logs copied by its script. */
export function floorBreakdown(rayOut: string, logsDir: string, t0: number): NodeBreakdown {
  const f = (name: string) => read(join(logsDir, name));
  const raw: Record<string, number | undefined> = {
    rayImported: firstTime(rayOut.split('\n').find((l) => /Local node IP/.test(l)) ?? '', /./),
    gcsUp: firstTime(f('gcs_server.out'), /GcsServer server started, listening/),
    rayletProcess: firstTime(f('raylet.out'), /\(raylet\)/),
    dashboardAgentUp: firstTime(f('dashboard_agent.log'), /Dashboard agent grpc address/),
    rayletServing: firstTime(f('raylet.out'), /Raylet of id/),
    registered: firstTime(f('gcs_server.out'), /Registering new node/),
    rayStarted: firstTime(rayOut.split('\n').find((l) => /Ray runtime started\./.test(l)) ?? '', /./),
    dashboardUp: firstTime(f('dashboard.log'), /Dashboard head http address/),
  };
  const at: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) at[k] = v - t0;
  return { node: 'floor', role: 'head', at };
}
