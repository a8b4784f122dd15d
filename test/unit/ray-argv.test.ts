import { describe, expect, it } from 'vitest';
import { rayStartArgv, rayStartEnv, type RayStartInput } from '../../src/runtimes/ray/argv.js';
import { parseRayVersion } from '../../src/runtimes/ray/version.js';
import { portLayout } from '../../src/core/ports.js';
import { resolveRayPorts } from '../../src/runtimes/ray/ports.js';

const v = (s: string) => parseRayVersion(`ray, version ${s}\n`);
const { ports, workerPorts } = resolveRayPorts(40000, portLayout('ray', 8));

function input(over: Partial<RayStartInput> = {}): RayStartInput {
  return {
    role: 'head',
    nodeIp: '10.0.0.1',
    headAddress: '10.0.0.1',
    headGcsPort: ports.gcs,
    ports,
    workerPorts,
    tempDir: '/tmp/raysl/42/node1/ray',
    numCpus: 8,
    numGpus: 2,
    memoryBytes: 1000,
    objectStoreBytes: 500,
    ...over,
  };
}

/** "--flag=value" pairs of an argv as a map; bare flags map to "". */
function flags(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of argv.slice(1)) {
    const i = a.indexOf('=');
    m.set(i < 0 ? a : a.slice(0, i), i < 0 ? '' : a.slice(i + 1));
  }
  return m;
}

describe('rayStartArgv: head', () => {
  const f = flags(rayStartArgv(input(), v('2.55.0')));

  it.each([
    ['--port', ports.gcs],
    ['--node-manager-port', ports.node_manager],
    ['--object-manager-port', ports.object_manager],
    ['--ray-client-server-port', ports.ray_client_server],
    ['--dashboard-port', ports.dashboard],
    ['--dashboard-agent-grpc-port', ports.dashboard_agent_grpc],
    ['--dashboard-agent-listen-port', ports.dashboard_agent_listen],
    ['--metrics-export-port', ports.metrics_export],
    ['--runtime-env-agent-port', ports.runtime_env_agent],
    ['--min-worker-port', workerPorts[0]],
    ['--max-worker-port', workerPorts[1]],
  ])('pins %s from the job block', (flag, port) => {
    expect(f.get(flag)).toBe(String(port));
    expect(port).toBeGreaterThanOrEqual(40000);
  });

  it('pins every port to a distinct number inside the block', () => {
    const pinned = [...f.entries()].filter(([k]) => k.endsWith('-port')).map(([, val]) => Number(val));
    expect(pinned.length).toBe(11);
    const singles = pinned.filter((p) => p < workerPorts[0] || p > workerPorts[1]);
    expect(new Set(singles).size).toBe(singles.length);
  });

  it('binds the dashboard to the head address, never 0.0.0.0', () => {
    expect(f.get('--dashboard-host')).toBe('10.0.0.1');
    expect(f.get('--node-ip-address')).toBe('10.0.0.1');
  });

  it('starts a blocking head with resources from Slurm and the per-job temp dir', () => {
    expect(f.has('--head')).toBe(true);
    expect(f.has('--block')).toBe(true);
    expect(f.get('--num-cpus')).toBe('8');
    expect(f.get('--num-gpus')).toBe('2');
    expect(f.get('--memory')).toBe('1000');
    expect(f.get('--object-store-memory')).toBe('500');
    expect(f.get('--temp-dir')).toBe('/tmp/raysl/42/node1/ray');
    expect(f.has('--address')).toBe(false);
  });

  it('always passes --num-gpus, 0 included, so Ray does not count GPUs Slurm did not grant', () => {
    expect(flags(rayStartArgv(input({ numGpus: 0 }), v('2.55.0'))).get('--num-gpus')).toBe('0');
  });
});

describe('rayStartArgv: worker', () => {
  const f = flags(rayStartArgv(input({ role: 'worker', nodeIp: '10.0.0.2' }), v('2.55.0')));

  it("joins this job's own GCS port on the head", () => {
    expect(f.get('--address')).toBe(`10.0.0.1:${ports.gcs}`);
    expect(f.get('--node-ip-address')).toBe('10.0.0.2');
  });

  it('pins the per-node ports and leaves out head-only flags', () => {
    for (const flag of [
      '--node-manager-port',
      '--object-manager-port',
      '--min-worker-port',
      '--max-worker-port',
      '--dashboard-agent-grpc-port',
      '--dashboard-agent-listen-port',
      '--metrics-export-port',
      '--runtime-env-agent-port',
    ]) {
      expect(f.has(flag), flag).toBe(true);
    }
    for (const flag of ['--head', '--port', '--dashboard-host', '--dashboard-port', '--ray-client-server-port']) {
      expect(f.has(flag), flag).toBe(false);
    }
  });
});

describe('rayStartArgv: version gating', () => {
  it('passes --dashboard-grpc-port only to versions where it pins a real port (< 2.45)', () => {
    expect(flags(rayStartArgv(input(), v('2.44.1'))).get('--dashboard-grpc-port')).toBe(String(ports.dashboard_grpc));
    expect(flags(rayStartArgv(input(), v('2.49.1'))).has('--dashboard-grpc-port')).toBe(false);
    expect(flags(rayStartArgv(input(), v('2.55.0'))).has('--dashboard-grpc-port')).toBe(false);
  });

  it('gives workers --temp-dir only from 2.51, where workers honour it', () => {
    const worker = input({ role: 'worker', nodeIp: '10.0.0.2' });
    expect(flags(rayStartArgv(worker, v('2.49.1'))).has('--temp-dir')).toBe(false);
    expect(flags(rayStartArgv(worker, v('2.51.0'))).get('--temp-dir')).toBe('/tmp/raysl/42/node1/ray');
  });

  it('reads the version probe output', () => {
    expect(parseRayVersion('ray, version 2.49.1\n')).toMatchObject({ major: 2, minor: 49, patch: 1, raw: '2.49.1' });
    expect(() => parseRayVersion('Python 3.11.2')).toThrow(/expected "ray, version X.Y.Z"/);
  });
});

describe('rayStartArgv: refusals', () => {
  it('refuses 0.0.0.0 as the node address', () => {
    expect(() => rayStartArgv(input({ nodeIp: '0.0.0.0' }), v('2.55.0'))).toThrow(/0\.0\.0\.0/);
  });
  it('refuses a port outside 1..65535', () => {
    expect(() => rayStartArgv(input({ ports: { ...ports, gcs: 70000 } }), v('2.55.0'))).toThrow(
      /"gcs" must be an integer in 1..65535, received 70000/,
    );
  });
  it('refuses an inverted worker range', () => {
    expect(() => rayStartArgv(input({ workerPorts: [5, 4] }), v('2.55.0'))).toThrow(/first <= last/);
  });
});

describe('rayStartEnv', () => {
  it("pins the head's two flagless metrics servers (Ray's defaults 44217/44227 on 0.0.0.0) from the block and turns draining off", () => {
    expect(rayStartEnv({ role: 'head', ports })).toEqual({
      RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S: '0',
      AUTOSCALER_METRIC_PORT: String(40000 + 11),
      DASHBOARD_METRIC_PORT: String(40000 + 12),
    });
  });
  it('a worker opens neither', () => {
    expect(rayStartEnv({ role: 'worker', ports })).toEqual({ RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S: '0' });
  });
});

describe('rayStartArgv: custom resources', () => {
  it('passes --resources as JSON with names sorted, on heads and workers alike', () => {
    expect(
      flags(rayStartArgv(input({ customResources: { trainer: 2, ps: 0.5 } }), v('2.55.0'))).get('--resources'),
    ).toBe('{"ps":0.5,"trainer":2}');
    const worker = input({ role: 'worker', nodeIp: '10.0.0.2', customResources: { x: 1 } });
    expect(flags(rayStartArgv(worker, v('2.55.0'))).get('--resources')).toBe('{"x":1}');
  });
  it('leaves the flag out when the node has none', () => {
    expect(flags(rayStartArgv(input(), v('2.55.0'))).has('--resources')).toBe(false);
    expect(flags(rayStartArgv(input({ customResources: {} }), v('2.55.0'))).has('--resources')).toBe(false);
  });
});
