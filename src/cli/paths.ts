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
  /** tsx's CLI; undefined where raysl ships without it (the pip wheel): .ts entrypoints then need nodeStripsTypes. */
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
  throw new InternalError(`cannot find raysl's package.json above ${from}`, { hint: 'reinstall raysl (npm install -g raysl) so dist/ and package.json sit together' });
}

export function rayslPaths(): RayslPaths {
  const root = packageRoot();
  let tsx: string | undefined;
  try {
    tsx = createRequire(join(root, 'package.json')).resolve('tsx/cli');
  } catch {
    // the pip wheel ships no tsx (esbuild's native binary would tie the wheel to one platform):
    // Node's own type stripping runs .ts there, and planning says so when this node cannot
    tsx = undefined;
  }
  return {
    node: process.execPath,
    raysl: join(root, 'dist', 'raysl.mjs'),
    tsx,
    nodeStripsTypes: Boolean((process.features as { typescript?: unknown }).typescript),
    entryHook: pathToFileURL(join(root, 'dist', 'register-entry.mjs')).href,
  };
}
