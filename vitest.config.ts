import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';
import { hbsModule } from './scripts/hbs.mjs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

// Templates are imported precompiled, as the bundle has them (scripts/hbs.mjs).
const hbsText = {
  name: 'raysl-hbs',
  transform(code: string, id: string) {
    if (id.endsWith('.hbs')) return { code: hbsModule(code), map: null };
    return undefined;
  },
};

const shared = {
  define: { RAYSL_VERSION: JSON.stringify(pkg.version) },
  plugins: [hbsText],
};
const setupFiles = ['test/setup/globals.ts'];

export default defineConfig({
  ...shared,
  test: {
    projects: [
      // property tests run thousands of brute-force cases: 5 s is too tight when the machine is loaded
      { ...shared, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles, testTimeout: 30_000 } },
      {
        ...shared,
        test: {
          name: 'local',
          include: ['test/local/**/*.test.ts'],
          setupFiles,
          globalSetup: ['test/setup/ray-global.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'slurm',
          include: ['test/slurm/**/*.test.ts'],
          setupFiles,
          globalSetup: ['test/setup/ray-global.ts', 'test/setup/slurm-global.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // one shared 4-node cluster: files run one after another so jobs do not starve each other
          fileParallelism: false,
        },
      },
    ],
  },
});
