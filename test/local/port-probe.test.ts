// Real sockets on loopback: a port held by a child process we start must come back taken, with
// that child's pid; ports nobody holds come back free.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { decodeProcAddress, parseProcNetTcp, probePorts } from '../../src/agent/port-probe.js';

const children: ChildProcess[] = [];
const servers: Server[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A child node process listening on host:0; resolves with its port once it says so. */
async function holdPortInChild(host: string): Promise<{ child: ChildProcess; port: number }> {
  const code = `const s=require('net').createServer().listen(0,${JSON.stringify(host)},()=>console.log('PORT '+s.address().port));`;
  const child = spawn(process.execPath, ['-e', code, 'raysl-probe-holder'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let buf = '';
  child.stdout!.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: string) => {
      buf += d;
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`holder exited early with ${c}`)));
  });
  return { child, port };
}

/** Ports nobody holds right now: the kernel hands them out for port 0 and we close at once. */
async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    out.push((s.address() as AddressInfo).port);
    await new Promise((r) => s.close(r));
  }
  return out;
}

describe('probePorts on 127.0.0.1', () => {
  it('reports a port held by a child process as taken, with its pid and command', async () => {
    const { child, port } = await holdPortInChild('127.0.0.1');
    const free = await freePorts(3);
    const res = await probePorts('127.0.0.1', [free[0]!, port, free[1]!, free[2]!]);
    expect(res.map((r) => r.port)).toEqual([free[0], port, free[1], free[2]]);
    expect(res[1]).toMatchObject({ port, free: false, reason: 'in-use', holder: { pid: child.pid } });
    expect(res[1]!.holder!.command).toContain('raysl-probe-holder');
    for (const i of [0, 2, 3]) expect(res[i]).toEqual({ port: res[i]!.port, free: true });
  });

  it('sees a wildcard listener as taking the port on a specific address', async () => {
    const { child, port } = await holdPortInChild('0.0.0.0');
    const [res] = await probePorts('127.0.0.1', [port]);
    expect(res).toMatchObject({ free: false, holder: { pid: child.pid } });
  });

  it('finds a holder in this very process (IPv6 loopback listener too)', async () => {
    const s = createServer();
    servers.push(s);
    s.listen(0, '::1');
    await once(s, 'listening');
    const port = (s.address() as AddressInfo).port;
    const [res] = await probePorts('::1', [port]);
    expect(res).toMatchObject({ free: false, holder: { pid: process.pid } });
  });

  it('probes a whole block with bounded concurrency and leaves every port free again', async () => {
    const base = (await freePorts(1))[0]!;
    const block = Array.from({ length: 200 }, (_, i) => 20000 + ((base + i) % 12000));
    const first = await probePorts('127.0.0.1', block, { concurrency: 8 });
    expect(first).toHaveLength(200);
    const again = await probePorts(
      '127.0.0.1',
      block.filter((_, i) => first[i]!.free),
    );
    expect(again.every((r) => r.free)).toBe(true);
  });

  it('refuses an address that is not on this host, and the wildcard', async () => {
    await expect(probePorts('192.0.2.1', [20000])).rejects.toThrow(
      /expected an address of this host, the bind failed with EADDRNOTAVAIL/,
    );
    await expect(probePorts('0.0.0.0', [20000])).rejects.toBeInstanceOf(UsageError);
    await expect(probePorts('127.0.0.1', [70000])).rejects.toThrow(/expected a whole number 1-65535/);
  });
});

describe('/proc/net/tcp parsing', () => {
  // Lines in the kernel's own format (include/net/tcp.h, as printed by tcp4_seq_show / tcp6_seq_show).
  const tcp4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4E20 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0
   1: 0101007F:4E21 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000  1000        0 654321 1 0000000000000000 20 4 30 10 -1`;
  const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:4E22 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000101007F:4E23 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 778 1 0000000000000000 100 0 0 10 0`;

  it('keeps only LISTEN sockets, with address, port, inode and uid', () => {
    expect(parseProcNetTcp(tcp4)).toEqual([{ address: '127.0.0.1', port: 20000, inode: 123456, uid: 0 }]);
    expect(parseProcNetTcp(tcp6)).toEqual([
      { address: '::', port: 20002, inode: 777, uid: 1000 },
      { address: '127.0.1.1', port: 20003, inode: 778, uid: 1000 },
    ]);
  });

  it('decodes addresses', () => {
    expect(decodeProcAddress('0101007F')).toBe('127.0.1.1');
    expect(decodeProcAddress('00000000000000000000000001000000')).toBe('0:0:0:0:0:0:0:1');
  });
});
