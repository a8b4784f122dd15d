"""STAND-IN for the `ray` Python package, for tests only.

Ray cannot be installed here (no Python package index is reachable), so this small module lets
examples/train.py run against raysl's stand-in `ray` CLI (test/standin/ray). It speaks that
stand-in's JSON-lines protocol on the GCS port; it does not speak Ray's gRPC and is not Ray.

Honest limits: tasks run in this Python process, one after another. "Placement" only picks the
alive node whose resources fit (round-robin) and pretends the task ran there: inside a task,
ray.get_gpu_ids() and ray.util.get_node_ip_address() answer for that node.
"""
import json
import os
import socket

__version__ = "0.0.0-standin"
_conn = None
_file = None
_current = None  # (node, gpu_ids) of the task being "executed"
_rr = 0


def _call(op, **kw):
    if _conn is None:
        raise RuntimeError("ray.init() has not been called")
    _conn.sendall((json.dumps({"op": op, **kw}) + "\n").encode())
    reply = json.loads(_file.readline())
    if not reply.get("ok"):
        raise RuntimeError(f"stand-in GCS error: {reply.get('error')}")
    return reply


def init(address=None, **_ignored):
    """Connects to RAY_ADDRESS (host:port), as ray.init() does when RAY_ADDRESS is set."""
    global _conn, _file
    if address in (None, "auto"):
        address = os.environ.get("RAY_ADDRESS")
    if not address:
        raise ConnectionError("Could not find any running Ray instance: set RAY_ADDRESS (stand-in)")
    host, _, port = address.rpartition(":")
    _conn = socket.create_connection((host, int(port)), timeout=30)
    _file = _conn.makefile("r")
    _call("version")
    return {"address": address}


def is_initialized():
    return _conn is not None


def shutdown():
    global _conn, _file
    if _conn is not None:
        _conn.close()
    _conn = _file = None


def nodes():
    return _call("nodes")["nodes"]


def cluster_resources():
    return {k: float(v) for k, v in _call("cluster_resources")["resources"].items()}


def get_gpu_ids():
    return list(_current[1]) if _current else []


class ObjectRef:
    def __init__(self, value=None, error=None):
        self._value, self._error = value, error


def get(refs):
    if isinstance(refs, list):
        return [get(r) for r in refs]
    if refs._error is not None:
        raise refs._error
    return refs._value


def _place(num_gpus, num_cpus, resources):
    global _rr
    alive = [n for n in nodes() if n.get("Alive")]
    fits = []
    for n in alive:
        r = n.get("Resources", {})
        if r.get("GPU", 0) < num_gpus or r.get("CPU", 0) < num_cpus:
            continue
        if any(r.get(k, 0) < v for k, v in resources.items()):
            continue
        fits.append(n)
    if not fits:
        raise RuntimeError(
            f"stand-in: no alive node fits num_gpus={num_gpus} num_cpus={num_cpus} resources={resources}"
        )
    node = fits[_rr % len(fits)]
    _rr += 1
    return node


class RemoteFunction:
    def __init__(self, fn, num_gpus=0, num_cpus=1, resources=None):
        self._fn, self._gpus, self._cpus, self._res = fn, num_gpus, num_cpus, dict(resources or {})
        self._next_gpu = {}

    def options(self, num_gpus=None, num_cpus=None, resources=None, **_ignored):
        return RemoteFunction(
            self._fn,
            self._gpus if num_gpus is None else num_gpus,
            self._cpus if num_cpus is None else num_cpus,
            self._res if resources is None else resources,
        )

    def remote(self, *args, **kwargs):
        global _current
        node = _place(self._gpus, self._cpus, self._res)
        total = int(node.get("Resources", {}).get("GPU", 0))
        ids = []
        if self._gpus and total:
            start = _GPU_CURSOR.get(node["NodeID"], 0)
            ids = [(start + i) % total for i in range(int(max(1, self._gpus)))]
            _GPU_CURSOR[node["NodeID"]] = (start + len(ids)) % total
        prev, _current = _current, (node, ids)
        try:
            return ObjectRef(value=self._fn(*args, **kwargs))
        except Exception as e:  # surfaced by ray.get, as Ray does
            return ObjectRef(error=e)
        finally:
            _current = prev

    def __call__(self, *a, **k):
        raise TypeError("Remote functions cannot be called directly; use .remote()")


_GPU_CURSOR = {}


def remote(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return RemoteFunction(args[0])
    return lambda fn: RemoteFunction(fn, **kwargs)


class _Util:
    @staticmethod
    def get_node_ip_address():
        if _current:
            return _current[0]["NodeManagerAddress"]
        return socket.gethostbyname(socket.gethostname())


util = _Util()
