/**
 * Plan -> sbatch script text (pure). The script is the whole job: #SBATCH lines, the user's setup
 * lines, exported env, and ONE exec of the controller with the plan as JSON on its stdin. Every interpolated
 * value goes through a quoting helper; the template (templates/sbatch.hbs) holds only layout.
 */
// the runtime only: the template comes precompiled (strict, noEscape: scripts/hbs.mjs)
import Handlebars from 'handlebars/runtime';
import template from '../../templates/sbatch.hbs';
import { describeLayout } from '../core/ports.js';
import { UsageError } from '../core/errors.js';
import { assertNoNewline } from '../core/option-values.js';
import { describeGrant } from '../core/resources.js';
import { wrapperPrefix } from '../core/container.js';
import type { NodeResources, Plan } from '../core/types.js';
import { sbatchQuote, sbatchWord, shellJoin, shellQuote } from './quote.js';

export interface RenderContext {
  /** Absolute path of the node binary on the compute nodes (same shared install as the login node). */
  node: string;
  /** Absolute path of the raysl bundle (dist/raysl.mjs). */
  raysl: string;
  /** The runtime's per-role command lines, shown in the header (ray: `ray start` of head and worker). */
  runtimeCommands?: Array<{ role: string; command: string }>;
}

// The plan travels in the script (a heredoc, one line): sbatch refuses scripts over 4 MB by default
// (max_script_size), and slurmctld keeps every pending script in memory; stay well below.
const MAX_PLAN_JSON = 1_000_000;

const hbs = Handlebars.create();
hbs.registerHelper('sh', (v: unknown) => shellQuote(String(v)));
// Comment text: a newline would end the comment and turn the rest into code, so flatten control chars.
hbs.registerHelper('comment', (v: unknown) => String(v).replace(/[\x00-\x1f\x7f]/g, '?'));
hbs.registerHelper('sbatchOption', (flag: string, value: string) => {
  assertNoNewline(value, flag);
  return value === '' ? flag : `${flag}=${sbatchQuote(value)}`;
});
hbs.registerHelper('sbatchWord', (word: string) => sbatchWord(word));
hbs.registerHelper('verbatim', (line: string) => {
  assertNoNewline(line, '--setup');
  return line;
});
const compiled = hbs.template<unknown>(template);

function describeResources(r: NodeResources): string {
  const parts = [`${r.cpus} CPU${r.cpus === 1 ? '' : 's'}`, `${r.gpus} GPU${r.gpus === 1 ? '' : 's'}`];
  parts.push(r.memoryMb !== undefined ? `${r.memoryMb} MB memory` : 'memory: Slurm default');
  return parts.join(', ');
}

/** The header's account of Slurm's warning: when it comes and what the entrypoint gets of it. */
function describePreempt(p: NonNullable<Plan['preempt']>): string {
  return `Slurm sends USR2 ${p.warnSec} s before the limit: ${p.signal} to the entrypoint, ${p.entrypointGraceSec} s to exit, then teardown; exit 6`;
}

export function renderSbatch(plan: Plan, ctx: RenderContext): string {
  const planJson = JSON.stringify(plan);
  if (planJson.length > MAX_PLAN_JSON) {
    throw new UsageError(
      `the plan is ${planJson.length} bytes as JSON, more than the ${MAX_PLAN_JSON} a batch script should carry`,
      {
        hint: 'pass fewer or shorter entrypoint arguments, setup lines or --env values (put them in a file the entrypoint reads)',
      },
    );
  }
  assertNoNewline(ctx.node, 'the node path');
  assertNoNewline(ctx.raysl, 'the raysl path');
  for (const key of Object.keys(plan.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new UsageError(`--env key ${JSON.stringify(key)} is not a shell variable name`, {
        hint: 'use letters, digits and _',
      });
  }
  return compiled({
    plan,
    node: ctx.node,
    raysl: ctx.raysl,
    planJson,
    entrypointLine: plan.entrypoint
      ? shellJoin([...plan.entrypoint.interpreter, plan.entrypoint.path, ...plan.entrypoint.args])
      : 'none (raysl up): the cluster holds for raysl exec until raysl down or the time limit',
    perNode: plan.hetjob
      ? `${describeResources(plan.perNode)} (GPU workers; the head: its own component)`
      : describeResources(plan.perNode),
    components: (plan.hetjob ?? []).map(
      (c) =>
        `${c.index}: ${c.role === 'head' ? 'the head' : 'the workers'}, ${c.nodes} node${c.nodes === 1 ? '' : 's'}, ${describeResources(c.perNode)} per node (srun --het-group=${c.index})`,
    ),
    workerComponent: plan.hetjob?.[1],
    aggregate: `${describeResources(plan.aggregate)} over ${plan.nodes} node${plan.nodes === 1 ? '' : 's'}`,
    portLines: describeLayout(plan.portLayout)
      .split('\n')
      .filter((l) => l.trim() !== ''),
    envKeys: Object.keys(plan.env),
    runtimeCommands: ctx.runtimeCommands ?? [],
    resourceLines: (plan.resources ?? []).map(describeGrant),
    containerLines: describeContainer(plan, ctx),
    preemptLine: plan.preempt ? describePreempt(plan.preempt) : '',
  });
}

/** What `--container-image` / `--container-cmd` make of the agent and entrypoint commands, for the script's header. */
function describeContainer(plan: Plan, ctx: Pick<RenderContext, 'node' | 'raysl'>): string[] {
  const c = plan.container;
  if (c === undefined) return [];
  const e = plan.entrypoint;
  const entry =
    e === null
      ? 'none (raysl up): each raysl exec command runs the same way'
      : shellJoin([...wrapperPrefix(c), ...e.interpreter, e.path, ...e.args]);
  if ('cmd' in c) {
    return [
      `agents:     ${shellJoin([...c.cmd, ctx.node, ctx.raysl, 'agent'])} --controller <host:port> --role <head|worker>`,
      `entrypoint: ${entry}`,
    ];
  }
  return [
    `pyxis image ${shellQuote(c.image)}, host networking; each agent step and the entrypoint's step (srun on the head) gets`,
    `  ${shellJoin([`--container-image=${c.image}`])} --container-mounts=<job dir>,<$TMPDIR>,/tmp,${shellQuote(ctx.node)},<raysl package root> (each at its host path)`,
    `entrypoint: ${entry} (--container-workdir=<submit dir>)`,
  ];
}

/** The sbatch command that submits a rendered script; every option lives in the script itself. */
export function sbatchArgvFor(_plan: Plan, scriptPath: string): string[] {
  return ['sbatch', '--parsable', scriptPath];
}
