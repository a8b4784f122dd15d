/**
 * The `ray` runtime adapter: Ray's own daemons under the agent, one `ray start --block` per node.
 * A node's start is three steps: prepare (prepare.ts, pure: argv, environment, ports, paths),
 * launch and wait until up (launch.ts), stop (stop.ts). A satellite's node (a grown cluster) starts
 * as any worker: its agent gets the head's address like the others.
 */
import { statfsSync } from 'node:fs';
import { networkInterfaces, totalmem } from 'node:os';
import type { InterfaceTable } from '../iface.js';
import type { RuntimeAdapter, RuntimeNodeContext, RuntimeProcess } from '../types.js';
import { rayAuthEnv } from './auth.js';
import { locateRay, probeRayVersion, rayBin, rayInterpreter } from './bin.js';
import { launchRayNode } from './launch.js';
import { outside, prepareRayNode, storageEnv } from './prepare.js';
import { resolveRayPorts } from './ports.js';
import { servePortsEnv } from './serve.js';
import { chooseRayTempDir } from './tempdir.js';
import { assertSupportedRayVersion, type RayVersion } from './version.js';
import { rayDemandReader } from './demand.js';

/** Edges injected for tests; defaults read the real node. */
export interface RayDeps {
  interfaces: () => InterfaceTable;
  totalMemBytes: () => number;
  shmAvailBytes: () => number | undefined;
  probeVersion: (bin: string, env: NodeJS.ProcessEnv) => Promise<RayVersion>;
  now: () => number;
}

function readShmAvail(): number | undefined {
  try {
    const s = statfsSync('/dev/shm');
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

const defaultDeps: RayDeps = {
  interfaces: () => networkInterfaces(),
  totalMemBytes: () => totalmem(),
  shmAvailBytes: readShmAvail,
  probeVersion: probeRayVersion,
  now: () => Date.now(),
};

/** Starts this node's Ray (head or worker, by ctx.role): reads the node's facts, prepares, launches. */
async function startRayNode(ctx: RuntimeNodeContext, deps: Partial<RayDeps> = {}): Promise<RuntimeProcess> {
  const d: RayDeps = { ...defaultDeps, ...deps };
  const env = { ...process.env, ...ctx.env };
  const bin = rayBin(env);
  const version = await d.probeVersion(bin, env);
  assertSupportedRayVersion(version);
  const node = prepareRayNode(ctx, {
    env,
    bin,
    version,
    interfaces: d.interfaces(),
    totalMemBytes: d.totalMemBytes(),
    shmAvailBytes: d.shmAvailBytes(),
    python: rayInterpreter(bin, env),
  });
  return launchRayNode(node, ctx, d.now);
}

export function createRayRuntime(deps: Partial<RayDeps> = {}): RuntimeAdapter {
  return {
    name: 'ray',
    bindsWildcard: true,
    start: (ctx) => startRayNode(ctx, deps),
    locate: (env) => locateRay({ ...process.env, ...env }),
    dirsOutsideScratch(node) {
      try {
        const dir = chooseRayTempDir(node);
        return outside(node.scratchDir, dir) ? [dir] : [];
      } catch {
        return []; // no temp dir fits: Ray never started on that node, so it made none
      }
    },
    demandReader: rayDemandReader,
    entrypointEnv(head) {
      const { ports, serve } = resolveRayPorts(head.portBase, head.layout);
      const auth = rayAuthEnv(head.rayAuth, head.tokenFile);
      return {
        RAY_ADDRESS: `${head.address}:${ports.gcs}`,
        // `ray job submit` and the Jobs SDK read this before RAY_ADDRESS
        RAY_API_SERVER_ADDRESS: `http://${head.address}:${ports.dashboard}`,
        ...servePortsEnv(serve),
        ...storageEnv(head.jobDir),
        ...auth.env,
      };
    },
  };
}

export const rayRuntime: RuntimeAdapter = createRayRuntime();
