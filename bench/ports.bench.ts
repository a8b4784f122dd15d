// What the port checks cost an agent before its runtime starts, against baselines in the same run:
//  - bind-probe of the largest block (ray, 256 CPUs: 1088 ports) at concurrency 64 vs one at a time;
//  - finding the holder of one taken port (raysl's /proc scan) vs `ss -ltnp` doing the same;
//  - the allocator with 150 blocks taken vs with none.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { findHolders, probePorts } from '../src/agent/port-probe.js';
import { allocatePortBlock, portLayout, portRange } from '../src/core/ports.js';
import type { PortBlock } from '../src/core/types.js';
import { timeAsync, timeSync, writeResult } from './lib.js';

const layout = portLayout('ray', 256);
const range = portRange([32768, 60999]);
const block = allocatePortBlock({ jobId: 'bench', size: layout.size, range, taken: [] });
const ports = Array.from({ length: block.size }, (_, i) => block.base + i);

const probeParallel = await timeAsync(() => probePorts('127.0.0.1', ports, { concurrency: 64 }), 10);
const probeSerial = await timeAsync(() => probePorts('127.0.0.1', ports, { concurrency: 1 }), 5);

// a holder in a child process, like a stray daemon from another job
const child = spawn(
  process.execPath,
  ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>console.log(s.address().port))"],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
const heldPort = Number(String(chunk).trim());
const holder = await timeAsync(async () => {
  const found = await findHolders([heldPort]);
  if (found.get(heldPort)?.pid !== child.pid) throw new Error(`holder not found: ${JSON.stringify([...found])}`);
}, 20);
const ss = await timeAsync(async () => {
  const r = spawnSync('ss', ['-Hltnp', `sport = :${heldPort}`], { encoding: 'utf8' });
  if (!r.stdout.includes(`pid=${child.pid}`)) throw new Error(`ss did not find pid ${child.pid}: ${r.stdout}`);
}, 20);
child.kill('SIGKILL');

// 150 jobs already hold blocks of mixed sizes; then a new job asks
const taken: PortBlock[] = [];
for (let i = 0; taken.length < 150 && i < 10_000; i++) {
  try {
    taken.push(allocatePortBlock({ jobId: `t${i}`, size: 64, range, taken }));
  } catch {
    break;
  }
}
const allocBusy = timeSync(() => allocatePortBlock({ jobId: 'new', size: 128, range, taken }), 200, 20);
const allocEmpty = timeSync(() => allocatePortBlock({ jobId: 'new', size: 128, range, taken: [] }), 200, 20);

// sanity: what a full probe found (the machine's own listeners may sit in the block)
const srv = createServer().listen(0, '127.0.0.1');
await once(srv, 'listening');
const free = (await probePorts('127.0.0.1', [(srv.address() as AddressInfo).port]))[0]!.free;
srv.close();

writeResult('ports', {
  blockPorts: block.size,
  probeConcurrency64: probeParallel,
  baselineProbeSerial: probeSerial,
  holderLookupProcScan: holder,
  baselineSsLtnp: ss,
  allocateWith150Taken: { taken: taken.length, ...allocBusy },
  baselineAllocateNoneTaken: allocEmpty,
  sanityHeldPortReportedTaken: !free,
});
