import { describe, expect, it } from 'vitest';
import { jobPaths, joinPath } from '../../src/core/jobdir.js';

describe('job dir layout', () => {
  it('names every file under <root>/<jobId>/', () => {
    const p = jobPaths('/scratch/raysl-jobs/', '1234');
    expect(p).toMatchObject({
      dir: '/scratch/raysl-jobs/1234',
      plan: '/scratch/raysl-jobs/1234/plan.json',
      status: '/scratch/raysl-jobs/1234/status.json',
      controllerLog: '/scratch/raysl-jobs/1234/controller.log',
      entrypointLog: '/scratch/raysl-jobs/1234/entrypoint.log',
      token: '/scratch/raysl-jobs/1234/token',
      ports: '/scratch/raysl-jobs/1234/ports.json',
    });
    expect(p.agentLog('gpu-001')).toBe('/scratch/raysl-jobs/1234/agent-gpu-001.log');
  });

  it.each(['../etc', 'a/b', '', '..', 'x y'])('refuses job id %j', (id) => {
    expect(() => jobPaths('/j', id)).toThrow(/cannot be used as a file name/);
  });

  it('refuses node names that would escape the dir', () => {
    expect(() => jobPaths('/j', '1').agentLog('../x')).toThrow(/node name/);
  });

  it('joins without doubled slashes', () => {
    expect(joinPath('/a/', '/b', 'c')).toBe('/a/b/c');
    expect(jobPaths('/', 'local-1-2').dir).toBe('/local-1-2');
  });
});
