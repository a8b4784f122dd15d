// Real Ray 2.60 on the Slurm test cluster: how long from the first line of the batch script until
// every node is alive in Ray (`ray.nodes()`), for raysl and for the alternatives, in one run:
// - floor: one bare `ray start --head --block` on one node, raysl's own flags (copied from a raysl
//   agent log of this run), until it printed "Ray runtime started." and its GCS port answers;
// - raysl: `raysl submit -N 1|2|4` (controller, agents, every `ray start` at once);
// - seed: a reproduction of the seed's sbatch script (reference/seeds/ray-on-slurm.txt): head srun,
//   sleep 15, one srun per worker each followed by sleep 5, then the entrypoint; Ray's default ports;
// - symmetric: `ray symmetric-run` (Ray 2.60's own launcher) under one srun on all nodes, its defaults.
// The same probe (probe.py) is the entrypoint everywhere: its first action is ray.init(address=...),
// then it polls ray.nodes() every 10 ms until N are alive and records the time. "Batch start" is the
// first line of each batch script (`date +%s.%N`). Also measured: entrypoint exit -> the last Ray
// process of the job gone (a /proc scan for the job's SLURM_JOB_ID and the Ray venv in the cmdline).
//
// This host is one PID namespace for all nodes, and `ray stop` kills every Ray process it can see
// (other nodes and other users' jobs included). So the seed's `srun ... ray stop` and symmetric-run's
// own `ray stop` run Ray's own stop code restricted to this job's processes on the calling node, which
// is what `ray stop` does on a real, separate node (shim/ray + shim/scoped_ray.py below).
//
// Before every run the queue must be empty (bounded wait, recorded). Configurations are interleaved
// round by round; a failed run is recorded with its error, never dropped.
//   BENCH_RUNS (default 5) rounds; BENCH_SEED_RUNS (default 0) of them also run the seed script (2 and 4
//   nodes) and symmetric-run at 2 nodes;
//   BENCH_CONFIGS (default floor,raysl1,raysl2,raysl4,raysl4plain,sym4) the configurations of every
//   round (rayslNplain: raysl with RAYSL_RAY_BOOT=0, plain `ray start` on every node, the start
//   before the boot script; rayslNdash / rayslNagent: workers start once the head's dashboard / its
//   dashboard agent is up, RAYSL_RAY_BOOT_GATE), e.g.
//   floor,raysl1,raysl2,raysl4,raysl8,raysl16,sym4,sym8,sym16 on a bigger cluster (RAYSL_SLURM_DIR);
//   BENCH_ONCE configurations run in round 1 only; BENCH_ONLY restricts them; BENCH_CPUS / BENCH_GPUS (default 4 / 4) per node; BENCH_NAME the
//   result file (default ray); BENCH_SYM_TEARDOWN=1 waits up to 120 s for symmetric-run's workers
//   to end once (round 1, 4 nodes), as the first measurement of it did.
// Every sample records the host's load (1-min load average at its start, and the share of the host's
// CPU time that was busy during it), and raysl's and the floor's samples the start broken into its
// parts per node from the daemons' own logs (ray-breakdown.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { stats, writeResult } from './lib.js';
import { parseStatus, type JobStatus } from '../src/core/status.js';
import { BREAKDOWN_EVENTS, floorBreakdown, rayslBreakdown, type NodeBreakdown } from './ray-breakdown.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const labDir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm';
const conf = `${labDir}/etc/slurm.conf`;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SEED_RUNS = Number(process.env.BENCH_SEED_RUNS ?? 0);
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const CONFIGS = (process.env.BENCH_CONFIGS ?? 'floor,raysl1,raysl2,raysl4,raysl4plain,sym4').split(',').filter(Boolean);
/** Configurations run in round 1 only (e.g. symmetric-run at sizes where it may not start at all). */
const ONCE = (process.env.BENCH_ONCE ?? '').split(',').filter(Boolean);
const CPUS = Number(process.env.BENCH_CPUS ?? 4);
const GPUS = Number(process.env.BENCH_GPUS ?? 4);
const NAME = process.env.BENCH_NAME ?? 'ray';
const gpuArgs = GPUS > 0 ? [`--gpus-per-node=${GPUS}`] : [];

if (spawnSync('bash', [join(root, 'scripts', 'dev-slurm.sh'), 'status'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write('ray bench: the test cluster is not up; run `scripts/dev-slurm.sh up` first\n');
  process.exit(1);
}
process.env.SLURM_CONF = conf;
const bundle = join(root, 'dist', 'raysl.mjs');
if (!existsSync(bundle)) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
const rayBin = execFileSync('bash', [join(root, 'scripts', 'ray-venv.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();
const venv = dirname(dirname(rayBin));
const rayVersion = execFileSync(rayBin, ['--version'], { encoding: 'utf8' }).trim();

mkdirSync(join(labDir, 'jobs'), { recursive: true });
const work = mkdtempSync(join(labDir, 'jobs', 'raybench-'));
const log = (s: string) =>
  process.stdout.write(`[ray bench +${((Date.now() - benchStart) / 1000).toFixed(0)}s] ${s}\n`);
const benchStart = Date.now();

// ---------------------------------------------------------------- files every launcher uses
const probe = join(work, 'probe.py');
writeFileSync(
  probe,
  `# The entrypoint of every launcher: connect, poll ray.nodes() until N are alive, record when.
import json, os, sys, time
t_start = time.time()
import ray
t_import = time.time()
addr, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if addr == "env":
    addr = os.environ["RAY_ADDRESS"]
ray.init(address=addr, log_to_driver=False, logging_level="ERROR")
t_init = time.time()
deadline = t_init + 120
alive = 0
while True:
    alive = sum(1 for x in ray.nodes() if x["Alive"])
    if alive >= n or time.time() > deadline:
        break
    time.sleep(0.01)
t_joined = time.time()
ray.shutdown()
rec = dict(start=t_start, imported=t_import, connected=t_init, joined=t_joined, alive=alive, want=n, exit=time.time())
with open(out + ".tmp", "w") as f:
    json.dump(rec, f)
os.rename(out + ".tmp", out)
print("probe", json.dumps(rec), flush=True)
sys.exit(0 if alive >= n else 1)
`,
);

const shim = join(work, 'shim');
mkdirSync(shim);
writeFileSync(
  join(shim, 'ray'),
  `#!/bin/bash
# \`ray stop\` kills every Ray process it sees, and \`ray symmetric-run\` refuses to start when it sees any
# GCS (psutil); on this host all nodes (and other jobs) share one PID namespace, so both run Ray's own
# code seeing only this job's processes on this node, as on a real node. Anything else: Ray.
case "\${1:-}" in stop|symmetric-run) exec ${venv}/bin/python ${join(shim, 'scoped_ray.py')} "$@";; esac
exec ${rayBin} "$@"
`,
);
chmodSync(join(shim, 'ray'), 0o755);
writeFileSync(
  join(shim, 'scoped_ray.py'),
  `# Ray's CLI (its own code), seeing only this Slurm job's processes on this node.
import os, sys
import ray  # puts Ray's bundled third-party packages (psutil) on sys.path, as \`ray stop\` has them
import psutil
job, node = os.environ["SLURM_JOB_ID"], os.environ["SLURMD_NODENAME"]
_iter = psutil.process_iter
def _mine(p):
    try:
        e = p.environ()
    except psutil.Error:
        return False
    return e.get("SLURM_JOB_ID") == job and e.get("SLURMD_NODENAME") == node
psutil.process_iter = lambda *a, **k: (p for p in _iter(*a, **k) if _mine(p))
from ray.scripts.scripts import main
sys.argv = ["ray"] + sys.argv[1:]
sys.exit(main())
`,
);

// ---------------------------------------------------------------- small helpers
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll<T>(what: string, probeFn: () => T | undefined, ms: number, stepMs = 20): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probeFn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A `date +%s.%N` file, in ms since the epoch. */
function readSecFile(file: string): number | undefined {
  const t = readText(file)?.trim();
  return t ? Math.round(Number(t) * 1000) : undefined;
}

interface ProbeRecord {
  start: number;
  imported: number;
  connected: number;
  joined: number;
  alive: number;
  want: number;
  exit: number;
}
function readProbe(file: string): ProbeRecord | undefined {
  const t = readText(file);
  if (!t) return undefined;
  const p = JSON.parse(t) as ProbeRecord;
  for (const k of ['start', 'imported', 'connected', 'joined', 'exit'] as const) p[k] = Math.round(p[k] * 1000);
  return p;
}

const squeueIds = (): string[] =>
  execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

/** Waits (bounded) until no job is in the queue; says how long and which jobs it waited for. */
async function waitQueueEmpty(limitMs = 180_000): Promise<{ waitedMs: number; others: string[] }> {
  const t0 = Date.now();
  const seen = new Set<string>();
  for (;;) {
    const ids = squeueIds();
    if (ids.length === 0) return { waitedMs: Date.now() - t0, others: [...seen] };
    ids.forEach((i) => seen.add(i));
    if (Date.now() - t0 > limitMs) return { waitedMs: Date.now() - t0, others: [...seen, 'still queued: ran anyway'] };
    await sleep(200);
  }
}

interface Proc {
  pid: number;
  node: string;
  cmdline: string;
  cpuTicks: number;
}
/** Live processes of one Slurm job of this cluster (every node shares this host's /proc). */
function jobProcs(jobId: string): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z') continue;
      const env = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0');
      if (!env.includes(`SLURM_JOB_ID=${jobId}`) || !env.includes(`SLURM_CONF=${conf}`)) continue;
      const node = env.find((x) => x.startsWith('SLURMD_NODENAME='))?.slice(16) ?? '?';
      // utime stime cutime cstime are fields 14-17 of stat, i.e. 11-14 after the state field
      const cpuTicks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      out.push({
        pid: Number(e),
        node,
        cmdline: readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(),
        cpuTicks,
      });
    } catch {
      // gone while we looked
    }
  }
  return out;
}
const isRay = (p: Proc) => p.cmdline.includes(venv) || /\b(raylet|gcs_server)\b/.test(p.cmdline);

/** Ray processes on this host that belong to no job of this run (someone else's Ray distorts results, and trips symmetric-run). */
function foreignRayCount(ours: Set<string>): number {
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (!/raylet|gcs_server/.test(cmd)) continue;
      const env = readFileSync(`/proc/${e}/environ`, 'utf8');
      const m = /SLURM_JOB_ID=(\d+)/.exec(env);
      if (!m || !ours.has(m[1]!)) n++;
    } catch {
      // gone
    }
  }
  return n;
}

/** CPU seconds used so far by the job's live processes (and the children they waited for), per node. */
function cpuByNode(jobId: string): Record<string, number> {
  const by: Record<string, number> = {};
  for (const p of jobProcs(jobId)) by[p.node] = (by[p.node] ?? 0) + p.cpuTicks / 100;
  for (const k of Object.keys(by)) by[k] = Math.round(by[k]! * 100) / 100;
  return by;
}

/** Polls (10 ms) until none of the job's Ray processes is left; ms since `fromMs`, or undefined at the deadline. */
/** The sample fields every launcher shares: the probe's timestamps against the batch start t0, and the teardown. */
function probeTimes(p: ProbeRecord, t0: number, gone: Awaited<ReturnType<typeof rayGoneAfter>>): Partial<Sample> {
  return {
    joinedMs: p.joined - t0,
    entrypointStartMs: p.start - t0,
    probeImportMs: p.imported - p.start,
    probeConnectMs: p.connected - p.imported,
    teardownRayMs: gone.rayGoneMs,
    teardownAllMs: gone.allGoneMs,
    ...(gone.leftAtDeadline ? { teardownLeft: gone.leftAtDeadline } : {}),
  };
}

async function rayGoneAfter(
  jobId: string,
  fromMs: number,
  deadlineMs: number,
): Promise<{ rayGoneMs?: number; allGoneMs?: number; leftAtDeadline?: string[] }> {
  const end = Date.now() + deadlineMs;
  let rayGoneMs: number | undefined;
  for (;;) {
    const procs = jobProcs(jobId);
    if (rayGoneMs === undefined && !procs.some(isRay)) rayGoneMs = Date.now() - fromMs;
    if (procs.length === 0) return { rayGoneMs, allGoneMs: Date.now() - fromMs };
    if (Date.now() > end)
      return {
        rayGoneMs,
        leftAtDeadline: procs.filter(isRay).map((p) => `${p.node} ${p.pid} ${p.cmdline.slice(0, 100)}`),
      };
    await sleep(10);
  }
}

/** Ends the job if it is still there and waits until nothing of it is left; says what it had to do. */
async function cleanup(jobId: string | undefined, endGraceMs = 5_000): Promise<string[]> {
  const notes: string[] = [];
  if (!jobId) return notes;
  // a job that is about to end by itself (its script's last lines) gets a few seconds first
  await poll(`job ${jobId} to end`, () => (squeueIds().includes(jobId) ? undefined : true), endGraceMs, 50).catch(
    () => undefined,
  );
  if (squeueIds().includes(jobId)) {
    notes.push('scancel');
    spawnSync('scancel', [jobId]);
  }
  try {
    await poll(`job ${jobId} to leave the queue`, () => (squeueIds().includes(jobId) ? undefined : true), 60_000, 100);
    await poll(`job ${jobId}'s processes to exit`, () => (jobProcs(jobId).length === 0 ? true : undefined), 30_000, 50);
  } catch (e) {
    const left = jobProcs(jobId);
    notes.push(`${(e as Error).message}; KILL ${left.length} leftover process(es)`);
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  return notes;
}

const submittedJobs = new Set<string>();
function sbatch(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const id = execFileSync('sbatch', ['--parsable', ...args, script], { encoding: 'utf8', env })
    .trim()
    .split(';')[0]!;
  submittedJobs.add(id);
  return id;
}

// ---------------------------------------------------------------- one run of each launcher
interface Sample {
  config: string;
  nodes: number;
  round: number;
  ok: boolean;
  error?: string;
  jobId?: string;
  queueWaitMs: number;
  queueOthers: string[];
  /** raylet/gcs_server processes on this host not from this bench's jobs, when the run started. */
  foreignRayProcs: number;
  /** batch script's first line -> ray.nodes() shows N alive (the probe). */
  joinedMs?: number;
  /** batch start -> the launcher said "ready" (raysl: status `ready`; floor: started + port answers). */
  readyMs?: number;
  /** batch start -> the entrypoint (probe) process started. */
  entrypointStartMs?: number;
  /** probe: python start -> `import ray` done -> connected, ms. */
  probeImportMs?: number;
  probeConnectMs?: number;
  /** entrypoint exit -> last Ray process of the job gone / every process of the job gone. */
  teardownRayMs?: number;
  teardownAllMs?: number;
  /** Ray processes of the job still there at the teardown deadline (10 s; 120 s for symmetric-run at 4 nodes in round 1). */
  teardownLeft?: string[];
  /** CPU seconds per node used by the job's processes at the moment "ready" was seen. */
  cpuAtReady?: Record<string, number>;
  /** The host's load: 1-min load average when the sample started, and the busy share of all CPU time during it. */
  load?: { loadAvg1AtStart: number; hostBusyShare?: number };
  /** The start per node, ms since the batch start, from the daemons' logs (raysl, floor). */
  breakdown?: NodeBreakdown[];
  detail?: Record<string, number | string | undefined>;
  notes: string[];
}

function jobStatus(file: string): JobStatus | undefined {
  const t = readText(file);
  if (!t) return undefined;
  try {
    return parseStatus(t);
  } catch {
    return undefined;
  }
}

let headStartLine: string | undefined; // raysl's own `ray start --head ...` line, for the floor

async function rayslOnce(s: Sample): Promise<void> {
  const dir = join(work, `${s.config}-${s.round}`);
  mkdirSync(dir);
  const mark = join(dir, 't0');
  const out = join(dir, 'probe.json');
  const args = [
    bundle,
    'submit',
    '--json',
    '-N',
    String(s.nodes),
    '-c',
    String(CPUS),
    ...(GPUS > 0 ? ['--gpus-per-node', String(GPUS)] : []),
    '--job-dir',
    dir,
  ];
  args.push(
    '--setup',
    `date +%s.%N > ${mark}`,
    '--setup',
    `source ${venv}/bin/activate`,
    probe,
    '--',
    'env',
    String(s.nodes),
    out,
  );
  // rayslNplain: the start before the boot script (plain `ray start` on every node), in the same run;
  // rayslNdash / rayslNagent: workers start their daemons once the head's dashboard / dashboard agent is up
  const gate = /(dash|agent)$/.exec(s.config)?.[1];
  // rayslNnonice: the workers start at the head's priority (RAYSL_RAY_BOOT_NICE=0)
  const plain = s.config.endsWith('plain')
    ? { RAYSL_RAY_BOOT: '0' }
    : s.config.endsWith('nonice')
      ? { RAYSL_RAY_BOOT_NICE: '0' }
      : gate
        ? { RAYSL_RAY_BOOT_GATE: gate === 'dash' ? 'dashboard' : 'agent' }
        : {};
  const res = execFileSync(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, RAYSL_RAY_BIN: rayBin, NO_COLOR: '1', ...plain },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const jobId = (JSON.parse(res) as { jobId: string }).jobId;
  s.jobId = jobId;
  submittedJobs.add(jobId);
  const statusFile = join(dir, jobId, 'status.json');
  const terminal = ['succeeded', 'failed', 'cancelled'];
  // ready: take a CPU sample at that moment
  const ready = await poll(
    'raysl ready',
    () => {
      const st = jobStatus(statusFile);
      if (st?.timeline.some((e) => e.phase === 'ready')) return st;
      if (st && terminal.includes(st.state))
        throw new Error(`job ${jobId} ended ${st.state} before ready: ${st.error?.message ?? ''}`);
      return undefined;
    },
    200_000,
    20,
  );
  s.cpuAtReady = cpuByNode(jobId);
  void ready;
  const exited = await poll(
    'entrypoint exit',
    () => {
      const st = jobStatus(statusFile);
      const e = st?.timeline.find((x) => x.phase === 'entrypoint-exited');
      if (e) return e;
      if (st && terminal.includes(st.state))
        throw new Error(`job ${jobId} ended ${st.state} without an entrypoint exit`);
      return undefined;
    },
    200_000,
    10,
  );
  const exitAt = Date.parse(exited.at);
  const gone = await rayGoneAfter(jobId, exitAt, 30_000);
  const final = await poll(
    'final status',
    () => {
      const st = jobStatus(statusFile);
      return st && terminal.includes(st.state) ? st : undefined;
    },
    30_000,
  );
  const t0 = readSecFile(mark)!;
  const p = readProbe(out);
  const at = (phase: string, pick: 'first' | 'last' = 'first') => {
    const es = final.timeline.filter((e) => e.phase === phase).map((e) => Date.parse(e.at));
    return es.length ? (pick === 'first' ? Math.min(...es) : Math.max(...es)) - t0 : undefined;
  };
  if (!p || p.alive < s.nodes)
    throw new Error(`probe saw ${p?.alive ?? '?'} of ${s.nodes} nodes alive (job ${jobId} ${final.state})`);
  Object.assign(s, {
    ...probeTimes(p, t0, gone),
    readyMs: at('ready'),
    detail: {
      controllerStartMs: Date.parse(final.startedAt) - t0,
      agentsLaunchedMs: at('agents-launched'),
      firstNodeJoinedMs: at('node-joined'),
      lastNodeJoinedMs: at('node-joined', 'last'),
      readyMs: at('ready'),
      entrypointStartedMs: at('entrypoint-started'),
      entrypointExitedMs: at('entrypoint-exited'),
      tornDownMs: at('torn-down'),
      state: final.state,
    },
  });
  try {
    const nodes = JSON.parse(readText(join(dir, jobId, 'nodes.json')) ?? '[]') as Array<{
      name: string;
      address: string;
    }>;
    s.breakdown = rayslBreakdown(
      join(dir, jobId),
      t0,
      final.head ?? nodes[0]?.name ?? '',
      Object.fromEntries(nodes.map((n) => [n.name, n.address])),
    );
  } catch (e) {
    s.notes.push(`no breakdown: ${(e as Error).message}`);
  }
  if (final.state !== 'succeeded') throw new Error(`job ${jobId} ended ${final.state} (exit ${final.exitCode})`);
  if (!headStartLine) {
    const m = /ray \d+\.\d+\.\d+: (\S+ start --head .*)$/m.exec(
      readText(join(dir, jobId, `agent-${final.head}.log`)) ?? '',
    );
    if (m) headStartLine = m[1];
  }
}

/** The floor: one `ray start --head --block` with raysl's flags (this node's address, own temp dir), until it answers. */
async function floorOnce(s: Sample): Promise<void> {
  if (!headStartLine) throw new Error('no raysl head start line to copy (the raysl warm-up failed)');
  const dir = join(work, `floor-${s.round}`);
  mkdirSync(dir);
  const tmp = `/tmp/rbf-${process.pid}-${s.round}`; // short: Ray's socket paths must fit 108 bytes
  const gcs = /--port=(\d+)/.exec(headStartLine)![1]!;
  const line = headStartLine
    .replace(/^\S+/, rayBin)
    .replace(/--node-ip-address=\S+/, '--node-ip-address=$ip')
    .replace(/--dashboard-host=\S+/, '--dashboard-host=$ip')
    .replace(/--temp-dir=\S+/, `--temp-dir=${tmp}/ray`);
  writeFileSync(
    join(dir, 'token'),
    `${[...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('')}\n`,
    { mode: 0o600 },
  );
  const script = join(dir, 'floor.sh');
  writeFileSync(
    script,
    `#!/bin/bash
date +%s.%N > ${dir}/t0
source ${venv}/bin/activate
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=${dir}/token
ip=$(hostname --ip-address)
mkdir -p ${tmp}
setsid ${line} > ${dir}/ray.out 2>&1 &
pid=$!
# ready as raysl defines it: "Ray runtime started." printed, and the GCS port answers on the node's address
end=$((SECONDS + 120))
while :; do
  mapfile -t out < ${dir}/ray.out
  if [[ "\${out[*]}" == *"Ray runtime started."* ]] && : 3<>/dev/tcp/$ip/${gcs}; then break; fi 2>/dev/null
  [ $SECONDS -lt $end ] || { echo "floor: not ready in 120 s"; break; }
  sleep 0.01
done
date +%s.%N > ${dir}/ready
python -u ${probe} $ip:${gcs} 1 ${dir}/probe.json
cp -r ${tmp}/ray/session_latest/logs ${dir}/logs 2>/dev/null
kill -TERM $pid
sleep 1
kill -KILL -- -$pid 2>/dev/null
rm -rf ${tmp}
`,
    { mode: 0o755 },
  );
  const jobId = sbatch(script, ['-N', '1', '-c', String(CPUS), ...gpuArgs, `--output=${dir}/out`]);
  s.jobId = jobId;
  await poll('floor ready', () => readSecFile(join(dir, 'ready')), 200_000, 20);
  s.cpuAtReady = cpuByNode(jobId);
  const p = await poll('floor probe', () => readProbe(join(dir, 'probe.json')), 60_000);
  const t0 = readSecFile(join(dir, 't0'))!;
  s.joinedMs = p.joined - t0;
  s.readyMs = readSecFile(join(dir, 'ready'))! - t0;
  s.entrypointStartMs = p.start - t0;
  s.probeImportMs = p.imported - p.start;
  s.probeConnectMs = p.connected - p.imported;
  const startedLine = /(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}).*Ray runtime started/.exec(
    readText(join(dir, 'ray.out')) ?? '',
  );
  s.detail = { rayPrintedStarted: startedLine?.[1] };
  if (p.alive < 1) throw new Error('floor: probe saw no node alive');
  await poll('floor logs copied', () => (squeueIds().includes(jobId) ? undefined : true), 20_000, 50).catch(
    () => undefined,
  );
  s.breakdown = [floorBreakdown(readText(join(dir, 'ray.out')) ?? '', join(dir, 'logs'), t0)];
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * On this cluster /tmp is one filesystem for all nodes; on a real cluster it is per node. Ray's default
 * temp dir is $RAY_TMPDIR/ray (else $TMPDIR/ray, else /tmp/ray), and a worker without --temp-dir uses
 * the head's temp dir path. The peers get RAY_TMPDIR=<this>-<node> per node (nothing lands in the
 * shared /tmp/ray); symmetric-run also gets --temp-dir=$RAY_TMPDIR/ray, the same path its head uses by
 * default. Without that, its workers, which start at the same moment in one shared session dir, race
 * for the same socket names (a raylet aborts with "bind: Address already in use" on its plasma
 * socket); with --temp-dir alone, its wait for the nodes calls ray.init() without an address, finds no
 * /tmp/ray/ray_current_cluster, starts a second, local Ray (which writes ~/.ray/auth_token for the
 * user) and times out at 1/N nodes. The seed's workers start one by one, 5 s apart: no race.
 */
const nodeTmp = `/tmp/rs${process.pid}`;

/** A reproduction of the seed's sbatch script (its steps, its sleeps, Ray's default ports and temp dir). */
function seedScript(dir: string, n: number): string {
  return `#!/bin/bash
date +%s.%N > ${dir}/t0
source ${venv}/bin/activate
export PATH=${shim}:$PATH
set -euo pipefail
nodes=$(scontrol show hostnames "$SLURM_JOB_NODELIST")
nodes_array=($nodes)
head_node=\${nodes_array[0]}
head_node_ip=$(srun --nodes=1 --ntasks=1 -w "$head_node" hostname --ip-address)
port=6379
ip_head="$head_node_ip:$port"
echo "head at $ip_head"
RAY_TMPDIR=${nodeTmp}-$head_node srun --nodes=1 --ntasks=1 -w "$head_node" \\
  ray start --head --node-ip-address="$head_node_ip" --port=6379 \\
    --node-manager-port=6700 --object-manager-port=6701 --ray-client-server-port=10001 \\
    --min-worker-port=10002 --max-worker-port=19999 \\
    --num-cpus="$SLURM_CPUS_PER_TASK" --num-gpus="\${SLURM_GPUS_PER_NODE:-0}" --block &
sleep 15
worker_num=$((SLURM_JOB_NUM_NODES - 1))
for ((i = 1; i <= worker_num; i++)); do
  node_i=\${nodes_array[$i]}
  RAY_TMPDIR=${nodeTmp}-$node_i srun --nodes=1 --ntasks=1 -w "$node_i" \\
    ray start --address="$ip_head" --num-cpus="$SLURM_CPUS_PER_TASK" --num-gpus="\${SLURM_GPUS_PER_NODE:-0}" --block &
  sleep 5
done
RAY_TMPDIR=${nodeTmp}-$head_node python -u ${probe} "$ip_head" ${n} ${dir}/probe.json
date +%s.%N > ${dir}/entrypoint-exited
srun --nodes="$SLURM_JOB_NUM_NODES" --ntasks="$SLURM_JOB_NUM_NODES" ray stop
date +%s.%N > ${dir}/stopped
`;
}

/** `ray symmetric-run` as its docs and the seed show it: one srun over all nodes, its defaults. */
function symScript(dir: string, n: number): string {
  return `#!/bin/bash
date +%s.%N > ${dir}/t0
source ${venv}/bin/activate
export PATH=${shim}:$PATH
set -euo pipefail
nodes_array=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))
ip_head="\${nodes_array[0]}:6379"
head_ip=$(getent hosts "\${nodes_array[0]}" | awk '{print $1}')
export ip_head head_ip
srun --nodes="$SLURM_JOB_NUM_NODES" --ntasks="$SLURM_JOB_NUM_NODES" bash -c 'export RAY_TMPDIR=${nodeTmp}-$SLURMD_NODENAME; exec \\
  ray symmetric-run --address "$ip_head" --min-nodes "$SLURM_JOB_NUM_NODES" \\
    --num-cpus="$SLURM_CPUS_PER_TASK" --num-gpus="\${SLURM_GPUS_PER_NODE:-0}" --temp-dir="$RAY_TMPDIR/ray" \\
    -- python -u ${probe} "$head_ip:6379" ${n} ${dir}/probe.json'
date +%s.%N > ${dir}/srun-exited
`;
}

/** Seed or symmetric-run: the probe is their entrypoint; teardown is measured from the probe's exit. */
async function peerOnce(s: Sample, kind: 'seed' | 'sym'): Promise<void> {
  const dir = join(work, `${kind}${s.nodes}-${s.round}`);
  mkdirSync(dir);
  const script = join(dir, 'job.sh');
  writeFileSync(script, kind === 'seed' ? seedScript(dir, s.nodes) : symScript(dir, s.nodes), { mode: 0o755 });
  const tokenFile = join(os.homedir(), '.ray', 'auth_token');
  const hadToken = existsSync(tokenFile);
  try {
    const args = [
      '-N',
      String(s.nodes),
      '--ntasks-per-node=1',
      '-c',
      String(CPUS),
      ...gpuArgs,
      '--exclusive',
      `--output=${dir}/out`,
    ];
    const jobId = sbatch(script, args);
    s.jobId = jobId;
    const until = kind === 'seed' ? 15 + 5 * (s.nodes - 1) + 90 : 120;
    const p = await poll(
      `${kind} probe`,
      () => {
        const r = readProbe(join(dir, 'probe.json'));
        if (r) return r;
        if (!squeueIds().includes(jobId)) throw new Error(`job ${jobId} ended without a probe result; see ${dir}/out`);
        return undefined;
      },
      until * 1000,
      10,
    );
    // symmetric-run's workers outlive the head (see the README): wait for them once, in round 1 at 4 nodes
    const deadline =
      kind === 'sym' && s.round === 1 && s.nodes === 4 && process.env.BENCH_SYM_TEARDOWN === '1' ? 120_000 : 10_000;
    const gone = await rayGoneAfter(jobId, p.exit, deadline);
    const t0 = readSecFile(join(dir, 't0'))!;
    Object.assign(s, probeTimes(p, t0, gone));
    if (gone.leftAtDeadline)
      s.notes.push(
        `${gone.leftAtDeadline.length} Ray process(es) still there ${deadline / 1000} s after the entrypoint exited`,
      );
    const stopped = readSecFile(join(dir, kind === 'seed' ? 'stopped' : 'srun-exited'));
    s.detail = { scriptEndAfterExitMs: stopped !== undefined ? stopped - p.exit : 'not reached' };
    const out = readText(join(dir, 'out')) ?? '';
    const waits = out.match(/Waiting for nodes to start\.\.\. \d+\/\d+/g);
    if (waits) s.detail.symmetricWaits = waits.join('; ');
    if (p.alive < s.nodes) throw new Error(`probe saw ${p.alive} of ${s.nodes} nodes alive`);
  } finally {
    s.notes.push(...(await cleanup(s.jobId, 0)));
    // srun says so only when it gives up (at scancel): read the batch output after the job ended
    if (/step creation temporarily disabled/.test(readText(join(dir, 'out')) ?? '')) {
      s.notes.push(
        'the final `srun ... ray stop` never got a step: the `ray start` steps hold the nodes (srun: "step creation temporarily disabled")',
      );
    }
    for (const d of readdirSync('/tmp'))
      if (d.startsWith(`${nodeTmp.slice(5)}-`)) rmSync(join('/tmp', d), { recursive: true, force: true });
    // a Ray that generated a token for the whole user (HOME is shared) must not outlive the run
    if (
      !hadToken &&
      existsSync(tokenFile) &&
      /Generated new authentication token/.test(readText(join(dir, 'out')) ?? '')
    ) {
      rmSync(tokenFile);
      s.notes.push(`removed ${tokenFile}, which this run's Ray generated`);
    }
  }
}

/** The host's CPU time so far (/proc/stat), all and busy (not idle or iowait), in ticks. */
function hostCpu(): { total: number; busy: number } | undefined {
  const f = /^cpu +(.*)$/m
    .exec(readText('/proc/stat') ?? '')?.[1]
    ?.split(/\s+/)
    .map(Number);
  if (!f || f.length < 5) return undefined;
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, busy: total - f[3]! - f[4]! };
}

// ---------------------------------------------------------------- the schedule
const samples: Sample[] = [];
async function run(config: string, nodes: number, round: number): Promise<Sample> {
  const q = await waitQueueEmpty();
  // someone else's Ray on this host (outside Slurm too) takes CPU from ours: wait for it, bounded
  const f0 = Date.now();
  let foreign = foreignRayCount(submittedJobs);
  while (foreign > 0 && Date.now() - f0 < Number(process.env.BENCH_FOREIGN_WAIT_MS ?? 30_000)) {
    await sleep(500);
    foreign = foreignRayCount(submittedJobs);
  }
  const s: Sample = {
    config,
    nodes,
    round,
    ok: false,
    queueWaitMs: q.waitedMs,
    queueOthers: q.others,
    foreignRayProcs: foreign,
    notes: [],
  };
  const cpu0 = hostCpu();
  s.load = { loadAvg1AtStart: Math.round(os.loadavg()[0]! * 100) / 100 };
  if (q.others.length) s.notes.push(`waited ${q.waitedMs} ms for jobs ${q.others.join(',')}`);
  if (Date.now() - f0 > 1000)
    s.notes.push(
      `waited ${Date.now() - f0} ms for another Ray on this host${foreign ? `; ${foreign} of its raylet/gcs processes still there` : ''}`,
    );
  try {
    if (config === 'floor') await floorOnce(s);
    else if (config.startsWith('raysl')) await rayslOnce(s);
    else await peerOnce(s, config.startsWith('seed') ? 'seed' : 'sym');
    s.ok = true;
  } catch (e) {
    s.error = (e as Error).message.split('\n')[0];
  }
  const cpu1 = hostCpu();
  if (cpu0 && cpu1 && cpu1.total > cpu0.total)
    s.load.hostBusyShare = Math.round(((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)) * 100) / 100;
  s.notes.push(...(await cleanup(s.jobId)));
  log(
    `${config} round ${round}: ${s.ok ? `joined ${s.joinedMs} ms` : `FAILED: ${s.error}`}${s.readyMs !== undefined ? `, ready ${s.readyMs} ms` : ''}, teardown ${s.teardownRayMs ?? '-'} ms${s.notes.length ? ` (${s.notes.join('; ')})` : ''}`,
  );
  return s;
}

const want = (c: string) => !ONLY || ONLY.includes(c);
log(`${rayVersion} from ${venv}; work dir ${work}; ${RUNS} rounds (${SEED_RUNS} with the seed script)`);
// warm-up (page cache, pyc files) and raysl's own head `ray start` line for the floor; recorded, not counted
const warm = await run('raysl1', 1, 0);
warm.config = 'warmup-raysl1';
samples.push(warm);

for (let round = 1; round <= RUNS; round++) {
  const order = [...CONFIGS, ...(round === 1 ? ONCE : []), ...(round <= SEED_RUNS ? ['seed4', 'sym2', 'seed2'] : [])];
  // rotate the order each round, so no configuration always follows the same one
  const rot = order.slice(round % order.length).concat(order.slice(0, round % order.length));
  for (const c of rot) if (want(c)) samples.push(await run(c, Number(/\d+/.exec(c)?.[0] ?? 1), round));
}

// ---------------------------------------------------------------- summary
const configs = [...new Set(samples.filter((s) => s.round > 0).map((s) => s.config))];
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const summary: Record<string, Record<string, unknown>> = {};
for (const c of configs) {
  const ok = samples.filter((s) => s.config === c && s.round > 0 && s.ok);
  const vals = (
    k:
      | 'joinedMs'
      | 'readyMs'
      | 'entrypointStartMs'
      | 'teardownRayMs'
      | 'teardownAllMs'
      | 'probeImportMs'
      | 'probeConnectMs',
  ) => ok.map((s) => s[k]).filter((x): x is number => typeof x === 'number');
  summary[c] = {
    runs: samples.filter((s) => s.config === c && s.round > 0).length,
    failed: samples.filter((s) => s.config === c && s.round > 0 && !s.ok).map((s) => `round ${s.round}: ${s.error}`),
    joinedMedianMs: med(vals('joinedMs')),
    joined: stats(vals('joinedMs')),
    readyMedianMs: vals('readyMs').length ? med(vals('readyMs')) : undefined,
    entrypointStartMedianMs: med(vals('entrypointStartMs')),
    probeImportMedianMs: med(vals('probeImportMs')),
    probeConnectMedianMs: med(vals('probeConnectMs')),
    teardownRayMedianMs: vals('teardownRayMs').length ? med(vals('teardownRayMs')) : undefined,
    teardownAllMedianMs: vals('teardownAllMs').length ? med(vals('teardownAllMs')) : undefined,
    teardownNotGoneIn30s: ok.filter((s) => s.teardownLeft).length,
    loadAvg1Median: med(ok.map((s) => s.load?.loadAvg1AtStart).filter((x): x is number => typeof x === 'number')),
    hostBusyShareMedian: med(ok.map((s) => s.load?.hostBusyShare).filter((x): x is number => typeof x === 'number')),
    ...(ok.some((s) => s.breakdown) ? { breakdownMedianMs: breakdownMedians(ok) } : {}),
  };
}
/** Per event: the median over samples of the head's time and of the last worker's time. */
function breakdownMedians(ok: Sample[]): Record<string, { head?: number; lastWorker?: number }> {
  const out: Record<string, { head?: number; lastWorker?: number }> = {};
  for (const [ev] of BREAKDOWN_EVENTS) {
    const head = ok
      .map((s) => s.breakdown?.find((b) => b.role === 'head')?.at[ev])
      .filter((x): x is number => typeof x === 'number');
    const last = ok
      .map((s) => {
        const xs = (s.breakdown ?? [])
          .filter((b) => b.role === 'worker')
          .map((b) => b.at[ev])
          .filter((x): x is number => typeof x === 'number');
        return xs.length ? Math.max(...xs) : undefined;
      })
      .filter((x): x is number => typeof x === 'number');
    if (head.length || last.length)
      out[ev] = { ...(head.length ? { head: med(head) } : {}), ...(last.length ? { lastWorker: med(last) } : {}) };
  }
  return out;
}

const j = (c: string) => (summary[c]?.joinedMedianMs as number | undefined) ?? NaN;
const r2 = (x: number) => Math.round(x * 100) / 100;
// ratios within each round (same conditions), then their median; and the ratio of the medians
const perRound = (a: string, b: string) => {
  const xs: number[] = [];
  for (let round = 1; round <= RUNS; round++) {
    const sa = samples.find((s) => s.config === a && s.round === round && s.ok);
    const sb = samples.find((s) => s.config === b && s.round === round && s.ok);
    if (sa?.joinedMs && sb?.joinedMs) xs.push(sa.joinedMs / sb.joinedMs);
  }
  return { ofMedians: r2(j(a) / j(b)), medianOfPerRound: xs.length ? r2(med(xs)) : undefined, perRound: xs.map(r2) };
};
const ratios: Record<string, ReturnType<typeof perRound>> = {
  raysl4OverFloor: perRound('raysl4', 'floor'),
  raysl4OverSymmetric4: perRound('raysl4', 'sym4'),
  raysl4plainOverFloor: perRound('raysl4plain', 'floor'),
  raysl4plainOverSymmetric4: perRound('raysl4plain', 'sym4'),
  raysl2OverFloor: perRound('raysl2', 'floor'),
  raysl1OverFloor: perRound('raysl1', 'floor'),
  seed4OverRaysl4: perRound('seed4', 'raysl4'),
  seed2OverRaysl2: perRound('seed2', 'raysl2'),
  symmetric4OverRaysl4: perRound('sym4', 'raysl4'),
  symmetric2OverRaysl2: perRound('sym2', 'raysl2'),
};
for (const c of configs) {
  const m = /^raysl(\d+)(plain|dash|agent)?$/.exec(c);
  if (!m) continue;
  const [, n, variant = ''] = m;
  ratios[`raysl${n}${variant}OverFloor`] ??= perRound(c, 'floor');
  if (configs.includes(`sym${n}`)) ratios[`raysl${n}${variant}OverSymmetric${n}`] ??= perRound(c, `sym${n}`);
}
for (const k of Object.keys(ratios)) if (Number.isNaN(ratios[k]!.ofMedians)) delete ratios[k];
const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
writeResult(NAME, {
  ray: rayVersion,
  machine: {
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    model: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1],
    kernel: os.release(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    cluster: `${execFileSync('sinfo', ['-h', '-o', '%D'], { encoding: 'utf8' }).trim()} Slurm nodes (network namespaces, ${labDir}) on this host, ${CPUS} CPUs + ${GPUS} fake GPUs per job node, one PID namespace and filesystem`,
  },
  durationS: Math.round((Date.now() - benchStart) / 1000),
  definitions: {
    joined:
      "batch script's first line -> the probe (entrypoint) sees N nodes alive in ray.nodes(); includes starting the probe's Python and `import ray`",
    ready: 'raysl: status.json `ready` phase; floor: "Ray runtime started." printed and the GCS port answers',
    teardown:
      "entrypoint exit (raysl: status.json; peers: the probe's last timestamp) -> no process of the job with the Ray venv in its command line left",
    cpuAtReady: "CPU seconds per node of the job's live processes plus their waited-for children when ready was seen",
    load: 'loadAvg1AtStart: /proc/loadavg when the sample started; hostBusyShare: (all CPU time - idle - iowait) / all CPU time of the host during the sample (/proc/stat)',
    breakdown: Object.fromEntries(BREAKDOWN_EVENTS),
  },
  targets: { raysl4OverFloor: 1.5, raysl4OverSymmetric4: 0.5, teardownMs: 1200 },
  summary,
  ratios,
  samples,
});
// keep the job dirs (scripts, logs) of failed runs; drop the rest
if (samples.every((s) => s.ok) && !process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
else log(`job dirs kept in ${work}`);
