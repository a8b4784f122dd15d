"""Ray Tune through raysl: a sweep of 12 trials under ASHA, each trial asking for 1 CPU and half a GPU
(fake GPUs on the test cluster are enough: Ray counts them, nothing touches them). Checks that every
trial ended, that no more trials ran at once than the cluster holds (its CPUs and GPUs), and that
trials ran on more than one node. Results go to the job dir ($RAYSL_STORAGE_PATH). Exits 1 if a
check fails.

    raysl submit -N 4 --gpus-per-node 1 --setup 'source <venv>/bin/activate' examples/ray/tune.py --follow
    raysl run --local -N 2 --gpus-per-node 1 examples/ray/tune.py
"""
import os
import sys
import time

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler

TRIALS = 12
PER_TRIAL = {"cpu": 1, "gpu": 0.5}
MAX_T = 6
failed = []


def check(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failed.append(what)


def trainable(config):
    start = time.time()
    node = ray.get_runtime_context().get_node_id()
    gpus = ray.get_runtime_context().get_accelerator_ids().get("GPU", [])
    loss = 1.0
    for step in range(1, MAX_T + 1):
        time.sleep(0.3)
        loss *= config["decay"]
        tune.report({"loss": loss, "node": node, "start": start, "now": time.time(), "gpus": len(gpus)})


def max_overlap(spans):
    """Most spans open at one instant (a span ends before one that starts at the same time)."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda ev: (ev[0], ev[1]))
    now = most = 0
    for _, d in events:
        now += d
        most = max(most, now)
    return most


def main():
    ray.init()
    storage = os.environ.get("RAYSL_STORAGE_PATH")
    if not storage:
        print("RAYSL_STORAGE_PATH is not set: run me with raysl", file=sys.stderr)
        return 2
    res = ray.cluster_resources()
    holds = int(min(res.get("CPU", 0) // PER_TRIAL["cpu"], res.get("GPU", 0) // PER_TRIAL["gpu"]))
    print(f"cluster: CPU={res.get('CPU', 0):g} GPU={res.get('GPU', 0):g}: holds {holds} trials at once", flush=True)
    if holds == 0:
        print("the cluster has no GPU: pass --gpus-per-node 1 (fake GPUs are enough)", file=sys.stderr)
        return 2
    tuner = tune.Tuner(
        tune.with_resources(trainable, PER_TRIAL),
        param_space={"decay": tune.grid_search([0.5 + 0.04 * i for i in range(TRIALS)])},
        tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=ASHAScheduler(max_t=MAX_T, grace_period=2, reduction_factor=2)),
        run_config=tune.RunConfig(storage_path=storage, name="tune-example", verbose=0),
    )
    results = tuner.fit()
    frames = [r.metrics_dataframe for r in results]
    ended = [r for r in results if r.error is None and r.metrics]
    spans = [(f["start"].iloc[0], f["now"].iloc[-1]) for f in frames if f is not None and len(f) > 0]
    nodes = {n for f in frames if f is not None for n in f["node"]}
    stopped_early = sum(1 for f in frames if f is not None and len(f) < MAX_T)
    best = results.get_best_result()
    print(f"trials: {len(results)}, ended: {len(ended)}, stopped early by ASHA: {stopped_early}, best decay {best.config['decay']:.2f}", flush=True)
    check(len(results) == TRIALS and len(ended) == TRIALS and not results.errors, f"all {TRIALS} trials ended ({len(ended)} without error)")
    check(0 < max_overlap(spans) <= holds, f"at most {max_overlap(spans)} trials at once (the cluster holds {holds})")
    check(len(nodes) >= 2, f"trials on {len(nodes)} nodes (more than 1)")
    check(all(f["gpus"].iloc[0] == 1 for f in frames if f is not None and len(f) > 0), "each trial saw its share of one GPU")
    check(stopped_early > 0, f"ASHA stopped {stopped_early} trial(s) early")
    check(os.path.realpath(results.experiment_path).startswith(os.path.realpath(storage)), f"results in the job dir: {results.experiment_path}")
    print("checks: all passed" if not failed else f"checks: {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
