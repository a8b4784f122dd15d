/**
 * How an entrypoint is run and which runtime `auto` picks for it, from its file name alone. Pure:
 * the cli layer checks that the file exists and makes the path absolute before this runs.
 */
import type { PlanEntrypoint, RuntimeChoice, RuntimeName } from './types.js';

export type EntrypointKind = PlanEntrypoint['kind'];

export interface InterpreterTools {
  /** Absolute path of the node binary that runs raysl (the same one runs .js/.ts entrypoints). */
  node: string;
  /**
   * Absolute path of tsx's CLI script, for a node that cannot strip types (Node 20); undefined: the
   * node strips them itself (Node >= 22.18, the wheel's Node 24).
   */
  tsx: string | undefined;
  /**
   * file: URL of raysl's entry hook (dist/register-entry.mjs), loaded with `node --import`: it lets an
   * entrypoint anywhere import 'raysl' and load a .ts with top-level await (see entryFormat).
   */
  hook: string;
  /** Interpreter for .py files (default python3). */
  python?: string;
}

/** Lower-case extension including the dot, "" when there is none (".bashrc" counts as none). */
function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
}

export function entrypointKind(path: string): EntrypointKind {
  switch (extensionOf(path)) {
    case '.ts':
    case '.mts':
    case '.cts':
      return 'tsx';
    case '.js':
    case '.mjs':
    case '.cjs':
      return 'node';
    case '.py':
      return 'python';
    case '.sh':
      return 'bash';
    default:
      return 'exec';
  }
}

/** argv prefix that runs the entrypoint; [] means the file is executed as is (it needs +x). */
export function interpreterFor(kind: EntrypointKind, tools: InterpreterTools): string[] {
  switch (kind) {
    // after the tsx CLI, not before: tsx runs the script in a child node and passes node flags
    // given to it on to that child, where the script runs; before it they would reach only tsx
    // `--` ends node's own options (and tsx's, which passes it on to its child node): Node 20 reads
    // --env-file=<f> from anywhere in argv up to a `--`, the user's script arguments included
    case 'tsx':
      return tools.tsx === undefined
        ? [tools.node, '--import', tools.hook, '--']
        : [tools.node, '--', tools.tsx, '--import', tools.hook, '--'];
    case 'node':
      return [tools.node, '--import', tools.hook, '--'];
    // -u: unbuffered, so the job log shows prints as they happen, not at exit
    case 'python':
      return [tools.python ?? 'python3', '-u'];
    case 'bash':
      return ['bash'];
    case 'exec':
      return [];
  }
}

/**
 * NODE_OPTIONS that also loads raysl's entry hook (`--import=<file URL>`), so a plain `node
 * client.mjs` resolves `import ... from 'raysl'` as an entrypoint does (ESM ignores NODE_PATH).
 * Unchanged when the hook is already in it.
 */
export function nodeOptionsWithHook(existing: string | undefined, hookUrl: string): string {
  const flag = `--import=${hookUrl}`;
  const words = (existing ?? '').split(/\s+/).filter(Boolean);
  return words.includes(flag) ? words.join(' ') : [...words, flag].join(' ');
}

/** The one bare specifier the entry hook answers when the user has no `raysl` of their own installed. */
export const CLIENT_SPECIFIER = 'raysl';

/** What `"type"` the nearest package.json above a file declares; "none" when it has none or there is none. */
export type PackageScopeType = 'module' | 'commonjs' | 'none';

/**
 * The format the entry hook gives the entrypoint, or undefined to leave the resolver's choice.
 * tsx compiles a .ts outside an ESM package to CommonJS, where top-level await and importing the
 * ESM-only client cannot work. An ambiguous .ts (no package.json "type" says otherwise) therefore
 * loads as ESM, as Node itself treats an ambiguous file with import syntax; an explicit
 * "type": "commonjs" or a .cts is the user's word and stays CommonJS. .js needs nothing: Node
 * >= 20.19 already detects module syntax in an ambiguous .js.
 */
export function entryFormat(
  path: string,
  resolvedFormat: string | null | undefined,
  scope: PackageScopeType,
): 'module' | undefined {
  if (extensionOf(path) !== '.ts') return undefined;
  if (resolvedFormat !== 'commonjs' || scope !== 'none') return undefined;
  return 'module';
}

/** `auto` -> ray for Python (Ray's own client), builtin for everything else; the reason is shown by render. */
export function chooseRuntime(choice: RuntimeChoice, path: string | null): { runtime: RuntimeName; reason: string } {
  if (choice !== 'auto') return { runtime: choice, reason: `--runtime ${choice}` };
  if (path === null)
    return { runtime: 'builtin', reason: 'auto: no entrypoint (raysl up) -> builtin; pass --runtime ray for Ray' };
  const ext = extensionOf(path);
  if (ext === '.py') return { runtime: 'ray', reason: 'auto: .py entrypoint -> ray' };
  return { runtime: 'builtin', reason: `auto: ${ext === '' ? 'no extension' : ext} entrypoint (not .py) -> builtin` };
}
