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
  tsx: string;
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
  let tsx: string;
  try {
    tsx = createRequire(join(root, 'package.json')).resolve('tsx/cli');
  } catch (err) {
    throw new InternalError(`cannot resolve tsx's CLI from ${root}`, { hint: 'reinstall raysl: tsx is one of its dependencies (runs .ts entrypoints)', cause: err });
  }
  return { node: process.execPath, raysl: join(root, 'dist', 'raysl.mjs'), tsx, entryHook: pathToFileURL(join(root, 'dist', 'register-entry.mjs')).href };
}
