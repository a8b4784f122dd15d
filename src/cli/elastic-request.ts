/**
 * `raysl grow|shrink` reach the job's control server as `raysl exec` does (status.json's address,
 * the job dir's 0600 token): one JSON request, its refusals turned into one-line errors with a hint.
 */
import { RayslError, SlurmError, UsageError } from '../core/errors.js';
import { requestJson } from '../protocol/http.js';
import { readToken, type LiveJob } from './live-job.js';

export async function elasticRequest(
  live: LiveJob,
  method: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<unknown> {
  const jobId = live.job.jobId;
  let answer: { status: number; body: unknown };
  try {
    answer = await requestJson(live.address, readToken(live), method, path, body, timeoutMs);
  } catch (err) {
    throw new UsageError(
      `cannot reach job ${jobId}'s controller at ${live.address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { hint: `is it still running? raysl status ${jobId}` },
    );
  }
  if (answer.status === 200) return answer.body;
  const { error, kind } = (answer.body ?? {}) as { error?: string; kind?: string };
  const message = error ?? `HTTP ${answer.status}`;
  if (answer.status === 401)
    throw new UsageError(`job ${jobId} refused the token in its job dir`, {
      hint: 'run this as the user who started the job',
    });
  if (kind === 'slurm-failed')
    throw new SlurmError(message, {
      hint: 'check the flags against the partition (sinfo), or run the satellite script named in raysl status by hand with sbatch',
    });
  if (kind === 'not-elastic')
    throw new UsageError(message, {
      hint:
        live.status.launcher === 'local'
          ? 'run the cluster on Slurm (raysl up -N <n>) to grow it'
          : `shrink a satellite or one of its nodes: raysl status ${jobId} lists them`,
    });
  if (answer.status === 404 && kind === undefined)
    throw new UsageError(`job ${jobId}'s controller has no grow/shrink endpoint (${message})`, {
      hint: 'the job runs an older raysl: start the cluster with this one',
    });
  if (answer.status >= 400 && answer.status < 500)
    throw new UsageError(message, { hint: `raysl status ${jobId} shows its nodes and satellites` });
  throw new RayslError(`job ${jobId}: HTTP ${answer.status}: ${message}`, {
    exitCode: 70,
    hint: `raysl logs ${jobId} --controller`,
  });
}
