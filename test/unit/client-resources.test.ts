import { describe, expect, it } from 'vitest';
import { RayslClientError } from '../../src/client/errors.js';
import { normalizeResources, taskResources } from '../../src/client/resources.js';

describe('client resource spellings', () => {
  it.each([
    [
      'raysl spelling',
      { cpus: 2, gpus: 0.5, memoryMb: 1024, custom: { trainer: 1 } },
      { cpus: 2, gpus: 0.5, memoryMb: 1024, custom: { trainer: 1 } },
    ],
    [
      "Ray's spelling (memory in MB)",
      { CPU: 2, GPU: 1, memory: 512, trainer: 1 },
      { cpus: 2, gpus: 1, memoryMb: 512, custom: { trainer: 1 } },
    ],
    ['custom names next to custom', { GPU: 1, custom: { a: 1 }, b: 2 }, { gpus: 1, custom: { a: 1, b: 2 } }],
    ['undefined amounts left out', { gpus: undefined, cpus: 1 }, { cpus: 1 }],
    ['a name that only looks like a method', { constructor: 1 }, { custom: { constructor: 1 } }],
    ['empty', {}, {}],
  ])('%s', (_, input, expected) => {
    expect(normalizeResources(input as never, 'bundle 0')).toEqual(expected);
  });

  it.each([
    ['the same resource twice', { gpus: 1, GPU: 1 }, /bundle 0: both gpus and GPU are given/],
    ['a near miss of a builtin key', { gpu: 1 }, /unknown resource key "gpu".*cpus, gpus, memoryMb/],
    ['a negative amount', { cpus: -1 }, /cpus must be a number >= 0, got -1/],
    ['a string amount', { trainer: '1' }, /trainer must be a number >= 0, got "1"/],
    ['NaN', { GPU: Number.NaN }, /GPU must be a number >= 0/],
    ['a custom name twice', { custom: { a: 1 }, a: 2 }, /custom resource "a" is given twice/],
  ])('refuses %s with a hint', (_, input, message) => {
    const call = () => normalizeResources(input as never, 'bundle 0');
    expect(call).toThrow(RayslClientError);
    expect(call).toThrow(message);
    expect(call).toThrow(/\(.+\)$/); // the hint
  });

  it('merges run options: top-level amounts and resources, Ray-style keys included', () => {
    expect(taskResources({ gpus: 0.5, resources: { trainer: 1, CPU: 2 } }, 'run')).toEqual({
      gpus: 0.5,
      cpus: 2,
      custom: { trainer: 1 },
    });
    expect(taskResources({}, 'run')).toBeUndefined();
    expect(() => taskResources({ gpus: 1, resources: { GPU: 1 } }, 'run')).toThrow(
      /run: gpus is given both directly and in resources/,
    );
  });
});
