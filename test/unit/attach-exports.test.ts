import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exportLines, type Attachment } from '../../src/cli/attach.js';

const odd = "/home/o'neil/my jobs/$HOME/`x`/42";
const a: Attachment = {
  jobId: '42',
  runtime: 'ray',
  head: 'node1',
  env: { RAYSL_ADDRESS: '10.0.0.1:30000', RAYSL_TOKEN_FILE: `${odd}/token`, RAYSL_TOKEN: undefined, RAY_ADDRESS: '10.0.0.1:30001', RAY_AUTH_TOKEN: undefined },
  dashboard: { url: 'http://localhost:8265', localPort: 8265, tunnel: 'ssh -N -L 8265:10.0.0.1:30005 login1' },
};

describe('attach: export lines for eval', () => {
  it('quotes every value (a job dir with a quote, a space, $ and backticks survives eval as written) and unsets the rest', () => {
    const text = exportLines(a);
    expect(text).toContain('unset RAYSL_TOKEN\n');
    expect(text).toMatch(/^# {3}ssh -N -L 8265:10\.0\.0\.1:30005 login1$/m);
    const r = spawnSync('bash', ['-c', `${text}\nprintf '%s|%s|%s' "$RAYSL_TOKEN_FILE" "$RAY_ADDRESS" "\${RAYSL_TOKEN-unset}"`], { encoding: 'utf8', env: { ...process.env, RAYSL_TOKEN: 'another-jobs' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${odd}/token|10.0.0.1:30001|unset`);
  });
});
