/**
 * Reading `ray start --block` output (pure). Under srun stdout is not a TTY, so Ray's cli_logger
 * prints "record" lines:  "2025-02-11 17:29:22,006\tSUCC scripts.py:802 -- Ray runtime started."
 * On a terminal it prints the bare message. We accept both, matching on the message only.
 * Samples in test/fixtures/ray/ name their sources.
 */

export type RayOutputEvent =
  | { kind: 'node-ip'; ip: string }
  | { kind: 'started' }
  | { kind: 'blocking' }
  | { kind: 'subprocess-died'; process: string; exitCode: string }
  | { kind: 'crashed' }
  | { kind: 'usage-error'; message: string }
  | { kind: 'socket-too-long'; message: string }
  | { kind: 'exception'; message: string };

// the last line of a Python traceback: "RuntimeError: Failed to start GCS. ..." (at column 0)
const EXCEPTION = /^[A-Za-z_][\w.]*(?:Error|Exception): \S/;
/** A cause said in a message names Ray's words, not all of a long one. */
const CAUSE_CHARS = 300;

// "<date> <time>,<ms>\t<LEVEL> <file>:<line> -- <message>"
const RECORD = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}\s+[A-Z]+ \S+:\d+ -- (.*)$/;
// cli_logger _tags render as "<name> [exit code=1]"
const DIED = /^\s*(\S+) \[exit code=(-?\d+|None)\]\s*$/;

/** The message part of a line, without the record prefix and ANSI colours. */
export function rayMessage(line: string): string {
  const plain = line.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r$/, '');
  const m = RECORD.exec(plain);
  return m ? (m[1] ?? '') : plain;
}

export function parseRayLine(line: string): RayOutputEvent | undefined {
  const msg = rayMessage(line);
  const trimmed = msg.trim();
  if (trimmed === 'Ray runtime started.') return { kind: 'started' };
  const ip = /^Local node IP: (\S+)$/.exec(trimmed);
  if (ip) return { kind: 'node-ip', ip: ip[1] ?? '' };
  if (trimmed.startsWith('This command will now block forever until terminated by a signal'))
    return { kind: 'blocking' };
  if (trimmed === 'Some Ray subprocesses exited unexpectedly:') return { kind: 'crashed' };
  const died = DIED.exec(msg);
  if (died) return { kind: 'subprocess-died', process: died[1] ?? '', exitCode: died[2] ?? '' };
  if (trimmed.startsWith('Error: No such option') || trimmed.startsWith('Error: Invalid value for')) {
    return { kind: 'usage-error', message: trimmed };
  }
  if (trimmed.includes('AF_UNIX path length cannot exceed')) return { kind: 'socket-too-long', message: trimmed };
  if (EXCEPTION.test(msg)) {
    const message = msg.trimEnd();
    return {
      kind: 'exception',
      message: message.length > CAUSE_CHARS ? `${message.slice(0, CAUSE_CHARS - 1)}…` : message,
    };
  }
  return undefined;
}

/** Folds events into what the adapter needs to know. */
export interface RayStartState {
  started: boolean;
  blocking: boolean;
  nodeIp?: string;
  crashed: boolean;
  died: Array<{ process: string; exitCode: string }>;
  errors: string[];
  /** The last Python exception `ray start` printed (its traceback's last line), if any. */
  exception?: string;
}

export function initialRayState(): RayStartState {
  return { started: false, blocking: false, crashed: false, died: [], errors: [] };
}

export function foldRayEvent(state: RayStartState, ev: RayOutputEvent): RayStartState {
  switch (ev.kind) {
    case 'started':
      return { ...state, started: true };
    case 'blocking':
      return { ...state, blocking: true };
    case 'node-ip':
      return { ...state, nodeIp: ev.ip };
    case 'crashed':
      return { ...state, crashed: true };
    case 'subprocess-died':
      // Only count "[exit code=...]" lines once Ray said subprocesses died; the format is generic.
      return state.crashed
        ? { ...state, died: [...state.died, { process: ev.process, exitCode: ev.exitCode }] }
        : state;
    case 'usage-error':
    case 'socket-too-long':
      return { ...state, errors: [...state.errors, ev.message] };
    case 'exception':
      return { ...state, exception: ev.message };
  }
}

export function foldRayOutput(text: string, state: RayStartState = initialRayState()): RayStartState {
  let s = state;
  for (const line of text.split('\n')) {
    const ev = parseRayLine(line);
    if (ev) s = foldRayEvent(s, ev);
  }
  return s;
}
