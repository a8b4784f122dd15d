/**
 * Bind-probe: is each port of a block really free on this node's address? A port is free when
 * we can listen on it (then we close at once). For taken ports we look for the holder the way
 * `ss -ltnp` does: LISTEN sockets in /proc/net/tcp{,6} give the socket inode, a scan of
 * /proc/<pid>/fd symlinks maps inode -> pid, /proc/<pid>/cmdline gives the command. Holders of
 * other users' processes are usually invisible without root: then `holder` is absent.
 */
import { createServer } from 'node:net';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { UsageError } from '../core/errors.js';

export interface PortProbe {
  port: number;
  free: boolean;
  /** Why a port is not free: in use (EADDRINUSE) or not ours to bind (EACCES). */
  reason?: 'in-use' | 'permission';
  holder?: { pid: number; command: string };
}

export interface ProbeOptions {
  /** Binds in flight at once; sockets are cheap but file descriptors are not unlimited. */
  concurrency?: number;
  /** Where /proc lives (tests point it at fixtures). */
  procRoot?: string;
  /** Probe the wildcard (for a runtime that binds 0.0.0.0 itself, like Ray): taken on any address counts. */
  wildcard?: boolean;
}

type BindResult = 'free' | 'in-use' | 'permission';

function tryBind(address: string, port: number): Promise<BindResult> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve('in-use');
      else if (err.code === 'EACCES') resolve('permission');
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'EINVAL' || err.code === 'ENOTFOUND') {
        reject(
          new UsageError(
            `cannot probe ports on ${address}: expected an address of this host, the bind failed with ${err.code}`,
            {
              hint: "pass --address with one of this host's addresses (see `ip -brief addr`), e.g. 127.0.0.1",
            },
          ),
        );
      } else reject(err);
    });
    // Node sets SO_REUSEADDR on listeners, like the servers we probe for: a port only in
    // TIME_WAIT counts as free, as it will be for them.
    server.listen({ host: address, port, exclusive: true, backlog: 1 }, () => server.close(() => resolve('free')));
  });
}

/** Runs `fn` over items with at most `limit` in flight, keeping the input order. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function probePorts(address: string, ports: number[], opts: ProbeOptions = {}): Promise<PortProbe[]> {
  if ((address === '0.0.0.0' || address === '::') && opts.wildcard !== true) {
    throw new UsageError(
      `refusing to probe the wildcard address ${address}: raysl binds one address per node, never all of them`,
      {
        hint: "pass the node's own address, e.g. --address 127.0.0.1",
      },
    );
  }
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      throw new UsageError(`cannot probe port ${String(p)}: expected a whole number 1-65535`, {
        hint: 'pass ports inside 1-65535',
      });
    }
  }
  const results = await mapLimited(ports, opts.concurrency ?? 64, async (port) => ({
    port,
    result: await tryBind(address, port),
  }));
  const taken = results.filter((r) => r.result !== 'free').map((r) => r.port);
  const holders =
    taken.length === 0
      ? new Map<number, { pid: number; command: string }>()
      : await findHolders(taken, opts.procRoot ?? '/proc');
  return results.map(({ port, result }): PortProbe => {
    if (result === 'free') return { port, free: true };
    const holder = holders.get(port);
    return { port, free: false, reason: result, ...(holder ? { holder } : {}) };
  });
}

// ---- holders ------------------------------------------------------------------------------

export interface ListenSocket {
  address: string;
  port: number;
  inode: number;
  uid: number;
}

const TCP_LISTEN = '0A';

/** Kernel hex "0100007F" (IPv4, host byte order on little-endian) -> "127.0.0.1"; IPv6 likewise. */
export function decodeProcAddress(hex: string): string {
  if (hex.length === 8) {
    const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16));
    return bytes.reverse().join('.');
  }
  // IPv6: four 32-bit words, each in host order
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) =>
    w
      .match(/../g)!
      .map((b) => parseInt(b, 16))
      .reverse(),
  );
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const full = groups.join(':');
  return full === '0:0:0:0:0:0:0:0' ? '::' : full;
}

/** LISTEN sockets from the text of /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string): ListenSocket[] {
  const out: ListenSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addrHex, portHex] = f[1]!.split(':');
    if (!addrHex || !portHex) continue;
    out.push({
      address: decodeProcAddress(addrHex),
      port: parseInt(portHex, 16),
      inode: Number(f[9]),
      uid: Number(f[7]),
    });
  }
  return out;
}

async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Port -> holder for the given ports, as far as /proc lets us see. */
export async function findHolders(
  ports: number[],
  procRoot = '/proc',
): Promise<Map<number, { pid: number; command: string }>> {
  const wanted = new Set(ports);
  const sockets = [
    ...parseProcNetTcp(await readOr(`${procRoot}/net/tcp`, '')),
    ...parseProcNetTcp(await readOr(`${procRoot}/net/tcp6`, '')),
  ].filter((s) => wanted.has(s.port) && s.inode > 0);
  const portOfInode = new Map(sockets.map((s) => [s.inode, s.port]));
  const found = new Map<number, { pid: number; command: string }>();
  const portsWithSockets = new Set(portOfInode.values()).size;
  if (portsWithSockets === 0) return found;
  let pids: string[];
  try {
    pids = (await readdir(procRoot)).filter((d) => /^\d+$/.test(d));
  } catch {
    return found;
  }
  // one pass over every process's fds for all ports at once: the scan is the expensive part
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`${procRoot}/${pid}/fd`);
    } catch {
      continue; // gone, or another user's process
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = await readlink(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      const port = m ? portOfInode.get(Number(m[1])) : undefined;
      if (port === undefined || found.has(port)) continue;
      const cmdline = await readOr(`${procRoot}/${pid}/cmdline`, '');
      const command =
        cmdline.split('\0').filter(Boolean).join(' ') || (await readOr(`${procRoot}/${pid}/comm`, '?')).trim();
      found.set(port, { pid: Number(pid), command });
    }
    if (found.size === portsWithSockets) break;
  }
  return found;
}
