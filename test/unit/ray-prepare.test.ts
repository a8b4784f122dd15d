// prepareRayNode (src/runtimes/ray/prepare.ts): one node's `ray start`, decided before anything
// starts. Expected ports are the documented offsets of src/core/ports.ts (gcs +1, node manager +2,
// dashboard +5, dashboard agent http +8), not what the code computes.
import { describe, expect, it } from 'vitest';
import { portLayout } from '../../src/core/ports.js';
import { prepareRayNode, type RayNodeFacts, type RayNodeInput } from '../../src/runtimes/ray/prepare.js';
import { parseRayVersion } from '../../src/runtimes/ray/version.js';

const GiB = 2 ** 30;
const v = (s: string) => parseRayVersion(`ray, version ${s}\n`);
const PY = '/venv/bin/python3';

function input(over: Partial<RayNodeInput> = {}): RayNodeInput {
  return {
    jobId: '42',
    role: 'head',
    nodeName: 'node1',
    address: '10.0.0.1',
    headAddress: '10.0.0.1',
    portBase: 40000,
    headPortBase: 40000,
    layout: portLayout('ray', 8),
    resources: { cpus: 4, gpus: 0, memoryMb: 4096 },
    scratchDir: '/tmp/raysl/42/node1',
    rayAuth: 'token',
    tokenFile: '/jobs/42/token',
    runtimeLogDir: '/jobs/42/runtime-logs/node1',
    env: {},
    ...over,
  };
}

function facts(over: Partial<RayNodeFacts> = {}): RayNodeFacts {
  return {
    env: { PATH: '/usr/bin', RAY_ADDRESS: '10.9.9.9:6379', RAYSL_TOKEN: 'secret', RAYSL_JOB_DIR: '/jobs/42' },
    bin: '/venv/bin/ray',
    version: v('2.60.0'),
    interfaces: {
      ib0: [
        {
          address: '192.168.7.1',
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '00:00:00:00:00:00',
          internal: false,
          cidr: '192.168.7.1/24',
        },
      ],
    },
    totalMemBytes: 16 * GiB,
    shmAvailBytes: 8 * GiB,
    python: PY,
    ...over,
  };
}

const worker = (over: Partial<RayNodeInput> = {}) =>
  input({ role: 'worker', nodeName: 'node2', address: '10.0.0.2', scratchDir: '/tmp/raysl/42/node2', ...over });

describe('prepareRayNode: the head', () => {
  const node = prepareRayNode(input(), facts());

  it('runs `ray start --head` pinned to the block through the boot script, and waits for GCS, dashboard and dashboard agent', () => {
    expect(node.command.file).toBe(PY);
    expect(node.command.args).toEqual(['/tmp/raysl/42/node1/ray/raysl-boot/ray', ...node.rayArgv]);
    expect(node.rayArgv[0]).toBe('start');
    expect(node.rayArgv).toContain('--head');
    expect(node.rayArgv).toContain('--port=40001');
    expect(node.mustAnswer).toEqual([
      ['GCS', 40001],
      ['dashboard', 40005],
      ['dashboard agent', 40008],
    ]);
    expect(node.nodeIp).toBe('10.0.0.1');
  });

  it("hands its raylet the dashboard agent's port, and nothing a worker needs to join", () => {
    expect(node.rayArgv).toContain('--dashboard-agent-listen-port=40008');
    expect(node.env['RAYSL_RAY_AGENT_LISTEN_PORT']).toBe('40008');
    expect(node.env['RAYSL_RAY_GCS_ADDRESS']).toBeUndefined();
    expect(node.env['RAYSL_RAY_BOOT_GATE']).toBeUndefined();
    expect(node.env['RAYSL_RAY_BOOT_NICE']).toBeUndefined();
  });

  it('keeps its temp dir in the scratch dir, with TMPDIR and the Serve hook inside', () => {
    expect(node.tempDir).toBe('/tmp/raysl/42/node1/ray');
    expect(node.tmpDir).toBe('/tmp/raysl/42/node1/ray/tmp');
    expect(node.hookDir).toBe('/tmp/raysl/42/node1/ray/py');
    expect(node.outsideScratch).toBe(false);
    expect(node.rayArgv).toContain('--temp-dir=/tmp/raysl/42/node1/ray');
  });

  it("gives the daemons the mark, the token file and TMPDIR, but not another RAY_ADDRESS nor raysl's token", () => {
    expect(node.env['RAYSL_RAY_OF']).toBe('42/node1');
    expect(node.env['TMPDIR']).toBe('/tmp/raysl/42/node1/ray/tmp');
    expect(node.env['RAY_AUTH_MODE']).toBe('token');
    expect(node.env['RAY_AUTH_TOKEN_PATH']).toBe('/jobs/42/token');
    expect(node.env['RAY_ADDRESS']).toBeUndefined();
    expect(node.env['RAYSL_TOKEN']).toBeUndefined();
    expect(node.env['RAYSL_STORAGE_PATH']).toBe('/jobs/42/ray_results');
    expect(node.env['PYTHONPATH']?.split(':')[0]).toBe('/tmp/raysl/42/node1/ray/py');
    expect(node.env['RAY_NUM_REDIS_GET_RETRIES']).toBeUndefined();
    expect(JSON.stringify(node)).not.toContain('secret');
  });

  it('says nothing about auth when it is on, and logs the command', () => {
    expect(node.authNote).toBeUndefined();
    expect(node.logLines.some((l) => l.startsWith('ray 2.60.0: /venv/bin/ray start'))).toBe(true);
  });

  it("binds the named interface's address", () => {
    expect(prepareRayNode(input({ iface: 'ib0' }), facts()).nodeIp).toBe('192.168.7.1');
    expect(() => prepareRayNode(input({ iface: 'eth7' }), facts())).toThrow(/eth7/);
  });

  it('says when /dev/shm caps the object store', () => {
    const small = prepareRayNode(input(), facts({ shmAvailBytes: 200 * 2 ** 20 }));
    expect(small.logLines.some((l) => /object store capped to \d+ MiB by \/dev\/shm/.test(l))).toBe(true);
    expect(node.logLines.some((l) => l.includes('capped'))).toBe(false);
  });

  it('takes a short temp dir under /tmp, outside the scratch dir, when the scratch path is too long for sockets', () => {
    const long = prepareRayNode(input({ scratchDir: `/scratch/${'x'.repeat(80)}` }), facts());
    expect(long.tempDir.startsWith('/tmp/raysl-')).toBe(true);
    expect(long.outsideScratch).toBe(true);
  });

  it('notes that auth is off', () => {
    expect(prepareRayNode(input({ rayAuth: 'off' }), facts()).authNote).toMatch(/off/);
  });
});

describe('prepareRayNode: a worker', () => {
  it("runs the boot script with the script's Python, joins the head's GCS and waits for its own node manager", () => {
    const node = prepareRayNode(worker({ portBase: 40000 }), facts());
    expect(node.command.file).toBe(PY);
    expect(node.command.args).toEqual(['/tmp/raysl/42/node2/ray/raysl-boot/ray', ...node.rayArgv]);
    expect(node.rayArgv).toContain('--address=10.0.0.1:40001');
    expect(node.rayArgv).not.toContain('--head');
    expect(node.mustAnswer).toEqual([['node manager', 40002]]);
    expect(node.env['RAYSL_RAY_GCS_ADDRESS']).toBe('10.0.0.1:40001');
    expect(node.env['RAYSL_RAY_AGENT_LISTEN_PORT']).toBe('40008');
    expect(node.env['RAYSL_RAY_BOOT_GATE']).toBe('gcs');
    expect(node.env['RAYSL_RAY_BOOT_WAIT_S']).toBe('180');
    expect(node.env['RAY_NUM_REDIS_GET_RETRIES']).toBe('180');
    expect(node.env['RAYSL_RAY_OF']).toBe('42/node2');
  });

  it("on a shared host (a port base of its own) joins the head's port and waits for the head to register", () => {
    const node = prepareRayNode(worker({ portBase: 41000, headPortBase: 40000 }), facts());
    expect(node.rayArgv).toContain('--address=10.0.0.1:40001');
    expect(node.mustAnswer).toEqual([['node manager', 41002]]);
    expect(node.env['RAYSL_RAY_BOOT_GATE']).toBe('registered');
  });

  it('starts at a low CPU share until its own dashboard agent and runtime-env agent answer; the job can turn that off', () => {
    const node = prepareRayNode(worker({ portBase: 41000, headPortBase: 40000 }), facts());
    expect(node.env['RAYSL_RAY_BOOT_NICE']).toBe('19');
    // its own address and its own block (offsets 8 and 10), not the head's
    expect(node.env['RAYSL_RAY_BOOT_NICE_UNTIL']).toBe('10.0.0.2:41008,10.0.0.2:41010');
    expect(prepareRayNode(worker(), facts({ env: { RAYSL_RAY_BOOT_NICE: '0' } })).env['RAYSL_RAY_BOOT_NICE']).toBe('0');
  });

  it("starts after the head's dashboard when the job asks for it", () => {
    expect(
      prepareRayNode(worker(), facts({ env: { RAYSL_RAY_BOOT_GATE: 'dashboard' } })).env['RAYSL_RAY_BOOT_GATE'],
    ).toBe('dashboard');
  });

  it("follows RAYSL_RAY_START_TIMEOUT_MS and keeps the user's RAY_NUM_REDIS_GET_RETRIES", () => {
    const node = prepareRayNode(
      worker(),
      facts({ env: { RAYSL_RAY_START_TIMEOUT_MS: '30500', RAY_NUM_REDIS_GET_RETRIES: '7' } }),
    );
    expect(node.startTimeoutMs).toBe(30500);
    expect(node.env['RAYSL_RAY_BOOT_WAIT_S']).toBe('31');
    expect(node.env['RAY_NUM_REDIS_GET_RETRIES']).toBe('7');
  });

  it.each([
    ['RAYSL_RAY_BOOT=0', facts({ env: { RAYSL_RAY_BOOT: '0' } }), /RAYSL_RAY_BOOT=0/],
    ['an older Ray', facts({ version: v('2.55.0') }), /not for Ray 2\.55\.0/],
    ['a `ray` without a plain python #!', facts({ python: undefined }), /not a console script/],
  ])('with %s runs plain `ray start` on every node and says why', (_what, f, why) => {
    const head = prepareRayNode(input(), f);
    expect(head.command).toEqual({ file: '/venv/bin/ray', args: head.rayArgv });
    expect(head.env['RAYSL_RAY_AGENT_LISTEN_PORT']).toBeUndefined();
    expect(head.logLines.some((l) => l.startsWith('ray: head boot: ') && why.test(l))).toBe(true);
    const node = prepareRayNode(worker(), f);
    expect(node.command).toEqual({ file: '/venv/bin/ray', args: node.rayArgv });
    expect(node.boot.python).toBeUndefined();
    expect(node.boot.why).toMatch(why);
    expect(node.env['RAYSL_RAY_GCS_ADDRESS']).toBeUndefined();
    expect(node.logLines.some((l) => l.startsWith('ray: worker boot: ') && why.test(l))).toBe(true);
  });
});
