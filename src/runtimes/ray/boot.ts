/**
 * A worker node's `ray start`, started with the head instead of after it (Ray 2.60 only).
 *
 * Plain `ray start --address` on a worker (Ray 2.60, python/ray/_private/node.py `Node.__init__`)
 * runs, in order: Python + `import ray` + the CLI (1.5-3.5 s of CPU on the test cluster), then
 * `internal_kv_get_with_retry(session_name)` and `get_all_node_info_until_retrieved(head)`
 * (python/ray/_private/utils.py), each polling the GCS with a fixed `time.sleep(2)`; the second
 * waits for the head's raylet to register, which itself waits for the head's dashboard agent
 * (a Python process of its own). Only then does the worker start its raylet, whose registration
 * waits for the worker's own dashboard agent. Two Python start-ups in series plus 2 s steps.
 *
 * This boot script (run by the interpreter of the `ray` console script, with `ray start`'s argv):
 * 1. imports Ray's CLI at once, overlapping the head's start;
 * 2. waits for the head's session name in the GCS KV with a 50 ms poll (the head writes it right
 *    after its GCS starts: node.py `_write_cluster_info_to_kv`), so Ray's first
 *    `internal_kv_get_with_retry` succeeds without a 2 s sleep;
 * 3. waits (same poll) until the head's dashboard is up: the key the head's own `ray start`
 *    waits for (services.py `start_api_server`, ray_constants.DASHBOARD_ADDRESS). That start is the
 *    head's heaviest moment (about ten Python processes); workers that start their own Python
 *    daemons during it, on a host whose cores they share with the head, made raylets miss their
 *    15 s deadline for the dashboard agent (below) at high load. On separate machines this costs
 *    little: the head's raylet and dashboard agent start only after its dashboard anyway;
 * 4. answers Node.__init__'s head-node lookup without waiting for the head's raylet: the worker
 *    reads only the head's `temp_dir` (unused: raysl passes --temp-dir) and `session_dir` (to tell
 *    whether the cluster's spill directory is the head's default, node.py `start_ray_processes`).
 *    By default the head spills into its own session dir (node.py `_get_object_spilling_config`:
 *    `{"directory_path": self._session_dir}`) and that config is in the GCS system config from the
 *    GCS's start, so when the spill path ends in the session name it *is* the head's session dir.
 *    Any other spill config: the real lookup, polled every 50 ms instead of 2 s;
 *    Nodes that share one host by design (`run --local`: RAYSL_RAY_BOOT_GATE=registered) wait for
 *    the head's registration instead, polled every 50 ms: the old order without the 2 s sleeps;
 * 5. calls Ray's own CLI entry point (`ray.scripts.scripts.main`, what the console script calls).
 * Whatever of this the installed Ray lacks (an import or a name), it says so and runs plain `ray
 * start`: the same command, Ray's own waits.
 *
 * Not done on the head, on purpose: starting its dashboard (services.py `start_api_server` waits
 * for it) together with its raylet was tried; the raylet's constructor waits at most 15 s for the
 * dashboard agent's port files (node_manager.cc `WaitForDashboardAgentPorts`, not tunable in 2.60)
 * and aborted in 3 of 3 runs at load 22 on the 2-core test host, while the serial head passed.
 * Versions other than the tested one take plain `ray start` from the adapter (rayFeatures().rayBoot).
 */
export const RAY_BOOT_PY = String.raw`# raysl: a worker's ray start, started with the head (src/runtimes/ray/boot.ts says why)
import json, os, sys, time
t0 = time.time()
from ray.scripts.scripts import main

def say(msg):
    print("raysl-ray-boot: %s (+%.2fs)" % (msg, time.time() - t0), file=sys.stderr, flush=True)

class Kv:
    """The head's GCS KV, polled every 50 ms (Ray's own reads wait 2 s between tries)."""
    def __init__(self, gcs_address):
        self.address, self.client = gcs_address, None

    def wait(self, key, namespace, deadline_s):
        from ray._raylet import GcsClient
        end = time.time() + deadline_s
        while time.time() < end:
            try:
                self.client = self.client or GcsClient(address=self.address)
                v = self.client.internal_kv_get(key, namespace, timeout=2)
                if v:
                    return v.decode()
            except Exception:
                self.client = None
            time.sleep(0.05)
        return None

def fast_head_lookup(session_name, gcs_address, from_config):
    import ray._private.node as node_mod
    from ray.core.generated.gcs_pb2 import GcsNodeInfo
    original = node_mod.get_all_node_info_until_retrieved

    def spill_dir(gcs_client):
        from ray._raylet import GcsClientOptions
        from ray._private.state import GlobalState
        opts = GcsClientOptions.create(gcs_address, gcs_client.cluster_id.hex(), allow_cluster_id_nil=False, fetch_cluster_id_if_nil=False)
        state = GlobalState()
        state._initialize_global_state(opts)
        cfg = state.get_system_config()
        if not cfg.get("automatic_object_spilling_enabled", True):
            return None
        spill = json.loads(cfg.get("object_spilling_config") or "{}")
        path = spill.get("params", {}).get("directory_path") if spill.get("type") == "filesystem" else None
        path = path[0] if isinstance(path, list) and path else path
        return path if isinstance(path, str) and os.path.basename(path.rstrip("/")) == session_name else None

    def lookup(gcs_client, node_selectors=None, state_filter=None, num_retries=20, timeout_per_retry=None, **kw):
        is_head_lookup = bool(node_selectors) and all(getattr(s, "is_head_node", False) for s in node_selectors)
        if not is_head_lookup:
            return original(gcs_client, node_selectors, state_filter, num_retries, timeout_per_retry, **kw)
        path = None
        if from_config:
            try:
                path = spill_dir(gcs_client)
            except Exception as e:
                say("could not read the cluster's spill config (%r): waiting for the head's raylet" % (e,))
        if path is not None:
            info = GcsNodeInfo(temp_dir=os.path.dirname(path.rstrip("/")), session_dir=path.rstrip("/"), state=GcsNodeInfo.GcsNodeState.ALIVE)
            say("head's session dir %s from the GCS config: not waiting for the head's raylet" % info.session_dir)
            return [info]
        deadline = time.time() + 2 * num_retries
        while True:
            try:
                infos = list(gcs_client.get_all_node_info(timeout=timeout_per_retry, node_selectors=node_selectors, state_filter=state_filter).values())
            except Exception:
                infos = []
            if infos or time.time() > deadline:
                if infos:
                    say("head registered")
                return infos
            time.sleep(0.05)

    node_mod.get_all_node_info_until_retrieved = lookup

def boot():
    from ray._private import ray_constants
    say("Ray's CLI imported")
    gcs_address = os.environ["RAYSL_RAY_GCS_ADDRESS"]
    wait_s = float(os.environ.get("RAYSL_RAY_BOOT_WAIT_S", "600"))
    kv = Kv(gcs_address)
    session_name = kv.wait(b"session_name", ray_constants.KV_NAMESPACE_SESSION, wait_s)
    if session_name is None:
        say("no session name from the head's GCS in time: plain ray start")
        return
    say("head's session name %s" % session_name)
    if os.environ.get("RAYSL_RAY_BOOT_GATE") == "registered":
        fast_head_lookup(session_name, gcs_address, from_config=False)
        return
    # the head's heaviest moment is its dashboard start (about ten Python processes): a worker
    # starts its own Python daemons after it, not during it (they share cores on a shared host)
    if kv.wait(ray_constants.DASHBOARD_ADDRESS.encode(), ray_constants.KV_NAMESPACE_DASHBOARD, min(wait_s, 120)) is None:
        say("the head's dashboard is not up after 120 s: going on")
    else:
        say("head's dashboard up")
    fast_head_lookup(session_name, gcs_address, from_config=True)

try:
    boot()
except Exception as e:
    say("boot step failed (%r): plain ray start" % (e,))
sys.argv = ["ray"] + sys.argv[1:]
sys.exit(main())
`;

/**
 * Where the boot script goes in the node's Ray temp dir: a file named `ray`, so the process reads
 * `<python> <temp dir>/raysl-boot/ray start --address=...` in ps, like Ray's own console script
 * (operators and tests find a node's `ray start` by that).
 */
export const RAY_BOOT_DIR = 'raysl-boot';
export const RAY_BOOT_FILE = 'ray';
