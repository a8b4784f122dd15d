/**
 * Module hooks for the user's entrypoint process, run in Node's hooks thread (registered by
 * register-entry.ts through `node --import`). They let a script copied anywhere, with no
 * package.json and no node_modules, run as it does inside raysl's own examples/:
 *  - `import ... from 'raysl'` resolves to this raysl's client when Node finds no `raysl` of the
 *    user's own (their installed copy wins: a pinned version is their choice, and a protocol
 *    mismatch is reported by connect());
 *  - an ambiguous .ts entrypoint loads as ESM (entryFormat says when and why).
 * Nothing is written into the user's directory.
 */
import { readFileSync } from 'node:fs';
import type { ResolveHook } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_SPECIFIER, entryFormat, type PackageScopeType } from '../core/entrypoint.js';

// the bundle sits next to dist/client.mjs
const clientUrl = new URL('./client.mjs', import.meta.url).href;

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  if (specifier === CLIENT_SPECIFIER) {
    try {
      return await nextResolve(specifier, context);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
      return { url: clientUrl, format: 'module', shortCircuit: true };
    }
  }
  const resolved = await nextResolve(specifier, context);
  // no parent: this is the entrypoint itself (--import modules resolve against the cwd)
  if (context.parentURL !== undefined || !resolved.url.startsWith('file:')) return resolved;
  const path = fileURLToPath(resolved.url);
  const format = entryFormat(path, resolved.format, packageScopeType(dirname(path)));
  return format === undefined ? resolved : { ...resolved, format };
};

/** The "type" of the nearest package.json, looked up as Node does (not past a node_modules folder). */
function packageScopeType(dir: string): PackageScopeType {
  for (let d = dir; ; d = dirname(d)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(d, 'package.json'), 'utf8');
    } catch {
      // none here (or unreadable): keep walking up
    }
    if (text !== undefined) {
      try {
        const type = (JSON.parse(text) as { type?: unknown }).type;
        return type === 'module' || type === 'commonjs' ? type : 'none';
      } catch {
        return 'none'; // Node reports a malformed package.json itself when it reads it
      }
    }
    if (dirname(d) === d || basename(d) === 'node_modules') return 'none';
  }
}
