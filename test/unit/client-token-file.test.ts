import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenFromEnv } from '../../src/client/token-file.js';
import { tempDir } from '../support/temp-dir.js';

describe('tokenFromEnv: RAYSL_TOKEN, else the file RAYSL_TOKEN_FILE names', () => {
  const dirs: string[] = [];
  const file = (text: string): string => {
    const d = tempDir('raysl-token-');
    dirs.push(d);
    writeFileSync(join(d, 'token'), text, { mode: 0o600 });
    return join(d, 'token');
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reads the file (trailing newline dropped) when RAYSL_TOKEN is unset', () => {
    expect(tokenFromEnv({ RAYSL_TOKEN_FILE: file('s3cret\n') })).toBe('s3cret');
  });
  it('prefers RAYSL_TOKEN over the file', () => {
    expect(tokenFromEnv({ RAYSL_TOKEN: 'direct', RAYSL_TOKEN_FILE: file('other\n') })).toBe('direct');
  });
  it('is undefined with neither', () => {
    expect(tokenFromEnv({})).toBeUndefined();
  });
  it('a missing or empty file is a usage error naming the file', () => {
    expect(() => tokenFromEnv({ RAYSL_TOKEN_FILE: '/nonexistent/raysl/token' })).toThrow(
      /RAYSL_TOKEN_FILE=\/nonexistent\/raysl\/token cannot be read: ENOENT/,
    );
    const empty = file('\n');
    expect(() => tokenFromEnv({ RAYSL_TOKEN_FILE: empty })).toThrow(/is empty/);
  });
});
