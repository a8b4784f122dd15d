// --preflight: thresholds as users write them, and the judgement of what an agent found on its node.
import { describe, expect, it } from 'vitest';
import {
  judgePreflight,
  parsePreflightMin,
  PREFLIGHT_DEFAULTS,
  type PreflightFacts,
} from '../../src/core/preflight.js';
import { UsageError } from '../../src/core/errors.js';

const healthy: PreflightFacts = {
  shmMb: 8192,
  disk: { path: '/tmp', freeMb: 50_000 },
  gpus: { granted: 2, visible: 2 },
  runtime: { name: 'ray', found: '/venv/bin/ray' },
};

describe('parsePreflightMin', () => {
  it.each([
    ['shm=8G', { shmMb: 8192, diskMb: PREFLIGHT_DEFAULTS.diskMb }],
    ['disk=500M', { shmMb: PREFLIGHT_DEFAULTS.shmMb, diskMb: 500 }],
    ['shm=2048, disk=1T', { shmMb: 2048, diskMb: 1024 * 1024 }],
    ['disk=0', { shmMb: PREFLIGHT_DEFAULTS.shmMb, diskMb: 0 }],
  ])('%s', (raw, want) => expect(parsePreflightMin(raw)).toEqual(want));

  it.each(['', 'shm', 'ram=4G', 'shm=lots', 'shm=4G=5', 'shm=-1G', 'disk=4G;rm -rf'])(
    'refuses %j with a hint',
    (raw) => {
      expect(() => parsePreflightMin(raw)).toThrow(UsageError);
      try {
        parsePreflightMin(raw);
      } catch (err) {
        expect((err as UsageError).message).toMatch(/^--preflight-min: /);
        expect((err as UsageError).hint).toMatch(/--preflight-min shm=8G,disk=20G/);
      }
    },
  );
});

describe('judgePreflight', () => {
  it('passes a healthy node and says every fact', () => {
    const v = judgePreflight(healthy, PREFLIGHT_DEFAULTS);
    expect(v.problems).toEqual([]);
    expect(v.summary).toBe(
      'preflight: /dev/shm 8.0 GiB; scratch 48.8 GiB free in /tmp; GPUs 2 bound, 2 visible; runtime ray at /venv/bin/ray',
    );
  });

  it('names each failed check with what was found and what was asked for', () => {
    const v = judgePreflight(
      {
        shmMb: 64,
        disk: { path: '/scratch', freeMb: 10 },
        gpus: { granted: 4, visible: 3 },
        runtime: { name: 'ray', problem: 'Ray\'s CLI "ray" was not found' },
      },
      { shmMb: 1024, diskMb: 2048 },
    );
    expect(v.problems).toEqual([
      '/dev/shm has 64 MiB, below the 1.0 GiB asked for',
      '/scratch has 10 MiB free, below the 2.0 GiB asked for',
      'Slurm bound 4 GPU(s) but the driver shows 3 (nvidia-smi)',
      'Ray\'s CLI "ray" was not found',
    ]);
  });

  it('a missing /dev/shm fails; facts that cannot be told do not (and the summary says so)', () => {
    expect(judgePreflight({ ...healthy, shmMb: null }, PREFLIGHT_DEFAULTS).problems).toEqual([
      '/dev/shm does not exist',
    ]);
    const unknown = judgePreflight(
      { ...healthy, shmMb: undefined, disk: undefined, gpus: { granted: 2, visible: undefined } },
      PREFLIGHT_DEFAULTS,
    );
    expect(unknown.problems).toEqual([]);
    expect(unknown.summary).toMatch(
      /\/dev\/shm unknown; scratch unknown; GPUs 2 bound \(no nvidia-smi: not checked against the driver\)/,
    );
  });

  it('a failing nvidia-smi is a problem of its own, not a count of zero', () => {
    expect(
      judgePreflight(
        { ...healthy, gpus: { granted: 2, visible: undefined, smiError: 'NVIDIA-SMI has failed' } },
        PREFLIGHT_DEFAULTS,
      ).problems,
    ).toEqual(['nvidia-smi failed: NVIDIA-SMI has failed']);
  });

  it('exactly at the threshold passes', () => {
    expect(
      judgePreflight({ ...healthy, shmMb: 1024, disk: { path: '/t', freeMb: 1024 } }, PREFLIGHT_DEFAULTS).problems,
    ).toEqual([]);
  });
});
