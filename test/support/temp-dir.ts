// One home for a test's temporary directories: `tempDir('raysl-x-')` makes one under the system's
// temporary directory and remembers it; test/setup/globals.ts removes every one a test file made
// when that file ends (afterAll), so a run leaves nothing in /tmp. Product temp dirs are not made
// here: the tests that check a job leaves nothing behind look for those themselves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A new private directory (mode 0700) named `<prefix>XXXXXX`, removed when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory tempDir made so far (test/setup/globals.ts calls it after each file). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
