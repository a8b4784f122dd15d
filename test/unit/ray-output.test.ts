import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldRayOutput, parseRayLine, rayMessage } from '../../src/runtimes/ray-output.js';
import { parseRayVersion } from '../../src/runtimes/ray-version.js';

/** A fixture without its "# source:" lines. */
function fixture(name: string): string {
  const text = readFileSync(new URL(`../fixtures/ray/${name}`, import.meta.url), 'utf8');
  return text.split('\n').filter((l) => !l.startsWith('# source:')).join('\n');
}

describe('ray start output (recorded samples)', () => {
  it.each([
    ['head-record-openrlhf-737.txt', '10.48.2.20'],
    ['head-record-nersc-26477.txt', '10.249.16.183'],
    ['head-pretty-17392.txt', '172.31.47.243'],
    ['worker-record.txt', '172.16.5.182'],
  ])('%s: sees the node IP and "Ray runtime started."', (name, ip) => {
    const s = foldRayOutput(fixture(name));
    expect(s.started).toBe(true);
    expect(s.nodeIp).toBe(ip);
    expect(s.crashed).toBe(false);
    expect(s.errors).toEqual([]);
  });

  it('sees the --block notice of a worker', () => {
    expect(foldRayOutput(fixture('worker-record.txt')).blocking).toBe(true);
  });

  it('reads a daemon crash and which daemon died', () => {
    const s = foldRayOutput(fixture('block-crash.txt'));
    expect(s.crashed).toBe(true);
    expect(s.died).toEqual([{ process: 'raylet', exitCode: '1' }]);
    expect(s.started).toBe(false);
  });

  it('reads click\'s usage error for a removed option', () => {
    expect(foldRayOutput(fixture('click-no-such-option.txt')).errors).toEqual(['Error: No such option: --dashboard-grpc-port']);
  });

  it('ignores "[exit code=...]" lines unless Ray reported dying subprocesses', () => {
    expect(foldRayOutput('  raylet [exit code=1]').died).toEqual([]);
  });

  it('does not mistake the "ray stop" hint or other lines for events', () => {
    expect(parseRayLine('2025-02-11 17:29:22,007\tINFO scripts.py:811 --   ray stop')).toBeUndefined();
    expect(parseRayLine('started')).toBeUndefined();
  });

  it('strips the record prefix and ANSI colours', () => {
    expect(rayMessage('2025-02-11 17:29:22,006\tSUCC scripts.py:802 -- Ray runtime started.')).toBe('Ray runtime started.');
    expect(rayMessage('\x1b[32mRay runtime started.\x1b[0m')).toBe('Ray runtime started.');
  });

  it.each([['version-2.49.1.txt', '2.49.1'], ['version-2.55.0.txt', '2.55.0']])('%s: version probe', (name, raw) => {
    expect(parseRayVersion(fixture(name)).raw).toBe(raw);
  });

  it('reports the socket-path refusal Ray makes', () => {
    expect(parseRayLine("OSError: AF_UNIX path length cannot exceed 107 bytes: '/x/sockets/plasma_store'")?.kind).toBe('socket-too-long');
  });
});
