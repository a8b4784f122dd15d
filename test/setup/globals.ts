// The bundle gets RAYSL_VERSION from esbuild's `define`; vitest 4 does not apply `define` inside
// inline project configs, so in-process tests (runCli, planJob) get it here instead.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
(globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= pkg.version;
