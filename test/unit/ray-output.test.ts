import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldRayOutput, parseRayLine, rayMessage } from '../../src/runtimes/ray/output.js';
import { parseRayVersion } from '../../src/runtimes/ray/version.js';

/** A fixture without its "# source:" lines (test/fixtures/ray/README.md says where each came from). */
function fixture(name: string): string {
  const text = readFileSync(new URL(`../fixtures/ray/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => !l.startsWith('# source:'))
    .join('\n');
}

describe('ray start output: Ray 2.60.0 captured on the test cluster', () => {
  it.each([
    ['head-2.60.0-slurm.txt', '10.213.0.11'],
    ['worker-2.60.0-slurm.txt', '10.213.0.12'],
  ])('%s: the node IP (inside ANSI colours), "Ray runtime started." and the --block notice; no crash', (name, ip) => {
    const s = foldRayOutput(fixture(name));
    expect(s).toEqual({ started: true, blocking: true, nodeIp: ip, crashed: false, died: [], errors: [] });
  });

  it('the teardown drain (SIGTERM) after a normal run is not a crash', () => {
    const text = fixture('head-2.60.0-slurm.txt');
    expect(text).toMatch(/received SIGTERM\. Draining/);
    expect(foldRayOutput(text).crashed).toBe(false);
  });

  it('a worker whose raylet got kill -9: Ray reports the dead raylet with exit code -9 after its raylet.out tail', () => {
    const s = foldRayOutput(fixture('raylet-killed-2.60.0.txt'));
    expect(s.started).toBe(true);
    expect(s.crashed).toBe(true);
    expect(s.died).toEqual([{ process: 'raylet', exitCode: '-9' }]);
    expect(s.errors).toEqual([]);
  });

  it('a temp dir too long for unix sockets: the socket-path refusal is the error', () => {
    const s = foldRayOutput(fixture('socket-too-long-2.60.0.txt'));
    expect(s.started).toBe(false);
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatch(
      /^OSError: validate_socket_filename failed: AF_UNIX path length cannot exceed 107 bytes: \/tmp\/rcap\/x+\/session_\S+\/sockets\/plasma_store$/,
    );
  });

  it('a GCS port held by another process: never "started", no crash report (Ray gives up with a traceback)', () => {
    const text = fixture('gcs-port-taken-2.60.0.txt');
    expect(text).toMatch(/RuntimeError: Failed to start GCS/);
    const s = foldRayOutput(text);
    expect(s).toMatchObject({ started: false, blocking: false, crashed: false, died: [], nodeIp: '10.213.0.14' });
    // what the node's failure then says: the traceback's last line, Ray's own words
    expect(s.exception).toBe('RuntimeError: Failed to start GCS.  Last 1 lines of error files:');
  });

  it("a Python exception is its traceback's last line at column 0, a long one cut at 300 characters", () => {
    const s = foldRayOutput(
      [
        'Traceback (most recent call last):',
        '    raise ConnectionError(msg)',
        'ray.exceptions.RaySystemError: first',
        `ConnectionError: ${'x'.repeat(400)}`,
      ].join('\n'),
    );
    expect(s.exception).toMatch(/^ConnectionError: x+…$/);
    expect(s.exception).toHaveLength(300);
    expect(foldRayOutput('Error: something\n  ValueError: indented').exception).toBeUndefined();
  });

  it("a removed option: click 8.2's usage error is the error", () => {
    expect(foldRayOutput(fixture('no-such-option-2.60.0.txt')).errors).toEqual([
      "Error: No such option '--dashboard-grpc-port'. (Did you mean one of: '--dashboard-agent-grpc-port', '--dashboard-host', '--dashboard-port'?)",
    ]);
  });

  it('version probe', () => {
    expect(parseRayVersion(fixture('version-2.60.0.txt')).raw).toBe('2.60.0');
  });
});

describe('ray start output: older Ray, quoted in public issues', () => {
  it.each([
    ['head-record-openrlhf-737.txt', '10.48.2.20'],
    ['head-record-nersc-26477.txt', '10.249.16.183'],
    ['head-pretty-17392.txt', '172.31.47.243'],
  ])('%s: sees the node IP and "Ray runtime started."', (name, ip) => {
    const s = foldRayOutput(fixture(name));
    expect(s.started).toBe(true);
    expect(s.nodeIp).toBe(ip);
    expect(s.crashed).toBe(false);
    expect(s.errors).toEqual([]);
  });

  it("reads click 8.1's usage error for a removed option", () => {
    expect(foldRayOutput(fixture('click-no-such-option.txt')).errors).toEqual([
      'Error: No such option: --dashboard-grpc-port',
    ]);
  });
});

describe('ray start output: single lines', () => {
  it('ignores "[exit code=...]" lines unless Ray reported dying subprocesses', () => {
    expect(foldRayOutput('  raylet [exit code=1]').died).toEqual([]);
  });

  it('does not mistake the "ray stop" hint or other lines for events', () => {
    expect(parseRayLine('2025-02-11 17:29:22,007\tINFO scripts.py:811 --   ray stop')).toBeUndefined();
    expect(parseRayLine('2026-11-30 06:27:52,028\tINFO scripts.py:1143 -- \x1b[1m  ray stop\x1b[22m')).toBeUndefined();
    expect(parseRayLine('started')).toBeUndefined();
  });

  it('strips the record prefix and ANSI colours', () => {
    expect(rayMessage('2025-02-11 17:29:22,006\tSUCC scripts.py:802 -- Ray runtime started.')).toBe(
      'Ray runtime started.',
    );
    expect(rayMessage('\x1b[32mRay runtime started.\x1b[0m')).toBe('Ray runtime started.');
  });
});
