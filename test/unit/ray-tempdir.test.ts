import { describe, expect, it } from 'vitest';
import {
  chooseRayTempDir,
  longestRaySocketPath,
  MAX_RAY_TEMP_DIR,
  SUN_PATH_MAX,
  fitsSocketLimit,
} from '../../src/runtimes/ray/tempdir.js';
import { planRayMemory, OBJECT_STORE_MIN_BYTES } from '../../src/runtimes/ray/memory.js';
import { resolveNodeIp } from '../../src/runtimes/iface.js';
import type { NetworkInterfaceInfo } from 'node:os';

describe('ray temp dir and the unix-socket limit', () => {
  it("reserves the longest socket Ray 2.60 builds: session_<stamp>_<7-digit pid>/sockets/dash_TaskEventsHead (the dashboard head's)", () => {
    expect(longestRaySocketPath('/t')).toBe(
      '/t/session_2025-01-17_17-06-14_562693_9999999/sockets/dash_TaskEventsHead',
    );
    expect(MAX_RAY_TEMP_DIR).toBe(36);
    expect(fitsSocketLimit('x'.repeat(36))).toBe(true);
    expect(fitsSocketLimit('x'.repeat(37))).toBe(false);
    expect(fitsSocketLimit('x'.repeat(41))).toBe(false);
    expect(new TextEncoder().encode(longestRaySocketPath('x'.repeat(36))).length).toBe(SUN_PATH_MAX);
  });

  it('uses <scratch>/ray when short enough', () => {
    expect(chooseRayTempDir({ jobId: '42', nodeName: 'n1', scratchDir: '/tmp/raysl/42/n1' })).toBe(
      '/tmp/raysl/42/n1/ray',
    );
  });

  it('falls back to /tmp/raysl-<job>-<node> for a long scratch dir, never /tmp/ray', () => {
    const d = chooseRayTempDir({
      jobId: '42',
      nodeName: 'n1',
      scratchDir: '/scratch/' + 'very-long-project-name/'.repeat(3),
    });
    expect(d).toBe('/tmp/raysl-42-n1');
    expect(d).not.toBe('/tmp/ray');
  });

  it('falls back to /tmp/raysl-<hash> when the job id is long (run --local ids), distinct per job and node', () => {
    const a = chooseRayTempDir({
      jobId: 'local-1795321347596-17941',
      nodeName: 'node2',
      scratchDir: '/tmp/raysl-local-1795321347596-17941/node2',
    });
    const b = chooseRayTempDir({
      jobId: 'local-1795321347596-17941',
      nodeName: 'node3',
      scratchDir: '/tmp/raysl-local-1795321347596-17941/node3',
    });
    const c = chooseRayTempDir({
      jobId: 'local-1795321347597-17942',
      nodeName: 'node2',
      scratchDir: '/tmp/raysl-local-1795321347597-17942/node2',
    });
    expect(a).toMatch(/^\/tmp\/raysl-[0-9a-f]{8}$/);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(fitsSocketLimit(a)).toBe(true);
  });

  it('refuses when nothing fits, saying expected vs received', () => {
    expect(() =>
      chooseRayTempDir({
        jobId: 'j'.repeat(40),
        nodeName: 'n1',
        scratchDir: '/s/' + 'x'.repeat(60),
        tmpRoot: '/' + 'r'.repeat(40),
      }),
    ).toThrow(/expected at most 36 bytes .* received 67 bytes/);
  });
});

describe('object store vs /dev/shm', () => {
  const GiB = 2 ** 30;
  it('takes 30% of the granted memory when /dev/shm is large enough', () => {
    const p = planRayMemory({ grantedMb: 10 * 1024, totalMemBytes: 64 * GiB, shmAvailBytes: 32 * GiB });
    expect(p.objectStoreBytes).toBe(Math.floor(10 * GiB * 0.3));
    expect(p.memoryBytes).toBe(10 * GiB - p.objectStoreBytes);
    expect(p.cappedByShm).toBe(false);
  });
  it('caps the object store by a small /dev/shm instead of letting Ray fall back to /tmp', () => {
    const p = planRayMemory({ grantedMb: 64 * 1024, totalMemBytes: 64 * GiB, shmAvailBytes: 1 * GiB });
    expect(p.objectStoreBytes).toBe(Math.floor(GiB * 0.9));
    expect(p.cappedByShm).toBe(true);
  });
  it("refuses a /dev/shm too small for Ray's minimum object store (a clear error, not a hang)", () => {
    expect(() => planRayMemory({ grantedMb: 4096, totalMemBytes: 8 * GiB, shmAvailBytes: 64 * 2 ** 20 })).toThrow(
      /expected at least 75 MiB: \/dev\/shm has only 64 MiB free/,
    );
    // more --mem cannot help when /dev/shm is the limit; it can when the grant is
    expect(() => planRayMemory({ grantedMb: 4096, totalMemBytes: 8 * GiB, shmAvailBytes: 64 * 2 ** 20 })).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/\/dev\/shm is larger/) }),
    );
    expect(() => planRayMemory({ grantedMb: 128, totalMemBytes: 8 * GiB, shmAvailBytes: 32 * GiB })).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/the node was granted only 128 MiB/),
        hint: 'ask for more memory per node (--mem)',
      }),
    );
    expect(OBJECT_STORE_MIN_BYTES).toBe(75 * 2 ** 20);
  });
  it("caps the object store at Ray's own 200 * 10**9 bytes (decimal GB, not GiB) on a 2 TB node", () => {
    const p = planRayMemory({ grantedMb: 2 * 1024 * 1024, totalMemBytes: 2048 * GiB, shmAvailBytes: 1024 * GiB });
    expect(p.objectStoreBytes).toBe(200_000_000_000);
    expect(p.cappedByShm).toBe(false);
  });
  it('uses the node memory when Slurm granted none explicitly, and leaves --memory to Ray', () => {
    const p = planRayMemory({ grantedMb: undefined, totalMemBytes: 10 * GiB, shmAvailBytes: 32 * GiB });
    expect(p.objectStoreBytes).toBe(3 * GiB);
    expect(p.memoryBytes).toBeUndefined();
  });
});

describe('node address from --iface', () => {
  const nic = (address: string, family: 'IPv4' | 'IPv6'): NetworkInterfaceInfo =>
    ({ address, family, netmask: '', mac: '', internal: false, cidr: null }) as NetworkInterfaceInfo;
  const table = {
    lo: [nic('127.0.0.1', 'IPv4')],
    eth0: [nic('10.0.0.5', 'IPv4')],
    ib0: [nic('fe80::1', 'IPv6'), nic('192.168.7.5', 'IPv4')],
  };

  it('uses the address Slurm uses for the node when no interface is named', () => {
    expect(resolveNodeIp(undefined, '10.0.0.5', table)).toBe('10.0.0.5');
  });
  it('uses the IPv4 address of the named interface', () => {
    expect(resolveNodeIp('ib0', '10.0.0.5', table)).toBe('192.168.7.5');
  });
  it('lists the interfaces when the named one is absent', () => {
    expect(() => resolveNodeIp('ib1', '10.0.0.5', table)).toThrow(
      'network interface "ib1" not found on this node; it has: eth0, ib0, lo',
    );
  });
});
