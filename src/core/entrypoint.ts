/**
 * How an entrypoint is run and which runtime `auto` picks for it, from its file name alone. Pure:
 * the cli layer checks that the file exists and makes the path absolute before this runs.
 */
import type { Plan, RuntimeChoice, RuntimeName } from './types.js';

export type EntrypointKind = Plan['entrypoint']['kind'];

export interface InterpreterTools {
  /** Absolute path of the node binary that runs raysl (the same one runs .js/.ts entrypoints). */
  node: string;
  /** Absolute path of tsx's CLI script. */
  tsx: string;
  /** Interpreter for .py files (default python3). */
  python?: string;
}

/** Lower-case extension including the dot, "" when there is none (".bashrc" counts as none). */
export function extensionOf(path: string): string {
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
    case 'tsx':
      return [tools.node, tools.tsx];
    case 'node':
      return [tools.node];
    // -u: unbuffered, so the job log shows prints as they happen, not at exit
    case 'python':
      return [tools.python ?? 'python3', '-u'];
    case 'bash':
      return ['bash'];
    case 'exec':
      return [];
  }
}

/** `auto` -> ray for Python (Ray's own client), builtin for everything else; the reason is shown by render. */
export function chooseRuntime(choice: RuntimeChoice, path: string): { runtime: RuntimeName; reason: string } {
  if (choice !== 'auto') return { runtime: choice, reason: `--runtime ${choice}` };
  const ext = extensionOf(path);
  if (ext === '.py') return { runtime: 'ray', reason: 'auto: .py entrypoint -> ray' };
  return { runtime: 'builtin', reason: `auto: ${ext === '' ? 'no extension' : ext} entrypoint (not .py) -> builtin` };
}
