/**
 * Absolute paths the batch script needs on the compute nodes: the node binary, the raysl bundle,
 * tsx's CLI and the entry hook. The code runs from dist/raysl.mjs (bundled) or from src/cli/*.ts (tests, tsx), so the
 * package root is found by walking up to raysl's own package.json, not by a fixed relative path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InternalError } from '../core/errors.js';

export interface RayslPaths {
  node: string;
  raysl: string;
  /** tsx's CLI, for a node that cannot strip types (Node 20); undefined when node strips them or raysl has no tsx (the wheel). */
  tsx: string | undefined;
  /** This node runs .ts itself (Node >= 22.18 strips types by default; Node 20 does not). */
  nodeStripsTypes: boolean;
  /** file: URL for `node --import` (a URL, not a path: '#' or '%' in a path would be read as URL syntax). */
  entryHook: string;
}

let cachedRoot: string | undefined;

/** Directory holding raysl's package.json. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  if (cachedRoot !== undefined) return cachedRoot;
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'raysl') return (cachedRoot = dir);
      } catch {
        // an unreadable package.json on the way up is not ours: keep walking
      }
    }
    if (dirname(dir) === dir) break;
  }
  throw new InternalError(`cannot find raysl's package.json above ${from}`, {
    hint: 'reinstall raysl (npm install -g raysl) so dist/ and package.json sit together',
  });
}

export function rayslPaths(): RayslPaths {
  const root = packageRoot();
  // A node that strips types itself (>= 22.18; the wheel's Node 24) runs .ts entrypoints without tsx:
  // the same way from either install, and the only way that works there: on Node >= 22.12 the main
  // module goes through the CommonJS loader, where tsx compiles an ambiguous .ts to CommonJS and
  // top-level await fails. tsx is for older nodes (Node 20), which an npm install has it for.
  const nodeStripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);
  let tsx: string | undefined;
  try {
    tsx = nodeStripsTypes ? undefined : createRequire(join(root, 'package.json')).resolve('tsx/cli');
  } catch {
    // the pip wheel ships no tsx (esbuild's native binary would tie the wheel to one platform);
    // planning refuses a .ts entrypoint with a hint when this node cannot strip types either
    tsx = undefined;
  }
  return {
    node: process.execPath,
    raysl: join(root, 'dist', 'raysl.mjs'),
    tsx,
    nodeStripsTypes,
    entryHook: pathToFileURL(join(root, 'dist', 'register-entry.mjs')).href,
  };
}
