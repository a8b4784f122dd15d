// --resources: parsing, validation, one node's map, the config-file form, the plan, and `raysl render`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { memIo } from '../support/mem-io.js';
import { runCli } from '../../src/cli/main.js';
import { addJobOptions } from '../../src/cli/job-options.js';
import { validateConfig } from '../../src/core/config.js';
import { UsageError } from '../../src/core/errors.js';
import { inputFromFlags } from '../../src/core/job-options.js';
import { planJob, type PlanTools } from '../../src/core/plan.js';
import { customResourcesFor, parseResourcesFlag, type ResourceGrant } from '../../src/core/resources.js';
import { buildSpec, mergeInputs } from '../../src/core/spec.js';
import { tempDir } from '../support/temp-dir.js';

function flagsInput(argv: string[]) {
  const cmd = addJobOptions(new Command('t').argument('<entrypoint>').exitOverride());
  cmd.parse([...argv, 'e.py'], { from: 'user' });
  return inputFromFlags(cmd.opts());
}

describe('parseResourcesFlag', () => {
  it.each<[string, ResourceGrant]>([
    ['{"trainer": 1}', { nodes: 'all', resources: { trainer: 1 } }],
    ['all={"a": 0}', { nodes: 'all', resources: { a: 0 } }],
    ['head={"ps": 1}', { nodes: 'head', resources: { ps: 1 } }],
    ['workers={"trainer": 2, "slot": 0.25}', { nodes: 'workers', resources: { trainer: 2, slot: 0.25 } }],
    ['1-2={"x": 1}', { nodes: { from: 1, to: 2 }, resources: { x: 1 } }],
    ['3={"x": 1.0001}', { nodes: { from: 3, to: 3 }, resources: { x: 1.0001 } }],
    ['{"accel:a100-80g": 8, "_n": 1}', { nodes: 'all', resources: { 'accel:a100-80g': 8, _n: 1 } }],
  ])('%s', (raw, grant) => expect(parseResourcesFlag(raw)).toEqual(grant));

  it.each([
    ['trainer=1', /expected a JSON object/],
    ['{"trainer": 1', /is not JSON/],
    ['[1]', /expected a JSON object/],
    ['{"trainer": -1}', /trainer: expected a number >= 0 with at most 4 decimals, received -1/],
    ['{"trainer": 0.00001}', /at most 4 decimals/],
    ['{"trainer": "1"}', /received "1"/],
    ['{"trainer": 1e400}', /received null|at most 4 decimals/],
    ['{"CPU": 4}', /CPU is a resource Ray sets itself/],
    ['{"GPU": 1}', /GPU is a resource Ray sets itself/],
    ['{"memory": 1}', /memory is a resource Ray sets itself/],
    ['{"object_store_memory": 1}', /Ray sets itself/],
    ['{"node:10.0.0.1": 1}', /Ray sets itself/],
    ['{"1st": 1}', /resource name "1st" is not valid/],
    ['{"a b": 1}', /is not valid/],
    ['{"__proto__": 1}', /is not valid/],
    [`{"${'x'.repeat(65)}": 1}`, /is not valid/],
    ['nodes={"x": 1}', /node selector "nodes" is not all, head, workers, N or N-M/],
    ['2-1={"x": 1}', /node selector "2-1"/],
    ['head:{"x": 1}', /expected <nodes>=\{json\}/],
  ])('refuses %s with a hint', (raw, message) => {
    let err: unknown;
    try {
      parseResourcesFlag(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(message);
    expect((err as UsageError).message).toMatch(/^--resources: /);
    expect((err as UsageError).hint).toBeTruthy();
  });
});

describe('customResourcesFor', () => {
  const grants: ResourceGrant[] = [
    { nodes: 'all', resources: { trainer: 1 } },
    { nodes: 'head', resources: { ps: 1 } },
    { nodes: 'workers', resources: { trainer: 2 } },
    { nodes: { from: 1, to: 2 }, resources: { x: 1 } },
  ];
  it.each<[number, 'head' | 'worker', Record<string, number>]>([
    [0, 'head', { trainer: 1, ps: 1 }],
    [1, 'worker', { trainer: 2, x: 1 }],
    [2, 'worker', { trainer: 2, x: 1 }],
    [3, 'worker', { trainer: 2 }],
  ])('node %d (%s)', (index, role, expected) => expect(customResourcesFor(grants, { index, role })).toEqual(expected));
  it('is empty without grants', () => expect(customResourcesFor(undefined, { index: 0, role: 'head' })).toEqual({}));
});

describe('--resources as a flag and a config key', () => {
  it('is repeatable; a profile comes first and the flags override it name by name', () => {
    const flags = flagsInput(['--resources', '{"trainer": 1}', '--resources', 'head={"ps": 1}']);
    expect(flags.resources).toEqual([
      { nodes: 'all', resources: { trainer: 1 } },
      { nodes: 'head', resources: { ps: 1 } },
    ]);
    const profile = validateConfig(
      { profiles: { default: { resources: { all: { trainer: 4 }, '1-2': { x: 1 } } } } },
      'f',
    ).profiles.default!;
    expect(profile.resources).toEqual([
      { nodes: 'all', resources: { trainer: 4 } },
      { nodes: { from: 1, to: 2 }, resources: { x: 1 } },
    ]);
    const merged = mergeInputs([profile, flags]);
    expect(customResourcesFor(merged.resources, { index: 1, role: 'worker' })).toEqual({ trainer: 1, x: 1 });
  });

  it('refuses a bad flag value and a bad config value, naming the place', () => {
    expect(() => flagsInput(['--resources', '{"GPU": 1}'])).toThrow(/--resources: GPU is a resource Ray sets itself/);
    expect(() => validateConfig({ profiles: { p: { resources: { trainer: 1 } } } }, 'f')).toThrow(
      /profiles\.p\.resources\.trainer: --resources: node selector "trainer"/,
    );
    expect(() => validateConfig({ profiles: { p: { resources: { head: { CPU: 1 } } } } }, 'f')).toThrow(
      /profiles\.p\.resources\.head: .*CPU/,
    );
  });
});

describe('plan.resources', () => {
  const facts = { source: 'none' as const, nodes: [], ephemeralPortRange: [32768, 60999] as [number, number] };
  const tools: PlanTools = {
    tsx: '/x/tsx.mjs',
    hook: 'file:///x/register-entry.mjs',
    node: '/usr/bin/node',
    cwd: '/work',
    version: '0.0.0-test',
  };
  const plan = (argv: string[], nodes: number) =>
    planJob(
      buildSpec('/work/e.py', [], { ...flagsInput(argv), nodes, cpusPerTask: 2 }, { cwd: '/work' }),
      facts,
      tools,
    );

  it('is absent without --resources (the plan of every existing job is unchanged)', () => {
    expect(plan([], 2)).not.toHaveProperty('resources');
  });
  it('carries the grants, JSON-safe', () => {
    const p = plan(['--resources', '1={"x": 1}'], 2);
    expect(JSON.parse(JSON.stringify(p)).resources).toEqual([{ nodes: { from: 1, to: 1 }, resources: { x: 1 } }]);
  });
  it('refuses a node index past the last node', () => {
    expect(() => plan(['--resources', '1-2={"x": 1}'], 2)).toThrow(
      /--resources: node 2 does not exist: the job has 2 nodes \(0 to 1\)/,
    );
  });
});

describe('raysl render --resources', () => {
  it('shows the grants and the ray start flags each role gets', async () => {
    const dir = tempDir('raysl-res-');
    writeFileSync(join(dir, 'train.py'), '');
    const io = memIo({ home: dir });
    const code = await runCli(
      [
        'render',
        '--no-check',
        '-N',
        '3',
        '-c',
        '2',
        '--resources',
        '{"trainer": 1}',
        '--resources',
        'head={"ps": 1}',
        'train.py',
      ],
      io,
    );
    expect(io.err()).not.toMatch(/error/i);
    expect(code).toBe(0);
    expect(io.out()).toMatch(/^# resources: {3}all=\{"trainer":1\}$/m);
    expect(io.out()).toMatch(/^# resources: {3}head=\{"ps":1\}$/m);
    expect(io.out()).toMatch(/^# {3}head: .* --resources=\{"ps":1,"trainer":1\} /m);
    expect(io.out()).toMatch(/^# {3}worker: .* --resources=\{"trainer":1\} /m);
  });

  it('a bad value exits 2 with a hint', async () => {
    const dir = tempDir('raysl-res-');
    writeFileSync(join(dir, 'train.py'), '');
    const io = memIo({ home: dir });
    expect(await runCli(['render', '--no-check', '--resources', '{"CPU": 2}', 'train.py'], io)).toBe(2);
    expect(io.err()).toMatch(/--resources: CPU is a resource Ray sets itself/);
    expect(io.err()).toMatch(/hint:/);
  });
});
