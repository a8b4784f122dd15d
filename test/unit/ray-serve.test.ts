import { describe, expect, it } from 'vitest';
import { portLayout } from '../../src/core/ports.js';
import { resolveRayPorts } from '../../src/runtimes/ray/ports.js';
import {
  SERVE_HOOK_MODULE,
  SERVE_HOOK_SOURCE,
  serveDaemonEnv,
  servePortsEnv,
  servePreview,
} from '../../src/runtimes/ray/serve.js';

// block at 20480 for a 4-CPU ray node: Serve's ports are offsets 13..16 (src/core/ports.ts)
const { serve } = resolveRayPorts(20480, portLayout('ray', 4));

describe('Serve on the job ports', () => {
  it('resolves the four Serve ports from the block', () => {
    expect(serve).toEqual({
      serve_http: 20493,
      serve_grpc: 20494,
      serve_fallback_http: 20495,
      serve_fallback_grpc: 20496,
    });
  });

  it('gives ray start the variables Ray 2.60 reads, the hook and the ports the entrypoint reads', () => {
    expect(serveDaemonEnv(serve, '/tmp/r/py', {})).toEqual({
      RAYSL_SERVE_HTTP_PORT: '20493',
      RAYSL_SERVE_GRPC_PORT: '20494',
      RAY_SERVE_FALLBACK_PROXY_HTTP_PORT: '20495',
      RAY_SERVE_FALLBACK_PROXY_GRPC_PORT: '20496',
      RAY_SERVE_WORKER_PROXY_HTTP_PORT: '20493',
      RAY_SERVE_WORKER_PROXY_GRPC_PORT: '20494',
      RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH: 'raysl_serve_ports.on_controller_start',
      PYTHONPATH: '/tmp/r/py',
    });
    expect(servePortsEnv(serve)).toEqual({ RAYSL_SERVE_HTTP_PORT: '20493', RAYSL_SERVE_GRPC_PORT: '20494' });
  });

  it.each([
    [
      'keeps the user PYTHONPATH after the hook dir',
      { PYTHONPATH: '/home/a/lib' },
      { PYTHONPATH: '/tmp/r/py:/home/a/lib' },
    ],
    [
      "keeps the user's own controller callback, called by raysl's hook",
      { RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH: 'mypkg.cb' },
      { RAYSL_SERVE_USER_CONTROLLER_CALLBACK: 'mypkg.cb' },
    ],
  ])('%s', (_name, env, expected) => {
    expect(serveDaemonEnv(serve, '/tmp/r/py', env)).toMatchObject(expected);
  });

  it('does not chain its own hook to itself (an agent env that already carries it)', () => {
    const env = serveDaemonEnv(serve, '/tmp/r/py', {
      RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH: `${SERVE_HOOK_MODULE}.on_controller_start`,
    });
    expect(env).not.toHaveProperty('RAYSL_SERVE_USER_CONTROLLER_CALLBACK');
  });

  it('the hook reads the variables the daemons get and wraps the two functions Ray 2.60 controller.py calls', () => {
    for (const s of [
      'RAYSL_SERVE_HTTP_PORT',
      'RAYSL_SERVE_GRPC_PORT',
      'RAYSL_SERVE_USER_CONTROLLER_CALLBACK',
      'configure_http_options_with_defaults',
      'set_proxy_default_grpc_options',
      'def on_controller_start():',
    ]) {
      expect(SERVE_HOOK_SOURCE).toContain(s);
    }
    expect(SERVE_HOOK_SOURCE).not.toContain('\0');
  });

  it('render names the Serve ports relative to the block base', () => {
    expect(servePreview(portLayout('ray', 4))).toMatch(
      /^Ray Serve's proxies on HTTP B\+13 and gRPC B\+14 on every node, fallback proxy B\+15\/B\+16 /,
    );
  });
});
