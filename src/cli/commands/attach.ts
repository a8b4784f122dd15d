/**
 * `raysl attach <jobid>`: shell exports that reach a running cluster from the login node, for
 * `eval "$(raysl attach 1234)"`. The token never appears: RAYSL_TOKEN_FILE (and Ray's
 * RAY_AUTH_TOKEN_PATH) name the job dir's 0600 token file. Ray's dashboard is reached through an
 * `ssh -L` line (a comment, so eval skips it).
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { nodeOptionsWithHook } from '../../core/entrypoint.js';
import { ADDRESS_ENV, TOKEN_ENV, TOKEN_FILE_ENV } from '../../core/env-names.js';
import { isLocalJobId } from '../../core/jobdir.js';
import { shellQuote } from '../../render/quote.js';
import { resolveRayPorts } from '../../runtimes/ray/ports.js';
import { getRuntime } from '../../runtimes/index.js';
import { globalsOf, type Register } from '../app.js';
import { writeJson } from '../io.js';
import { liveJob, type LiveJob } from '../live-job.js';
import { rayslPaths } from '../paths.js';

export interface Attachment {
  jobId: string;
  runtime: string;
  head: string;
  /** Variables to export; undefined means unset (an inherited RAYSL_TOKEN of another job would win over the file). */
  env: Record<string, string | undefined>;
  /** Ray's dashboard (ray runtime only): its URL, and for a Slurm job the `ssh -L` that reaches it from a laptop. */
  dashboard?: { url: string; tunnel?: string; localPort?: number };
}

/**
 * clientHook: raysl's entry hook (a file: URL) for NODE_OPTIONS, so `node my-client.mjs` resolves
 * `import { connect } from 'raysl'` without an install of its own (ESM ignores NODE_PATH), as an
 * entrypoint does; nodeOptions: the caller's NODE_OPTIONS it is added to.
 */
export function attachment(
  live: LiveJob,
  loginHost: string,
  client?: { clientHook: string; nodeOptions: string | undefined },
): Attachment {
  const { status, plan, job } = live;
  const head = status.nodes.find((n) => n.role === 'head');
  const headAddress = head?.address ?? live.address.slice(0, live.address.lastIndexOf(':'));
  const base = status.portBlock?.base;
  const env: Record<string, string | undefined> = {
    [ADDRESS_ENV]: live.address,
    [TOKEN_FILE_ENV]: live.tokenFile,
    [TOKEN_ENV]: undefined,
    RAYSL_JOB_ID: job.jobId,
    RAYSL_JOB_DIR: job.paths.dir,
    ...(client ? { NODE_OPTIONS: nodeOptionsWithHook(client.nodeOptions, client.clientHook) } : {}),
  };
  let dashboard: Attachment['dashboard'];
  if (base !== undefined) {
    Object.assign(
      env,
      getRuntime(plan.runtime).entrypointEnv({
        address: headAddress,
        portBase: base,
        layout: plan.portLayout,
        rayAuth: plan.rayAuth,
        tokenFile: live.tokenFile,
        jobDir: job.paths.dir,
      }),
    );
    if (plan.runtime === 'ray') {
      const port = resolveRayPorts(base, plan.portLayout).ports.dashboard;
      // a local job's head is this machine: no tunnel to anywhere
      dashboard = isLocalJobId(job.jobId)
        ? { url: `http://${headAddress}:${port}` }
        : {
            url: `http://localhost:8265`,
            localPort: 8265,
            tunnel: `ssh -N -L 8265:${headAddress}:${port} ${loginHost}`,
          };
    }
  }
  return { jobId: job.jobId, runtime: plan.runtime, head: status.head, env, ...(dashboard ? { dashboard } : {}) };
}

export function exportLines(a: Attachment): string {
  const lines = [`# raysl job ${a.jobId}: ${a.runtime} cluster, head ${a.head} (the token stays in its file)`];
  for (const [k, v] of Object.entries(a.env))
    lines.push(v === undefined ? `unset ${k}` : `export ${k}=${shellQuote(v)}`);
  if (a.dashboard?.tunnel !== undefined)
    lines.push(`# Ray dashboard: run on your laptop, then open ${a.dashboard.url}`, `#   ${a.dashboard.tunnel}`);
  else if (a.dashboard) lines.push(`# Ray dashboard (on this machine): ${a.dashboard.url}`);
  return lines.join('\n') + '\n';
}

export const registerAttach: Register = (program, app) => {
  program
    .command('attach')
    .description('print shell exports that reach a running cluster from here (eval "$(raysl attach <jobid>)")')
    .argument('<jobid>', 'Slurm job id or local-<time>-<pid>')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ eval "$(raysl attach 1234)"
  $ python3 -c 'import ray; ray.init(); print(ray.nodes())'     # a ray cluster: RAY_ADDRESS is set
  $ node my-client.mjs                                          # import { connect } from 'raysl' (NODE_OPTIONS loads raysl's resolver)
  $ raysl attach 1234 --json | jq -r .dashboard.tunnel

Prints no secret: RAYSL_TOKEN_FILE and RAY_AUTH_TOKEN_PATH name the job dir's 0600 token file.`,
    )
    .action(async (id: string, opts: { jobDir?: string }, command: Command) => {
      const a = attachment(await liveJob(id, opts.jobDir, app.io), hostname(), {
        clientHook: rayslPaths().entryHook,
        nodeOptions: app.io.env.NODE_OPTIONS,
      });
      if (globalsOf(command).json) return writeJson(app.io, a);
      app.io.stdout.write(exportLines(a));
    });
};
