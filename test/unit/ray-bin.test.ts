import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installedRayVersion, rayInterpreter } from '../../src/runtimes/ray/bin.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A venv-shaped tree: bin/ray with a #! line, and the given dist-info dirs in site-packages. */
function venv(opts: { shebang?: string; distInfos: string[] }): string {
  const root = tempDir('raysl-venv-');
  dirs.push(root);
  mkdirSync(join(root, 'bin'));
  const site = join(root, 'lib', 'python3.11', 'site-packages');
  mkdirSync(site, { recursive: true });
  for (const d of opts.distInfos) mkdirSync(join(site, d));
  writeFileSync(join(root, 'bin', 'ray'), `${opts.shebang ?? `#!${root}/bin/python3`}\nimport sys\n`);
  chmodSync(join(root, 'bin', 'ray'), 0o755);
  return root;
}

describe('installedRayVersion: the version from the install, without starting Python', () => {
  it('reads ray-<version>.dist-info of the site-packages the #! interpreter uses, by path or on PATH', () => {
    const v = venv({ distInfos: ['ray-2.58.1.dist-info', 'click-8.1.7.dist-info'] });
    expect(installedRayVersion(join(v, 'bin', 'ray'), {})).toMatchObject({
      major: 2,
      minor: 58,
      patch: 1,
      raw: '2.58.1',
    });
    expect(installedRayVersion('ray', { PATH: `/nonexistent:${join(v, 'bin')}` })?.raw).toBe('2.58.1');
  });

  it.each([
    ['two Ray installs side by side', { distInfos: ['ray-2.58.1.dist-info', 'ray-2.60.0.dist-info'] }, {}],
    ['no Ray dist-info', { distInfos: ['click-8.1.7.dist-info'] }, {}],
    ['a #! through env', { shebang: '#!/usr/bin/env python3', distInfos: ['ray-2.60.0.dist-info'] }, {}],
    ['PYTHONPATH could shadow the install', { distInfos: ['ray-2.60.0.dist-info'] }, { PYTHONPATH: '/elsewhere' }],
  ])('is undefined (the caller asks `ray --version`) with %s', (_what, tree, env) => {
    const v = venv(tree);
    expect(installedRayVersion(join(v, 'bin', 'ray'), env)).toBeUndefined();
  });

  it('is undefined for a ray that does not exist', () => {
    expect(installedRayVersion('/nonexistent/bin/ray', {})).toBeUndefined();
    expect(installedRayVersion('ray', { PATH: '/nonexistent' })).toBeUndefined();
  });
});

describe('rayInterpreter: the Python a `ray` console script runs (the worker boot script runs under it)', () => {
  it('is the absolute python of the #! line, by path or on PATH', () => {
    const v = venv({ distInfos: ['ray-2.60.0.dist-info'] });
    expect(rayInterpreter(join(v, 'bin', 'ray'), {})).toBe(`${v}/bin/python3`);
    expect(rayInterpreter('ray', { PATH: `/nonexistent:${join(v, 'bin')}` })).toBe(`${v}/bin/python3`);
  });

  it.each([
    ['a #! through env', '#!/usr/bin/env python3'],
    ['a relative interpreter', '#!python3'],
    ['an interpreter that is not python', '#!/bin/bash'],
    ['no #! line', 'import sys'],
  ])('is undefined (plain `ray start`) with %s', (_what, shebang) => {
    const v = venv({ shebang, distInfos: ['ray-2.60.0.dist-info'] });
    expect(rayInterpreter(join(v, 'bin', 'ray'), {})).toBeUndefined();
  });

  it('is undefined for a ray that does not exist', () => {
    expect(rayInterpreter('/nonexistent/bin/ray', {})).toBeUndefined();
  });
});
