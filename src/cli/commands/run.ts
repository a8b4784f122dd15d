import type { Command } from 'commander';
import { globalsOf, type App, type Register } from '../app.js';
import type { ControllerEdges } from '../../controller/controller.js';
import { writeWarnings } from '../io.js';
import { UsageError } from '../../core/errors.js';
import { LIMITS, parseCount } from '../../core/option-values.js';
import { planJob } from '../../core/plan.js';
import { parseTimeLimit } from '../../core/option-values.js';
import type { Plan } from '../../core/types.js';
import { localSpec } from '../local-flags.js';
import { assertWrapperRuns, runSetupLines } from '../local-setup.js';
import { withTimeLimit } from '../local-time-limit.js';
import { compressHostlist } from '../../core/nodelist.js';
import { addJobOptions, specFromCli } from '../job-options.js';
import { ensureJobDir } from '../job-dir-check.js';
import { localFacts } from '../facts.js';
import { rayslPaths } from '../paths.js';
import { controllerFaults } from '../injected-faults.js';
import { runController } from '../../controller/controller.js';
import { localLauncher } from '../../launchers/local.js';

export const LOCAL_DEFAULTS = { cpusPerNode: 4, memoryMb: 4096 } as const;
/** Simulated node i listens on 127.0.1.<i>, i = 1..254 (0 and 255 are not host addresses). */
const MAX_LOCAL_NODES = 254;

/** `local-<epoch ms>-<pid>`: unique per machine, sorts by start time, safe as a file name. */
function localJobId(now: number, pid: number): string {
  return `local-${now}-${pid}`;
}

export const registerRun: Register = (program, app) => {
  const cmd: Command = program
    .command('run')
    .description(
      'run a job on simulated nodes on this machine (no Slurm): same controller, agents and runtime as a real job',
    )
    .argument('<entrypoint>', 'script to run on the head once the cluster is up (.ts, .js, .py, .sh or an executable)')
    .argument('[args...]', 'arguments for the entrypoint (after --)')
    .option('--local', 'run on this machine: each node is a child process on its own loopback address 127.0.1.<i>')
    .option('--cpus-per-node <n>', `simulated CPUs per node (default ${LOCAL_DEFAULTS.cpusPerNode})`)
    .option('--mem-per-node <mb>', `simulated memory per node in MB (default ${LOCAL_DEFAULTS.memoryMb})`);
  addJobOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ raysl run --local -N 4 examples/train.ts                     # 4 simulated nodes, builtin runtime
  $ raysl run --local -N 2 --gpus-per-node 2 examples/train.ts   # simulated GPUs (CUDA_VISIBLE_DEVICES=0,1)
  $ raysl run --local -N 4 --min-nodes 3 train.ts -- --epochs 3

Exit code: the entrypoint's own; 4 if the cluster did not form, 5 if a node was lost.
Job files (status.json, logs) land in <job-dir>/local-<time>-<pid>/.`,
  );
  cmd.action(async (entrypoint: string, args: string[], opts: Record<string, unknown>, command: Command) => {
    app.setExitCode(await runLocal(entrypoint, args, opts, app, command));
  });
};

export interface LocalJob {
  plan: Plan;
  /** Simulated node names, node1..nodeN. */
  nodes: string[];
  /** The time limit in seconds (Infinity without --time). */
  limitSec: number;
}

/**
 * Flags + config -> the plan a local job runs, checked: every job option is honoured as on Slurm
 * or refused (local-flags.ts). Starts nothing (`up --local --dry-run` prints it).
 */
export async function planLocal(
  entrypoint: string | null,
  args: string[],
  opts: Record<string, unknown>,
  app: App,
): Promise<LocalJob> {
  const name = entrypoint === null ? 'up' : 'run';
  if (!opts.local) {
    throw new UsageError('raysl run needs --local (runs on this machine without Slurm)', {
      hint: 'use `raysl run --local ...` here, or `raysl submit ...` to run on the cluster',
    });
  }
  const cpus =
    opts.cpusPerNode !== undefined
      ? parseCount(String(opts.cpusPerNode), '--cpus-per-node', 1, LIMITS.cpusPerTask.max, LIMITS.cpusPerTask.why)
      : LOCAL_DEFAULTS.cpusPerNode;
  const memoryMb =
    opts.memPerNode !== undefined
      ? parseCount(String(opts.memPerNode), '--mem-per-node', 1, LIMITS.memMb.max, LIMITS.memMb.why)
      : LOCAL_DEFAULTS.memoryMb;
  const given = await specFromCli(entrypoint, args, opts, app.io);
  if (given.nodes + (given.headCpusOnly ? 1 : 0) > MAX_LOCAL_NODES) {
    throw new UsageError(
      `--nodes ${given.nodes}: ${name} --local simulates at most ${MAX_LOCAL_NODES} nodes (node i listens on 127.0.1.<i>)`,
      {
        hint: `use -N ${MAX_LOCAL_NODES} or less here, or raysl ${name === 'run' ? 'submit' : 'up'} for more nodes`,
      },
    );
  }
  if (given.containerImage !== undefined) {
    throw new UsageError(
      `--container-image ${given.containerImage}: ${name} --local has no srun, and pyxis images run only as srun steps`,
      {
        hint: `use raysl ${name === 'run' ? 'submit' : 'up'} for --container-image, or --container-cmd "apptainer exec ..." (a wrapper) under ${name} --local`,
      },
    );
  }
  const { spec: cli, warnings } = localSpec(given, opts, name);
  // A simulated node has exactly the memory it was given: tell the runtime so (Ray would otherwise
  // size its object store from the host's memory).
  const spec = cli.mem === undefined ? { ...cli, mem: String(memoryMb) } : cli;
  const paths = rayslPaths();
  // --head-cpus-only: one more simulated node for the head (-N counts the GPU workers)
  const simulated = localFacts(spec.nodes + (spec.headCpusOnly ? 1 : 0), {
    cpus: spec.cpusPerTask ?? cpus,
    gpus: spec.gpusPerNode ?? 0,
    memoryMb,
  });
  // ... a node without GPUs, as a real cluster's CPU node would be
  const facts = spec.headCpusOnly
    ? { ...simulated, nodes: simulated.nodes.map((n, i) => (i === 0 ? { ...n, gpus: 0, gres: '(null)' } : n)) }
    : simulated;
  const plan = planJob(spec, facts, {
    tsx: paths.tsx,
    nodeStripsTypes: paths.nodeStripsTypes,
    hook: paths.entryHook,
    node: paths.node,
    cwd: app.io.cwd,
  });
  return {
    plan: { ...plan, warnings: [...warnings, ...plan.warnings] },
    nodes: facts.nodes.map((n) => n.name),
    limitSec: spec.time !== undefined ? parseTimeLimit(spec.time) : Infinity,
  };
}

/**
 * The job on simulated nodes, with this process as its controller; resolves with its exit code.
 * No entrypoint (`raysl up --local`): the cluster holds for `raysl exec` until this process is stopped.
 * As the batch script does on Slurm: --setup first, then the controller in the environment it left.
 */
export async function runLocal(
  entrypoint: string | null,
  args: string[],
  opts: Record<string, unknown>,
  app: App,
  command: Command,
  onListening?: ControllerEdges['onListening'],
): Promise<number> {
  const { plan, nodes, limitSec } = await planLocal(entrypoint, args, opts, app);
  ensureJobDir(plan.jobDir);
  writeWarnings(globalsOf(command), app.io, plan.warnings);
  const env = await runSetupLines(plan.setup, app.io);
  if (plan.container !== undefined && 'cmd' in plan.container)
    assertWrapperRuns(plan.container.cmd[0]!, env, app.io.cwd);
  const jobId = localJobId(app.io.now(), process.pid);
  const paths = rayslPaths();
  const signals = withTimeLimit(process, limitSec, plan.preempt, (line) => app.io.stderr.write(`raysl: ${line}\n`));
  try {
    return await runController(plan, {
      env: { ...env, SLURM_JOB_ID: jobId, SLURM_JOB_NODELIST: compressHostlist(nodes) },
      stdout: app.io.stdout,
      stderr: app.io.stderr,
      now: app.io.now,
      cwd: app.io.cwd,
      launcher: localLauncher(),
      agentArgv: [paths.node, '--', paths.raysl, 'agent'],
      clientHook: paths.entryHook,
      signals,
      ...controllerFaults(),
      ...(onListening ? { onListening } : {}),
    });
  } finally {
    signals.dispose();
  }
}
