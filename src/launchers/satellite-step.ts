/**
 * A satellite's batch step (`raysl satellite`, the last line of its script): tells the running
 * controller which nodes Slurm gave it (the controller answers with the satellite's port block and
 * expects their agents), then starts one agent per node in ONE srun step, as the srun launcher
 * does for a job's workers. The token comes from the job dir's 0600 file and reaches the agents in
 * the inherited environment, never argv. The step ends when its agents end: the controller stops
 * them (shrink, teardown) or Slurm does (scancel: the signal reaches the step and this process).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { wrapperPrefix } from '../core/container.js';
import { JOIN_TIMEOUT_ENV, TOKEN_ENV } from '../core/env-names.js';
import { ClusterFormError, UsageError } from '../core/errors.js';
import { jobPaths } from '../core/jobdir.js';
import { compressHostlist, expandHostlist } from '../core/nodelist.js';
import type { Plan } from '../core/types.js';
import { precreateJobFile } from '../jobdir/modes.js';
import { exitOf } from '../proc/terminate.js';
import { requestJson } from '../protocol/http.js';
import { srunArgv } from '../slurm/srun.js';
import { containerFlags } from './srun.js';

export interface SatelliteStepOptions {
  jobDir: string;
  satellite: string;
  controller: string;
  containerImage?: string;
  env: NodeJS.ProcessEnv;
  /** [node binary, '--', raysl bundle]: what runs `raysl agent` on the nodes. */
  rayslArgv: string[];
  /** The package root pyxis mounts under --container-image. */
  packageRoot: string;
  log: (line: string) => void;
}

/** GPUs per node of this allocation, as sbatch exported them ("2", "gpu:2", "tesla:2"). */
function gpusPerNode(env: NodeJS.ProcessEnv): number {
  const m = /(\d+)$/.exec(env.SLURM_GPUS_PER_NODE ?? '');
  return m ? Number(m[1]) : 0;
}

export async function runSatelliteStep(o: SatelliteStepOptions): Promise<number> {
  const { env, log } = o;
  const paths = jobPaths(dirname(o.jobDir), basename(o.jobDir));
  const slurmJobId = env.SLURM_JOB_ID;
  const nodelist = env.SLURM_JOB_NODELIST;
  if (!slurmJobId || !nodelist)
    throw new UsageError(
      'raysl satellite runs as the batch step of a satellite job (SLURM_JOB_ID and SLURM_JOB_NODELIST unset)',
      { hint: 'satellites are submitted by raysl grow, not by hand' },
    );
  let token: string;
  let plan: Plan;
  try {
    token = readFileSync(paths.token, 'utf8').trim();
    plan = JSON.parse(readFileSync(paths.plan, 'utf8')) as Plan;
  } catch (err) {
    throw new UsageError(
      `satellite ${o.satellite}: cannot read the job's token or plan in ${o.jobDir}: ${(err as Error).message}`,
      { hint: "the satellite must run as the job's user on a node that shares its job dir" },
    );
  }
  const nodes = expandHostlist(nodelist);
  const said = await requestJson(
    o.controller,
    token,
    'POST',
    `/v1/satellites/${encodeURIComponent(o.satellite)}/started`,
    { slurmJobId, nodes },
    60_000,
  ).catch((err: Error) => {
    throw new ClusterFormError(
      `satellite ${o.satellite}: cannot reach the job's controller at ${o.controller}: ${err.message}`,
      { hint: 'the cluster may have ended; raysl status <jobid>' },
    );
  });
  if (said.status !== 200) {
    throw new ClusterFormError(
      `satellite ${o.satellite}: the controller refused it (${said.status}): ${(said.body as { error?: string } | null)?.error ?? 'no reason given'}`,
      { hint: 'raysl status <jobid> says why' },
    );
  }
  log(
    `satellite ${o.satellite} (Slurm ${slurmJobId}) on ${nodelist}: starting ${nodes.length} agent(s), controller ${o.controller}`,
  );
  for (const n of nodes) precreateJobFile(paths.agentLog(n));
  const image =
    o.containerImage ?? (plan.container !== undefined && 'image' in plan.container ? plan.container.image : undefined);
  const container =
    image !== undefined
      ? containerFlags({ image, hostPaths: [o.rayslArgv[0] ?? '', o.packageRoot] }, env, [o.jobDir])
      : [];
  const [cmd, ...args] = srunArgv({
    nodes: nodes.length,
    nodelist: compressHostlist(nodes),
    ntasksPerNode: 1,
    gpusPerNode: gpusPerNode(env),
    overlap: true,
    jobName: `raysl-agent-${o.satellite}`,
    output: `${o.jobDir.replaceAll('%', '%%')}/agent-%N.log`,
    extra: ['--kill-on-bad-exit=0', '--open-mode=append', '--input=none', ...container],
    command: [
      ...wrapperPrefix(image !== undefined ? undefined : plan.container),
      ...o.rayslArgv,
      'agent',
      '--controller',
      o.controller,
      '--role',
      'worker',
    ],
  }) as [string, ...string[]];
  const agentEnv = {
    ...env,
    ...plan.env,
    [TOKEN_ENV]: token,
    RAYSL_JOB_ID: basename(o.jobDir),
    RAYSL_JOB_DIR: o.jobDir,
    RAYSL_SATELLITE: o.satellite,
    [JOIN_TIMEOUT_ENV]: String(plan.joinTimeoutSec),
  };
  const child = spawn(cmd, args, { env: agentEnv, stdio: ['ignore', 'inherit', 'inherit'] });
  // scancel signals this batch step too: srun passes it on to every agent, which stops its runtime
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => forward(sig));
  const exit = await exitOf(child);
  log(
    `satellite ${o.satellite}: its agents ended (${exit.signal ? `srun killed by ${exit.signal}` : `srun exit ${exit.code}`})`,
  );
  return exit.code ?? 1;
}
