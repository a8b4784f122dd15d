/** The job's secret: random per job, kept in a 0600 file and an inherited env var, never in argv. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFileSync, chmodSync } from 'node:fs';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function writeTokenFile(path: string, token: string): void {
  // mode applies on create; chmod covers a file left over from an earlier run of the same id
  writeFileSync(path, token + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Constant-time check of an `Authorization: Bearer <token>` header (hashing hides the length). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const m = /^Bearer\s+(\S+)$/.exec(header);
  if (!m || !m[1]) return false;
  const a = createHash('sha256').update(m[1]).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
