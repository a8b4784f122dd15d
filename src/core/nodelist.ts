/**
 * Slurm hostlist expressions, both ways: hostlist-expand.ts parses and expands them like
 * `scontrol show hostnames`; hostlist-compress.ts compresses host names like
 * `scontrol show hostlist[sorted]`. Both follow Slurm's src/common/hostlist.c; this is their index.
 */
export { DELIBERATE_DIFFERENCES, expandHostlist, HostlistSyntaxError, MAX_RANGE } from './hostlist-expand.js';
export { compressHostlist, compressHostlistUnsorted, sameHosts, strnatcmp } from './hostlist-compress.js';
