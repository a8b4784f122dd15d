/**
 * What every contract of raysl shares on the wire: newline-delimited JSON, a validation error
 * that says where a message went wrong, and host:port addresses. Pure (no node:* imports): the
 * client bundle and the agent bundle both include it.
 */
import * as z from 'zod/mini';

/** A message or body that does not match its contract: the path and what was expected. */
class ContractError extends Error {
  override name = 'ContractError';
}

/** Splits a byte stream into JSON lines; partial lines wait for the next chunk. */
export class LineDecoder {
  private buffer = '';
  push(chunk: string): unknown[] {
    this.buffer += chunk;
    const out: unknown[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      out.push(JSON.parse(line));
    }
    return out;
  }
}

/** Validates x against a schema; throws ContractError naming what (e.g. "hello") and each bad field. */
export function parseWith<S extends z.ZodMiniType>(schema: S, x: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(x);
  if (r.success) return r.data;
  const issues = r.error.issues
    .slice(0, 4)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(message)'}: ${describeIssue(i)}`)
    .join('; ');
  throw new ContractError(`malformed ${what}: ${issues} (received ${preview(x)})`);
}

function describeIssue(i: z.core.$ZodIssue): string {
  switch (i.code) {
    case 'invalid_type':
      return `expected ${i.expected}`;
    case 'invalid_value':
      return `expected one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'unknown or malformed variant';
    case 'too_small':
      return `must be at least ${String(i.minimum)}`;
    case 'too_big':
      return `must be at most ${String(i.maximum)}`;
    case 'unrecognized_keys':
      return `unknown key(s) ${i.keys.join(', ')}`;
    default:
      return i.message;
  }
}

function preview(x: unknown): string {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** host:port -> parts; IPv4 or a name only (the head's address is never IPv6 here). */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(address);
  if (!m || !m[1] || !m[2]) throw new Error(`expected host:port, got ${JSON.stringify(address)}`);
  return { host: m[1], port: Number(m[2]) };
}

// small schema helpers used by every contract
export const nonNegInt = () => z.int().check(z.minimum(0));
export const port = () => z.int().check(z.minimum(1), z.maximum(65535));
export const stringMap = () => z.record(z.string(), z.string());
export const numberMap = () => z.record(z.string(), z.number());
