/**
 * Memory and object store sizing from what Slurm granted, checked against /dev/shm (pure).
 * Ray's own default is 30% of memory capped at 200 GB (200 * 10**9 bytes); when that exceeds /dev/shm Ray silently
 * moves the object store to /tmp ("This will harm performance!") or, in containers with a 64 MB
 * shm, fails later. We size it ourselves and cap it by what /dev/shm really has.
 */
import { ClusterFormError } from '../../core/errors.js';

const MiB = 1024 * 1024;
/** ray_constants.DEFAULT_OBJECT_STORE_MEMORY_PROPORTION */
const OBJECT_STORE_PROPORTION = 0.3;
/** ray_constants.DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES: (200) * (10**9), decimal gigabytes. */
const OBJECT_STORE_MAX_BYTES = 200 * 10 ** 9;
/** ray_constants.OBJECT_STORE_MINIMUM_MEMORY_BYTES: Ray refuses anything smaller. */
export const OBJECT_STORE_MIN_BYTES = 75 * MiB;
/** Leave some of /dev/shm for NCCL and friends, which also live there. */
const SHM_SHARE = 0.9;

export interface MemoryInput {
  /** Memory Slurm granted to this node's job step; undefined when unknown. */
  grantedMb: number | undefined;
  /** The node's physical memory, used when nothing was granted explicitly. */
  totalMemBytes: number;
  /** Free bytes in /dev/shm; undefined when /dev/shm is absent. */
  shmAvailBytes: number | undefined;
}

export interface MemoryPlan {
  /** --memory (bytes for tasks and actors); undefined lets Ray decide. */
  memoryBytes: number | undefined;
  objectStoreBytes: number;
  /** Set when the object store was made smaller than Ray's default because of /dev/shm. */
  cappedByShm: boolean;
}

export function planRayMemory(input: MemoryInput): MemoryPlan {
  const base = input.grantedMb !== undefined ? input.grantedMb * MiB : input.totalMemBytes;
  const wanted = Math.min(Math.floor(base * OBJECT_STORE_PROPORTION), OBJECT_STORE_MAX_BYTES);
  const shmCap = input.shmAvailBytes === undefined ? 0 : Math.floor(input.shmAvailBytes * SHM_SHARE);
  const objectStoreBytes = Math.min(wanted, shmCap);
  if (objectStoreBytes < OBJECT_STORE_MIN_BYTES) {
    const why =
      input.shmAvailBytes === undefined
        ? '/dev/shm is missing'
        : shmCap < wanted
          ? `/dev/shm has only ${Math.floor(input.shmAvailBytes / MiB)} MiB free`
          : `the node was granted only ${Math.floor(base / MiB)} MiB`;
    const shmBound = input.shmAvailBytes === undefined || shmCap < wanted;
    throw new ClusterFormError(
      `Ray's object store would get ${Math.floor(objectStoreBytes / MiB)} MiB, expected at least ${OBJECT_STORE_MIN_BYTES / MiB} MiB: ${why}`,
      {
        hint: shmBound
          ? 'run where /dev/shm is larger (a container: --shm-size), or leave this node out (--sbatch-arg=--exclude=<node>)'
          : 'ask for more memory per node (--mem)',
        details: { objectStoreBytes, shmAvailBytes: input.shmAvailBytes, grantedMb: input.grantedMb },
      },
    );
  }
  const memoryBytes = input.grantedMb !== undefined ? input.grantedMb * MiB - objectStoreBytes : undefined;
  return { memoryBytes, objectStoreBytes, cappedByShm: objectStoreBytes < wanted };
}
