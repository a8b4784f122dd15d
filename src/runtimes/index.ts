/** Runtime adapters by name. */
import type { RuntimeName } from '../core/types.js';
import type { RuntimeAdapter } from './types.js';
import { builtinRuntime } from './builtin/index.js';
import { rayRuntime } from './ray/runtime.js';
import { InternalError } from '../core/errors.js';

const runtimes: Partial<Record<RuntimeName, RuntimeAdapter>> = { builtin: builtinRuntime, ray: rayRuntime };

export function getRuntime(name: RuntimeName): RuntimeAdapter {
  const r = runtimes[name];
  if (!r) throw new InternalError(`runtime ${name} is not available in this build`, { hint: 'use --runtime builtin' });
  return r;
}
