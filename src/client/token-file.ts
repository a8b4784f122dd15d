/**
 * The job's token as a client finds it: $RAYSL_TOKEN, else the file $RAYSL_TOKEN_FILE names (what
 * `raysl attach` exports, so the secret never appears on a screen or in shell history).
 */
import { readFileSync } from 'node:fs';
import { TOKEN_ENV, TOKEN_FILE_ENV } from '../core/env-names.js';
import { usageError } from './errors.js';

export function tokenFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const direct = env[TOKEN_ENV];
  if (direct) return direct;
  const file = env[TOKEN_FILE_ENV];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(
      `${TOKEN_FILE_ENV}=${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'run `eval "$(raysl attach <jobid>)"` again as the user who submitted the job, while the job runs',
    );
  }
  const token = text.trim();
  if (token === '')
    throw usageError(
      `${TOKEN_FILE_ENV}=${file} is empty`,
      "the job dir's token file is written when the controller starts: is the job running?",
    );
  return token;
}
