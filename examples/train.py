"""A minimal Ray job for raysl: what the cluster looks like, and one probe task per GPU
(or one per node when there are no GPUs), each reporting where it ran.

    raysl submit -N 4 --gpus-per-node 8 examples/train.py

raysl sets RAY_ADDRESS to this job's own head, so ray.init() never attaches to another
job's cluster on a shared node.
"""
import socket

import ray


def main():
    ray.init()  # RAY_ADDRESS=<head>:<gcs port>, set by raysl
    resources = ray.cluster_resources()
    alive = [n for n in ray.nodes() if n["Alive"]]
    print(f"nodes alive: {len(alive)}")
    print(f"cluster resources: CPU={resources.get('CPU', 0):g} GPU={resources.get('GPU', 0):g}")

    @ray.remote
    def probe():
        return {
            "node_ip": ray.util.get_node_ip_address(),
            "host": socket.gethostname(),
            "gpu_ids": ray.get_gpu_ids(),
        }

    gpus = int(resources.get("GPU", 0))
    if gpus > 0:
        refs = [probe.options(num_gpus=1).remote() for _ in range(gpus)]
    else:
        # Ray gives every node a "node:<ip>" resource; a sliver of it pins a task to that node.
        refs = [
            probe.options(num_cpus=0, resources={f"node:{n['NodeManagerAddress']}": 0.01}).remote()
            for n in alive
        ]
    results = ray.get(refs)
    for r in results:
        print(f"probe ran on {r['node_ip']} ({r['host']}) gpus={r['gpu_ids']}")
    print(f"probes: {len(results)} on {len({r['node_ip'] for r in results})} node(s)")


if __name__ == "__main__":
    main()
