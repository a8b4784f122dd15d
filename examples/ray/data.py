"""Ray Data through raysl: range -> map_batches -> groupby/aggregate, in enough blocks to span the nodes.
Checks the exact sum of squares, the row count, and that blocks were processed on at least 2 nodes.
Exits 1 if a check fails.

    raysl submit -N 4 --setup 'source <venv>/bin/activate' examples/ray/data.py --follow
    raysl run --local -N 2 examples/ray/data.py
"""
import sys

import numpy as np
import ray
from ray.data.aggregate import Count, Sum

N = 200_000
BLOCKS = 16
failed = []


def check(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failed.append(what)


def square(batch):
    ids = batch["id"].astype(np.int64)
    node = ray.get_runtime_context().get_node_id()
    return {"id": ids, "sq": ids * ids, "node": np.array([node] * len(ids))}


def main():
    ray.init()
    alive = [n for n in ray.nodes() if n["Alive"]]
    print(f"nodes alive: {len(alive)}", flush=True)
    ds = ray.data.range(N, override_num_blocks=BLOCKS).map_batches(square, batch_size=N // BLOCKS)
    # one pass: the sum and the row count per node where the blocks were processed
    groups = ds.groupby("node").aggregate(Sum("sq"), Count()).take_all()
    total = sum(int(g["sum(sq)"]) for g in groups)
    per_node = {g["node"]: int(g["count()"]) for g in groups}
    rows = sum(per_node.values())
    expected = (N - 1) * N * (2 * N - 1) // 6
    print(f"sum of squares {total}, rows {rows}, rows per node {sorted(per_node.values())}", flush=True)
    check(int(total) == expected, f"sum of squares of 0..{N - 1} is {expected}")
    check(rows == N, f"{N} rows")
    check(len(per_node) >= 2, f"blocks processed on {len(per_node)} nodes (at least 2)")
    print("checks: all passed" if not failed else f"checks: {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
