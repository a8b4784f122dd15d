/** status.json: per-node news is batched into one write, state changes are written at once. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { StatusFile } from '../../src/controller/status-file.js';
import type { JobStatus } from '../../src/core/status.js';

const dir = mkdtempSync(join(tmpdir(), 'raysl-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as JobStatus & { n?: number };
const bump = (s: JobStatus) => ({ ...s, n: ((s as { n?: number }).n ?? 0) + 1 }) as JobStatus;

describe('StatusFile', () => {
  it('writes a burst of per-node news once, after the window, and update() writes everything at once', async () => {
    const path = join(dir, 'a.json');
    const f = new StatusFile(path, { state: 'forming' } as unknown as JobStatus, 30);
    for (let i = 0; i < 100; i++) f.updateSoon(bump);
    expect(read(path).n).toBeUndefined(); // not yet: batched
    expect((f.value as { n?: number }).n).toBe(100); // but the value is current
    await vi.waitFor(() => expect(read(path).n).toBe(100), { timeout: 5000, interval: 5 });
    f.updateSoon(bump);
    f.update((s) => ({ ...s, state: 'running' }) as JobStatus);
    expect(read(path)).toMatchObject({ state: 'running', n: 101 });
  });
});
