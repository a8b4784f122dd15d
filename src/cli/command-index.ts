/**
 * Every command, in the order --help lists them, as a cheap stub (name, summary, arguments) plus a
 * loader for its module. Only the command being run is loaded: `raysl --help` and `raysl render` never
 * pay for execa, ora or the controller, and the agent never for zod's full build, handlebars or yaml.
 * test/unit/command-index.test.ts checks that each stub says what its command's own registration says.
 */
import { Option, type Command } from 'commander';
import type { Register } from './app.js';

export interface CommandEntry {
  name: string;
  summary: string;
  /** commander argument syntax, e.g. '<entrypoint>', '[args...]' */
  args: readonly string[];
  /** the command has flags of its own: --help lists it as `name [options] ...` */
  options: boolean;
  hidden?: boolean;
  load: () => Promise<Register>;
}

const ENTRYPOINT = ['<entrypoint>', '[args...]'] as const;
const JOB_ID = ['[jobid]'] as const;

export const commandIndex: readonly CommandEntry[] = [
  {
    name: 'hostnames',
    summary: 'expand a Slurm hostlist expression into host names, one per line (like `scontrol show hostnames`)',
    args: ['[nodelist]'],
    options: false,
    load: async () => (await import('./commands/hostnames.js')).registerHostnames,
  },
  {
    name: 'hostlist',
    summary: 'compress host names into one hostlist expression (like `scontrol show hostlistsorted`)',
    args: ['<hosts...>'],
    options: true,
    load: async () => (await import('./commands/hostlist.js')).registerHostlist,
  },
  {
    name: 'render',
    summary: 'print the sbatch script for a job (submits nothing)',
    args: ENTRYPOINT,
    options: true,
    load: async () => (await import('./commands/render.js')).registerRender,
  },
  {
    name: 'check-ports',
    summary: 'preflight: show the port block a job would get, the raysl jobs already on the nodes, and any collision',
    args: [],
    options: true,
    load: async () => (await import('./commands/check-ports.js')).registerCheckPorts,
  },
  {
    name: 'submit',
    summary: 'submit a job: an ephemeral cluster in one Slurm allocation that runs <entrypoint> on its head',
    args: ENTRYPOINT,
    options: true,
    load: async () => (await import('./commands/submit.js')).registerSubmit,
  },
  {
    name: 'run',
    summary:
      'run a job on simulated nodes on this machine (no Slurm): same controller, agents and runtime as a real job',
    args: ENTRYPOINT,
    options: true,
    load: async () => (await import('./commands/run.js')).registerRun,
  },
  {
    name: 'status',
    summary: "a job's state: phases, nodes, exit code (status.json) and Slurm's state",
    args: JOB_ID,
    options: true,
    load: async () => (await import('./commands/status.js')).registerStatus,
  },
  {
    name: 'logs',
    summary:
      "print a job's logs: the entrypoint's output (default), an agent's, the controller's, or the runtime's kept logs",
    args: JOB_ID,
    options: true,
    load: async () => (await import('./commands/logs.js')).registerLogs,
  },
  {
    name: 'cancel',
    summary: 'stop a job: the controller tears the cluster down in order, then Slurm ends the job',
    args: ['<jobid>'],
    options: true,
    load: async () => (await import('./commands/cancel.js')).registerCancel,
  },
  {
    name: 'up',
    summary: 'start a cluster with no entrypoint: it holds for raysl exec until raysl down or its time limit',
    args: [],
    options: true,
    load: async () => (await import('./commands/up.js')).registerUp,
  },
  {
    name: 'exec',
    summary: 'run a command on the head of a cluster from raysl up, as its entrypoint would run; exit with its code',
    args: ['<jobid>', '<command...>'],
    options: true,
    load: async () => (await import('./commands/exec.js')).registerExec,
  },
  {
    name: 'attach',
    summary: 'print shell exports that reach a running cluster from here (eval "$(raysl attach <jobid>)")',
    args: ['<jobid>'],
    options: true,
    load: async () => (await import('./commands/attach.js')).registerAttach,
  },
  {
    name: 'down',
    summary: 'stop a cluster started by raysl up (orderly, as cancel) and wait for its final state',
    args: ['<jobid>'],
    options: true,
    load: async () => (await import('./commands/down.js')).registerDown,
  },
  {
    name: 'grow',
    summary: 'add nodes to a running cluster: a satellite Slurm job whose agents join it',
    args: ['<jobid>'],
    options: true,
    load: async () => (await import('./commands/grow.js')).registerGrow,
  },
  {
    name: 'shrink',
    summary: "give nodes back: drain a satellite's nodes, stop their agents, end the satellite",
    args: ['<jobid>', '<targets...>'],
    options: true,
    load: async () => (await import('./commands/shrink.js')).registerShrink,
  },
  {
    name: 'ls',
    summary: 'list your raysl jobs: id, name, state, nodes, port block, age',
    args: [],
    options: true,
    load: async () => (await import('./commands/ls.js')).registerLs,
  },
  {
    name: 'controller',
    summary: 'job controller (run by the batch script on the head node)',
    args: [],
    options: true,
    hidden: true,
    load: async () => (await import('./commands/controller.js')).registerController,
  },
  {
    name: 'satellite',
    summary: "a satellite's batch step: starts agents on its nodes that join the running cluster",
    args: [],
    options: true,
    hidden: true,
    load: async () => (await import('./commands/satellite.js')).registerSatellite,
  },
  {
    name: 'agent',
    summary: 'per-node agent (started by the controller; the job token comes from RAYSL_TOKEN)',
    args: [],
    options: true,
    hidden: true,
    load: async () => (await import('./commands/agent.js')).registerAgent,
  },
];

/**
 * The command argv names, as commander will dispatch it: the first word that is not a flag (raysl's
 * global flags take no value), or for `raysl help <command>` the command asked about.
 */
export function commandNamed(argv: readonly string[]): string | undefined {
  const dd = argv.indexOf('--');
  const words = (dd === -1 ? argv : argv.slice(0, dd)).filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/** What --help lists for a command that is not loaded; its action is never reached (see commandNamed). */
function registerStub(program: Command, entry: CommandEntry): void {
  const cmd = program.command(entry.name, entry.hidden ? { hidden: true } : {}).description(entry.summary);
  for (const arg of entry.args) cmd.argument(arg);
  // commander writes `[options]` after a command's name when it has any option: a hidden stand-in
  if (entry.options) cmd.addOption(new Option('--stub-options').hideHelp());
  cmd.action(() => {
    throw new Error(`command ${entry.name} was dispatched to its stub (raysl loaded another command's module)`);
  });
}

/** The named command's full registration (loaded now), every other command as a stub, in --help order. */
export async function commandsFor(argv: readonly string[]): Promise<Register[]> {
  const name = commandNamed(argv);
  return Promise.all(
    commandIndex.map(
      async (entry): Promise<Register> =>
        entry.name === name ? entry.load() : (program) => registerStub(program, entry),
    ),
  );
}
