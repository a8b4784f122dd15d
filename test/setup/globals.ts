// Every test file's setup.
// The bundle gets RAYSL_VERSION from esbuild's `define`; vitest 4 does not apply `define` inside
// inline project configs, so in-process tests (runCli, planJob) get it here instead.
// Every directory a test file made with tempDir() (test/support/temp-dir.ts) goes when the file ends.
import { readFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { removeTempDirs } from '../support/temp-dir.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
(globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= pkg.version;

afterAll(removeTempDirs);
