/**
 * Ray Serve on the job's own ports (pure: the environment and the hook's source text).
 *
 * Serve binds fixed ports on every node unless told otherwise: HTTP 8000 and gRPC 9000
 * (ray/serve/_private/constants.py, DEFAULT_HTTP_PORT / DEFAULT_GRPC_PORT, not read from the
 * environment in 2.60) and, for the head's fallback proxy, 8500/9500. Its proxies bind with
 * SO_REUSEPORT (http_util.py, set_socket_reuse_port), so two jobs of one user on a node both "get"
 * 8000 and the kernel hands each request to either: one job's requests reach the other's app.
 *
 * What Ray 2.60 reads, and what raysl gives it (the node's own ports, offsets 13..16):
 * - RAY_SERVE_FALLBACK_PROXY_HTTP_PORT / _GRPC_PORT: the fallback proxy (constants.py).
 * - RAY_SERVE_WORKER_PROXY_HTTP_PORT / _GRPC_PORT: every proxy but the head's binds these
 *   (proxy.py, apply_per_node_port_overrides), whatever the entrypoint asked for.
 * - The head's proxy takes the port of the options Serve was started with; an entrypoint's plain
 *   `serve.run(app)` leaves it at 8000. Serve calls RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH
 *   in its controller's __init__ right before it derives the proxies' options from those
 *   (controller.py): raysl's callback (SERVE_HOOK_SOURCE) makes a port the entrypoint left unset
 *   the job's, and checks an explicit one is free on the head first (one line naming the holder).
 *   The one hook covers every way Serve starts: serve.run, serve.start, `serve run`, `serve deploy`
 *   and the Jobs API, and costs nothing in a job that never starts Serve.
 */
import type { PortLayout } from '../../core/types.js';
import { resolveRayPorts, type ServePorts } from './ports.js';

/** The module raysl writes into each node's Ray temp dir and puts on the daemons' PYTHONPATH. */
export const SERVE_HOOK_MODULE = 'raysl_serve_ports';
const CALLBACK_ENV = 'RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH';
/** A callback the user set already: raysl's hook calls it after its own work. */
const USER_CALLBACK_ENV = 'RAYSL_SERVE_USER_CONTROLLER_CALLBACK';

/** The Serve ports a process on this node (the entrypoint, a task, a replica) reads. */
export function servePortsEnv(serve: ServePorts): Record<string, string> {
  return { RAYSL_SERVE_HTTP_PORT: String(serve.serve_http), RAYSL_SERVE_GRPC_PORT: String(serve.serve_grpc) };
}

/**
 * Environment for `ray start` on a node (every Ray worker, Serve's controller and proxies
 * included, inherits it). `hookDir` holds SERVE_HOOK_MODULE; `env` is what the daemons would
 * otherwise get (its PYTHONPATH and callback are kept).
 */
export function serveDaemonEnv(serve: ServePorts, hookDir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const userCallback = env[CALLBACK_ENV];
  const pythonPath = env['PYTHONPATH'];
  return {
    ...servePortsEnv(serve),
    RAY_SERVE_FALLBACK_PROXY_HTTP_PORT: String(serve.serve_fallback_http),
    RAY_SERVE_FALLBACK_PROXY_GRPC_PORT: String(serve.serve_fallback_grpc),
    RAY_SERVE_WORKER_PROXY_HTTP_PORT: String(serve.serve_http),
    RAY_SERVE_WORKER_PROXY_GRPC_PORT: String(serve.serve_grpc),
    [CALLBACK_ENV]: `${SERVE_HOOK_MODULE}.on_controller_start`,
    ...(userCallback && !userCallback.startsWith(`${SERVE_HOOK_MODULE}.`) ? { [USER_CALLBACK_ENV]: userCallback } : {}),
    PYTHONPATH: pythonPath ? `${hookDir}:${pythonPath}` : hookDir,
  };
}

/** Where Serve listens, as `render` shows it (B = the block's base). */
export function servePreview(layout: PortLayout): string {
  const p = resolveRayPorts(0, layout).serve;
  return (
    `Ray Serve's proxies on HTTP B+${p.serve_http} and gRPC B+${p.serve_grpc} on every node, fallback proxy B+${p.serve_fallback_http}/B+${p.serve_fallback_grpc} ` +
    `(RAY_SERVE_* in ray start's environment, raysl's hook for a serve.run() without a port); the entrypoint reads $RAYSL_SERVE_HTTP_PORT`
  );
}

/** raysl_serve_ports.py: run by Serve's controller on the head (see the comment at the top). */
export const SERVE_HOOK_SOURCE = `"""raysl's hook into Ray Serve's controller (written by raysl; see raysl's docs/ray-libraries.md).

Serve calls on_controller_start() in ServeController.__init__ (RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH),
just before the controller derives its proxies' options. It wraps the two functions that derive them:
a port the entrypoint left unset becomes the job's own (RAYSL_SERVE_HTTP_PORT, RAYSL_SERVE_GRPC_PORT);
an explicit one is kept once nothing on this node holds it (Serve binds with SO_REUSEPORT: a port
another job of the same user holds would be shared silently, and requests would reach its app).
"""
import os
import socket


class PortTaken(RuntimeError):
    pass


def _listening_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # local_address is <hex ip>:<hex port>; state 0A is LISTEN
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % cols[9])
    return inodes


def _holder(port):
    """Who listens on the port: 'pid N (command, raysl job J)' and J, as far as /proc shows it."""
    inodes = _listening_inodes(port)
    for pid in (d for d in os.listdir("/proc") if d.isdigit()) if inodes else ():
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
            if not any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) in inodes for fd in fds):
                continue
        except OSError:
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = " ".join(f.read().decode(errors="replace").split("\\0")).split()
                cmd = " ".join(cmd)[:100]
        except OSError:
            cmd = "?"
        job = None
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                for var in f.read().split(b"\\0"):
                    if var.startswith(b"RAYSL_RAY_OF="):
                        job = var[len(b"RAYSL_RAY_OF="):].decode(errors="replace").split("/")[0]
        except OSError:
            pass
        return "pid %s (%s%s)" % (pid, cmd, ", raysl job %s" % job if job else ""), job
    return ("a process of another user" if inodes else "another process"), None


def _taken(host, port):
    family = socket.AF_INET6 if ":" in (host or "") else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        # no SO_REUSEPORT: the bind fails while anyone listens there, SO_REUSEPORT or not
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host or "0.0.0.0", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def _place(options, what, env_name, enabled):
    own = int(os.environ[env_name])
    explicit = "port" in getattr(options, "model_fields_set", {"port"})
    if not explicit:
        options.port = own
        return options
    if options.port == own or not enabled or not _taken(getattr(options, "host", None), options.port):
        return options
    holder, job = _holder(options.port)
    mine = (os.environ.get("RAYSL_RAY_OF") or "/").split("/")[0]
    if job is not None and job == mine:
        return options  # this job's own proxy (the controller restarted)
    node = os.environ.get("RAYSL_NODE") or socket.gethostname()
    raise PortTaken(
        "raysl: error: Serve's %s port %d on %s is taken by %s\\n"
        "hint: leave the port out of serve.start()/serve.run() (or set it to $%s): raysl gives Serve this job's port %d"
        % (what, options.port, node, holder, env_name, own)
    )


def on_controller_start():
    from ray.serve._private import controller

    http_defaults = controller.configure_http_options_with_defaults
    grpc_defaults = controller.set_proxy_default_grpc_options

    def http(options):
        o = http_defaults(options)
        return _place(o, "HTTP", "RAYSL_SERVE_HTTP_PORT", o.host is not None)

    def grpc(options):
        o = grpc_defaults(options)
        return _place(o, "gRPC", "RAYSL_SERVE_GRPC_PORT", bool(o.grpc_servicer_functions))

    controller.configure_http_options_with_defaults = http
    controller.set_proxy_default_grpc_options = grpc
    user = os.environ.get("${USER_CALLBACK_ENV}")
    if user:
        from ray.serve._private.utils import call_function_from_import_path

        call_function_from_import_path(user)
`;
