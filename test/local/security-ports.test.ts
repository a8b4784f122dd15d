import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { ensureBuilt, exitWithin, fixtures, runLocal } from './helpers.js';
import type { PortsRecord } from '../../src/core/jobdir.js';

beforeAll(() => ensureBuilt(), 120_000);

function get(
  address: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('control server security', () => {
  it('answers 401 without the token or with a wrong one (upgrades too); 200 with it; binds the head address only', async () => {
    const job = runLocal(['-N', '2', join(fixtures, 'wait.sh')]);
    try {
      await job.waitFor(/ready (\d+)/);
      const ports = JSON.parse(readFileSync(join(job.jobDir(), 'ports.json'), 'utf8')) as PortsRecord;
      const token = readFileSync(join(job.jobDir(), 'token'), 'utf8').trim();
      expect(ports.controller).toMatch(/^127\.0\.1\.1:\d+$/);
      expect((await get(ports.controller, '/v1/nodes')).status).toBe(401);
      expect((await get(ports.controller, '/v1/nodes', { authorization: 'Bearer nope' })).status).toBe(401);
      expect(
        (await get(ports.controller, '/v1/agent', { connection: 'Upgrade', upgrade: 'raysl-agent.1' })).status,
      ).toBe(401);
      const ok = await get(ports.controller, '/v1/nodes', { authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect((JSON.parse(ok.body) as { nodes: Array<{ name: string }> }).nodes.map((n) => n.name).sort()).toEqual([
        'node1',
        'node2',
      ]);
      // the same port on another local address is not ours: bound to the head address, not 0.0.0.0
      const port = ports.controller.split(':')[1];
      await expect(get(`127.0.0.1:${port}`, '/v1/info')).rejects.toThrow(/ECONNREFUSED/);
      // the token is not on any command line of the job
      const job2 = job.status();
      for (const n of job2.nodes) expect(readFileSync(`/proc/${n.pid}/cmdline`, 'utf8')).not.toContain(token);
    } finally {
      job.child.kill('SIGTERM');
      await exitWithin(job, 10_000);
    }
  });
});

describe('port blocks', () => {
  it('two local jobs at once get disjoint port blocks and both succeed', async () => {
    const a = runLocal(['-N', '2', join(fixtures, 'wait.sh')]);
    const b = runLocal(['-N', '2', join(fixtures, 'wait.sh')]);
    try {
      await Promise.all([a.waitFor(/ready/), b.waitFor(/ready/)]);
      const pa = JSON.parse(readFileSync(join(a.jobDir(), 'ports.json'), 'utf8')) as PortsRecord;
      const pb = JSON.parse(readFileSync(join(b.jobDir(), 'ports.json'), 'utf8')) as PortsRecord;
      const disjoint = pa.base + pa.size <= pb.base || pb.base + pb.size <= pa.base;
      expect(disjoint, `${pa.base}+${pa.size} vs ${pb.base}+${pb.size}`).toBe(true);
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
    }
    expect((await exitWithin(a, 10_000)).code).toBe(143);
    expect((await exitWithin(b, 10_000)).code).toBe(143);
  });

  it('two train.ts jobs started together both exit 0', async () => {
    const jobs = [runLocal(['-N', '2', 'examples/train.ts']), runLocal(['-N', '2', 'examples/train.ts'])];
    const codes = await Promise.all(jobs.map((j) => exitWithin(j, 20_000)));
    expect(codes.map((c) => c.code)).toEqual([0, 0]);
  });
});
