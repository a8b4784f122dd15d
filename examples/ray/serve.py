"""Ray Serve through raysl: a deployment with replicas on every node (up to 4) behind Serve's
proxies, started the plain way (`serve.run(app)`, no port): raysl gives Serve the job's own port
($RAYSL_SERVE_HTTP_PORT, from the job's port block, on every node) instead of Serve's fixed 8000,
so two jobs on one node never answer each other's requests. Checks that a request from the
entrypoint and one from another node (a task there, to its own node's proxy) get this job's answer,
and that the replicas run on at least 2 nodes. Exits 1 if a check fails.

    raysl submit -N 4 --setup 'source <venv>/bin/activate' examples/ray/serve.py --follow
    raysl run --local -N 2 examples/ray/serve.py

--port N asks Serve for port N explicitly (serve.start(http_options={"port": N})), as a script
written for Serve's default 8000 does: raysl checks that nothing holds it first. --hold FILE keeps
the app up after the checks (printing "serving") until FILE exists, at most 300 s.
"""
import json
import os
import sys
import time
import urllib.request

import ray
from ray import serve
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from ray.util.state import list_actors

failed = []


def check(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failed.append(what)


@serve.deployment(ray_actor_options={"num_cpus": 0.5})
class Hello:
    def __call__(self, request):
        return {"job": os.environ.get("RAYSL_JOB_ID"), "node": ray.get_runtime_context().get_node_id()}


def get(port, tries=60):
    """GET / on this node's proxy; retried while the proxy learns the route (bounded)."""
    last = None
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                return json.loads(r.read())
        except Exception as e:  # the proxy may not have the route yet
            last = e
            time.sleep(0.5)
    return {"error": repr(last)}


@ray.remote(num_cpus=0)
def ask_from_here():
    """A request from another node, to that node's own Serve proxy on that node's job port."""
    return os.environ.get("RAYSL_NODE"), get(int(os.environ["RAYSL_SERVE_HTTP_PORT"]))


def main():
    explicit = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else None
    ray.init()
    job = os.environ.get("RAYSL_JOB_ID")
    alive = [n for n in ray.nodes() if n["Alive"]]
    replicas = min(4, len(alive))
    port = explicit or int(os.environ["RAYSL_SERVE_HTTP_PORT"])
    print(f"job {job}: {len(alive)} nodes, {replicas} replicas, Serve's HTTP port {port}", flush=True)
    if explicit:
        serve.start(http_options={"port": explicit})
    # the plain way: no port anywhere
    serve.run(Hello.options(num_replicas=replicas).bind())

    here = get(port)
    print(f"entrypoint asked 127.0.0.1:{port}: {here}", flush=True)
    check(here.get("job") == job, f"the entrypoint's request reached this job's app ({here.get('job')})")

    head = ray.get_runtime_context().get_node_id()
    others = [n["NodeID"] for n in alive if n["NodeID"] != head]
    if others:
        node, there = ray.get(ask_from_here.options(scheduling_strategy=NodeAffinitySchedulingStrategy(others[0], soft=False)).remote())
        print(f"{node} asked its own proxy: {there}", flush=True)
        check(there.get("job") == job, f"a request from {node} reached this job's app ({there.get('job')})")

    status = serve.status().applications["default"].deployments["Hello"]
    replica_nodes = {r["node_id"] for r in list_actors(filters=[("class_name", "=", "ServeReplica:default:Hello"), ("state", "=", "ALIVE")])}
    print(f"deployment {status.status}, replicas on {len(replica_nodes)} node(s)", flush=True)
    check(len(replica_nodes) >= min(2, replicas), f"replicas on {len(replica_nodes)} nodes (at least 2)")
    if "--hold" in sys.argv:
        release = sys.argv[sys.argv.index("--hold") + 1]
        print("serving", flush=True)
        end = time.time() + 300
        while not os.path.exists(release) and time.time() < end:
            time.sleep(0.2)
    serve.shutdown()
    print("checks: all passed" if not failed else f"checks: {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
