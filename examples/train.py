"""A Ray job that shows what raysl gave it, and checks it: where tasks run, which GPU each one sees,
an actor's state, a STRICT_SPREAD placement group and fractional GPUs. Exits 1 if a check fails.

    raysl submit -N 4 --gpus-per-node 4 examples/train.py
    raysl run --local -N 2 --gpus-per-node 1 examples/train.py

raysl sets RAY_ADDRESS to this job's own head (and the job's token for Ray's authentication), so
ray.init() never attaches to another job's cluster on a shared node.
"""
import asyncio
import os
import socket
import sys
from collections import Counter

import ray
from ray.util.placement_group import placement_group, placement_group_table, remove_placement_group

failed = []


def check(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failed.append(what)


@ray.remote(num_cpus=0)
class Barrier:
    """Holds every caller until `parties` have arrived: proves the tasks ran at the same time."""

    def __init__(self, parties):
        self.parties = parties
        self.arrived = 0
        self.all_here = asyncio.Event()

    async def arrive(self):
        self.arrived += 1
        if self.arrived >= self.parties:
            self.all_here.set()
        await asyncio.wait_for(self.all_here.wait(), timeout=120)


@ray.remote(num_cpus=0)
def where(barrier=None):
    if barrier is not None:
        ray.get(barrier.arrive.remote())
    return {
        "ip": ray.util.get_node_ip_address(),
        "host": socket.gethostname(),
        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
    }


@ray.remote(num_cpus=0)
class Counter1:
    def __init__(self):
        self.n = 0

    def add(self):
        self.n += 1
        return self.n


def main():
    ray.init()  # RAY_ADDRESS=<head>:<gcs port>, set by raysl
    resources = ray.cluster_resources()
    alive = [n for n in ray.nodes() if n["Alive"]]
    cpus, gpus = resources.get("CPU", 0), int(resources.get("GPU", 0))
    print(f"nodes alive: {len(alive)}")
    print(f"cluster resources: CPU={cpus:g} GPU={gpus:g}")
    for n in sorted(alive, key=lambda n: n["NodeManagerAddress"]):
        head = " (head)" if "node:__internal_head__" in n["Resources"] else ""
        print(f"node {n['NodeManagerAddress']}{head}: CPU={n['Resources'].get('CPU', 0):g} GPU={n['Resources'].get('GPU', 0):g}")
    # with --head-cpus-only the head has no GPUs: GPU tasks spread over the nodes that have some
    gpu_nodes = [n for n in alive if n["Resources"].get("GPU", 0) > 0]

    # one whole-GPU task per GPU, all holding their GPU at once
    if gpus > 0:
        barrier = Barrier.remote(gpus)
        runs = ray.get([where.options(num_gpus=1).remote(barrier) for _ in range(gpus)])
        for r in sorted(runs, key=lambda r: (r["ip"], r["cuda"])):
            print(f"gpu task on {r['ip']} ({r['host']}) CUDA_VISIBLE_DEVICES={r['cuda']}")
        devices = {(r["ip"], r["cuda"]) for r in runs}
        check(all(len(r["cuda"].split(",")) == 1 and r["cuda"] for r in runs), "each GPU task sees exactly one device")
        check(len(devices) == gpus, f"{gpus} GPU tasks saw {len(devices)} distinct (node, device) pairs")
        check(len({r["ip"] for r in runs}) == len(gpu_nodes), f"GPU tasks spread over {len({r['ip'] for r in runs})} of {len(gpu_nodes)} GPU nodes")
    else:
        # no GPUs: one task per node, pinned through the node's own "node:<ip>" resource
        runs = ray.get([where.options(resources={f"node:{n['NodeManagerAddress']}": 0.01}).remote() for n in alive])
        for r in runs:
            print(f"task on {r['ip']} ({r['host']})")
        check(len({r["ip"] for r in runs}) == len(alive), f"tasks ran on {len({r['ip'] for r in runs})} of {len(alive)} nodes")

    counter = Counter1.remote()
    counts = ray.get([counter.add.remote() for _ in range(3)])
    check(counts == [1, 2, 3], f"an actor keeps its state across calls: {counts}")

    pg = placement_group([{"CPU": 1}] * len(alive), strategy="STRICT_SPREAD")
    ray.get(pg.ready(), timeout=60)
    bundle_nodes = set(placement_group_table(pg)["bundles_to_node_id"].values())
    check(len(bundle_nodes) == len(alive), f"STRICT_SPREAD placement group: {len(alive)} bundles on {len(bundle_nodes)} distinct nodes")
    remove_placement_group(pg)

    if gpus > 0:
        halves = 2 * gpus
        barrier = Barrier.remote(halves)
        runs = ray.get([where.options(num_gpus=0.5).remote(barrier) for _ in range(halves)])
        per_device = Counter((r["ip"], r["cuda"]) for r in runs)
        check(sorted(per_device.values()) == [2] * gpus, f"{halves} tasks of num_gpus=0.5 ran at once, two per device on {len(per_device)} devices")

    print(f"checks: {'all passed' if not failed else f'{len(failed)} failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
