/**
 * A node's `ray start` through a small boot script (Ray 2.60 only): the head's and the workers'.
 *
 * Every node (head and workers): the raylet gets the dashboard agent's listen port on its command
 * line. Ray 2.60's `services.start_raylet` (python/ray/_private/services.py) passes the raylet the
 * metrics agent, metrics export and runtime-env agent ports but not `--dashboard_agent_listen_port`,
 * a flag the raylet has (a gflag in the raylet binary); with that flag at 0 the raylet's constructor
 * waits for the agent's port file (node_manager.cc `WaitForDashboardAgentPorts`, at most 15 s, not
 * tunable: `RAY_agent_register_timeout_ms` does not govern it) and aborts when the agent (a Python
 * process importing Ray's dashboard modules) is later than that. raysl pins that port
 * (--dashboard-agent-listen-port), so the boot script hands the same number to the raylet, which then
 * registers with the GCS at once instead of after its agent's Python start (measured: the raylet
 * registered 0.04 s after its start, while an agent slowed by 25 s came up later and served). The
 * agent still binds the port itself; raysl's head still waits for it to answer (`ray job submit`).
 *
 * Workers, before (plain `ray start --address`, python/ray/_private/node.py `Node.__init__`):
 * Python + `import ray` + the CLI (1.5-3.5 s of CPU on the test cluster), then
 * `internal_kv_get_with_retry(session_name)` and `get_all_node_info_until_retrieved(head)`
 * (python/ray/_private/utils.py), each polling the GCS with a fixed `time.sleep(2)`; the second
 * waits for the head's raylet to register. Only then does the worker start its raylet.
 *
 * A worker's boot script (run by the interpreter of the `ray` console script, with `ray start`'s argv):
 * 1. imports Ray's CLI at once, overlapping the head's start;
 * 2. waits for the head's session name in the GCS KV with a 50 ms poll (the head writes it right
 *    after its GCS starts: node.py `_write_cluster_info_to_kv`), so Ray's first
 *    `internal_kv_get_with_retry` succeeds without a 2 s sleep;
 * 3. RAYSL_RAY_BOOT_GATE says when a worker starts its daemons: `gcs` (the default) at once;
 *    `dashboard` once the head's dashboard is up (the key the head's own `ray start` waits for:
 *    services.py `start_api_server`, ray_constants.DASHBOARD_ADDRESS; the head's heaviest moment,
 *    about ten Python processes); `agent` once the head's dashboard agent has written its address
 *    to the KV (dashboard/agent.py), i.e. once the head is up. Waiting only helps nodes that share
 *    the head's cores (the test cluster's: one 2-core host); on separate machines it delays the workers;
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
 *
 * A worker also starts at a low CPU share (RAYSL_RAY_BOOT_NICE, 19 by default, 0 turns it off): before
 * it imports Ray it sets the nice value of its own autogroup (Linux's scheduling group for one
 * session, /proc/self/autogroup; `ray start` runs in a session of its own, so the group is this
 * node's Ray: the CLI, the raylet, the agents, the log monitor) and sets it back once its dashboard
 * agent and runtime-env agent answer (RAYSL_RAY_BOOT_NICE_UNTIL; at most 120 s). Where nodes share
 * cores (`run --local`, a test cluster of network namespaces) the head's start, the one on the
 * critical path, and then the entrypoint's first seconds go first, and the workers' Python start-ups
 * (about 2.4 CPU-s each) fill what is left; on a node of its own it changes nothing. The autogroup
 * and not the process nice value because with autogroups on (the kernel default where they are
 * built in) a process's nice value only orders it within its own session's group, and because a
 * user may set a group's nice value back down to 0, which a process's own nice value never allows
 * (kernel/sched/autogroup.c `proc_sched_autogroup_set_nice`: only a negative value needs
 * CAP_SYS_NICE; one change per 100 ms). Without autogroups (sched_autogroup_enabled 0) nothing changes.
 * Whatever of this the installed Ray lacks (an import or a name), it says so and runs plain `ray
 * start`: the same command, Ray's own waits.
 *
 * Not done on the head, on purpose: starting its dashboard (services.py `start_api_server`, which
 * `ray start` waits for) in a thread while its raylet starts. Tried twice: before the agent's port was
 * passed, the raylet's 15 s wait aborted the head in 3 of 3 runs at load 22; after, on the 2-core
 * test host at load 13-16, the head was not ready sooner (ready 10.9/12.1/24.3 s against
 * 6.8/11.9/17.6 s one after the other) and its dashboard was KILLed once. raysl's head is ready when
 * its dashboard agent answers, which starts with the raylet either way.
 * Versions other than the tested one take plain `ray start` from the adapter (rayFeatures().rayBoot).
 */
export const RAY_BOOT_PY = String.raw`# raysl: a node's ray start (src/runtimes/ray/boot.ts says why)
import importlib.util, json, os, socket, sys, threading, time
t0 = time.time()
# the top-level packages of ray/dashboard/optional_deps.py (Ray 2.60): without one, Ray is minimal
DASHBOARD_DEPS = ("aiohttp", "aiohttp_cors", "grpc", "opencensus", "opentelemetry", "prometheus_client", "pydantic")

def say(msg):
    print("raysl-ray-boot: %s (+%.2fs)" % (msg, time.time() - t0), file=sys.stderr, flush=True)

def answers(address):
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False

def yield_while_starting():
    """A worker's start at a low CPU share until its agents answer (the autogroup: this node's session)."""
    until, path = os.environ.get("RAYSL_RAY_BOOT_NICE_UNTIL"), "/proc/self/autogroup"
    try:
        nice = int(os.environ.get("RAYSL_RAY_BOOT_NICE") or 0)
        if not 0 <= nice <= 19:
            raise ValueError
    except ValueError:
        say("RAYSL_RAY_BOOT_NICE=%r is not a nice value from 0 to 19: starting at this node's own share" % os.environ.get("RAYSL_RAY_BOOT_NICE"))
        return
    if nice == 0 or not until:
        return
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            if f.read().strip() != "1":
                return
        with open(path) as f:
            before = int(f.read().split()[-1])
        if before >= nice:
            return
        with open(path, "w") as f:
            f.write(str(nice))
    except (OSError, ValueError, IndexError):
        return
    say("this node's Ray at autogroup nice %d until %s answer" % (nice, until))

    def restore():
        end = time.time() + min(float(os.environ.get("RAYSL_RAY_BOOT_WAIT_S", "600")), 120)
        addresses = until.split(",")
        # Minimal Ray (no ray[default]): its dashboard agent serves no port. Ray's own test
        # (_private/utils.py get_dashboard_dependency_error) imports ray.dashboard.optional_deps, but
        # nothing is imported in this thread: two threads importing at once can meet a partly
        # initialised module ("cannot import name 'get_ray_doc_version' from partially initialized
        # module 'ray._private.utils'": a worker's ray start died of it). The same packages, found
        # without running them:
        try:
            minimal = any(importlib.util.find_spec(m) is None for m in DASHBOARD_DEPS)
        except Exception:
            minimal = False
        if minimal:
            addresses = [a for a in addresses if not a.endswith(":%s" % os.environ.get("RAYSL_RAY_AGENT_LISTEN_PORT"))]
        while time.time() < end and not all(answers(a) for a in addresses):
            time.sleep(0.1)
        for _ in range(50):  # the kernel takes one autogroup change per 100 ms
            try:
                with open(path, "w") as f:
                    f.write(str(before))
                say("back at autogroup nice %d" % before)
                return
            except OSError:
                time.sleep(0.1)

    threading.Thread(target=restore, name="raysl-nice", daemon=True).start()

yield_while_starting()
from ray.scripts.scripts import main

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

    def wait_prefix(self, prefix, namespace, deadline_s):
        from ray._raylet import GcsClient
        end = time.time() + deadline_s
        while time.time() < end:
            try:
                self.client = self.client or GcsClient(address=self.address)
                if self.client.internal_kv_keys(prefix, namespace):
                    return True
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
    gate = os.environ.get("RAYSL_RAY_BOOT_GATE")
    if gate == "dashboard":
        # the head's heaviest moment is its dashboard start (about ten Python processes): start after it
        if kv.wait(ray_constants.DASHBOARD_ADDRESS.encode(), ray_constants.KV_NAMESPACE_DASHBOARD, min(wait_s, 120)) is None:
            say("the head's dashboard is not up after 120 s: going on")
        else:
            say("head's dashboard up")
    elif gate == "agent":
        # the head is up once its dashboard agent is (dashboard/agent.py writes its address to the KV):
        # workers that share the head's cores start their own agents after it
        if kv.wait_prefix(b"DASHBOARD_AGENT_ADDR_NODE_ID_PREFIX:", ray_constants.KV_NAMESPACE_DASHBOARD, min(wait_s, 120)) is None:
            say("the head's dashboard agent is not up after 120 s: going on")
        else:
            say("head's dashboard agent up")
    fast_head_lookup(session_name, gcs_address, from_config=True)

def pin_agent_port():
    """The raylet gets the dashboard agent's (pinned) listen port: it registers without waiting for its agent."""
    port = os.environ.get("RAYSL_RAY_AGENT_LISTEN_PORT")
    if not port:
        return
    import ray._private.services as services
    from ray._private import ray_constants
    original = services.start_ray_process
    flag = "--dashboard_agent_listen_port="

    def start_ray_process(command, process_type, *args, **kwargs):
        if process_type == ray_constants.PROCESS_TYPE_RAYLET and not any(str(c).startswith(flag) for c in command):
            command = list(command) + [flag + port]
        return original(command, process_type, *args, **kwargs)

    services.start_ray_process = start_ray_process

try:
    pin_agent_port()
except Exception as e:
    say("could not pass the agent's port to the raylet (%r): it waits for the agent's port file" % (e,))
if os.environ.get("RAYSL_RAY_GCS_ADDRESS"):
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
