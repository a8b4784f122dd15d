/**
 * Which address a runtime binds on this node (used by the ray adapter and the agent's port probe).
 * Multi-homed HPC nodes (Ethernet + InfiniBand) are where
 * `hostname --ip-address` picks the wrong one and workers never reach the head
 * (ray-project/ray#34094, #17491, #19942). The user may name an interface (--iface ib0); otherwise
 * we use the address Slurm uses for the node. The interface table is passed in (os.networkInterfaces()).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { UsageError } from '../core/errors.js';

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

export function resolveNodeIp(iface: string | undefined, fallback: string, interfaces: InterfaceTable): string {
  if (iface === undefined || iface === '') return fallback;
  const entries = interfaces[iface];
  const names = Object.keys(interfaces).sort();
  if (!entries) {
    throw new UsageError(
      `network interface "${iface}" not found on this node; it has: ${names.join(', ') || '(none)'}`,
      {
        hint: 'pass --iface with one of the listed interfaces (the one your nodes reach each other on)',
        details: { iface, interfaces: names },
      },
    );
  }
  // IPv4 first: Ray's --node-ip-address and most Slurm sites are IPv4; link-local v6 is never routable.
  const v4 = entries.find((e) => e.family === 'IPv4');
  const v6 = entries.find((e) => e.family === 'IPv6' && !e.address.toLowerCase().startsWith('fe80'));
  const pick = v4 ?? v6;
  if (!pick) {
    throw new UsageError(`network interface "${iface}" has no usable address (expected IPv4 or global IPv6)`, {
      hint: 'check `ip addr show ' + iface + '` on the node, or pick another interface with --iface',
      details: { iface, addresses: entries.map((e) => e.address) },
    });
  }
  return pick.address;
}
