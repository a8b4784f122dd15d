"""Ray Train through raysl: a TorchTrainer, DDP over gloo on CPUs, one worker per node (up to 4).
Checks the world size, that the ranks ran on at least 2 nodes, that the loss went down, and that the
checkpoints went to the job dir ($RAYSL_STORAGE_PATH), not ~/ray_results. Exits 1 if a check fails.

    raysl submit -N 4 --setup 'source <venv>/bin/activate' examples/ray/train.py --follow
    raysl run --local -N 2 examples/ray/train.py
    # or through the Jobs API of a running cluster (raysl up; eval "$(raysl attach <id>)"):
    ray job submit --working-dir examples/ray -- python train.py
"""
import os
import sys
import tempfile

import ray
import torch
import torch.distributed as dist
from ray.train import Checkpoint, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer, prepare_model

EPOCHS = 5
failed = []


def check(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failed.append(what)


def train_loop(config):
    ctx = ray.train.get_context()
    torch.manual_seed(0)
    # y = 3x + 1 with noise, split over the ranks
    x = torch.linspace(-1, 1, 256).unsqueeze(1)
    y = 3 * x + 1 + 0.01 * torch.randn_like(x)
    mine = slice(ctx.get_world_rank(), None, ctx.get_world_size())
    x, y = x[mine], y[mine]
    model = prepare_model(torch.nn.Linear(1, 1))  # DistributedDataParallel over the process group
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    # which node each rank runs on, gathered over gloo itself
    nodes = [None] * dist.get_world_size()
    dist.all_gather_object(nodes, ray.get_runtime_context().get_node_id())
    for epoch in range(config["epochs"]):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        mean = mean.item() / dist.get_world_size()
        metrics = {"epoch": epoch, "loss": mean, "world_size": dist.get_world_size(), "backend": dist.get_backend(), "nodes": sorted(set(nodes))}
        with tempfile.TemporaryDirectory() as d:
            checkpoint = None
            if ctx.get_world_rank() == 0:
                torch.save(model.state_dict(), os.path.join(d, "model.pt"))
                checkpoint = Checkpoint.from_directory(d)
            ray.train.report(metrics, checkpoint=checkpoint)


def main():
    ray.init()
    storage = os.environ.get("RAYSL_STORAGE_PATH")
    job_dir = os.environ.get("RAYSL_JOB_DIR")
    if not storage or not job_dir:
        print("RAYSL_STORAGE_PATH / RAYSL_JOB_DIR are not set: run me with raysl", file=sys.stderr)
        return 2
    alive = [n for n in ray.nodes() if n["Alive"]]
    workers = min(4, len(alive))
    print(f"nodes alive: {len(alive)}, workers: {workers}", flush=True)
    trainer = TorchTrainer(
        train_loop,
        train_loop_config={"epochs": EPOCHS},
        scaling_config=ScalingConfig(num_workers=workers, resources_per_worker={"CPU": 1}, placement_strategy="SPREAD"),
        run_config=RunConfig(storage_path=storage, name="train-example"),
    )
    result = trainer.fit()
    history = result.metrics_dataframe
    losses = list(history["loss"]) if history is not None else []
    m = result.metrics
    print(f"losses: {' '.join(f'{v:.4f}' for v in losses)}", flush=True)
    check(m.get("world_size") == workers, f"world size {m.get('world_size')} (expected {workers})")
    check(m.get("backend") == "gloo", f"backend {m.get('backend')}")
    check(len(m.get("nodes", [])) >= 2, f"ranks on {len(m.get('nodes', []))} nodes (at least 2)")
    check(len(losses) == EPOCHS and losses[-1] < losses[0] * 0.5, f"loss went down: {losses[0] if losses else None} -> {losses[-1] if losses else None}")
    ckpt = result.checkpoint
    path = ckpt.path if ckpt else ""
    inside = os.path.realpath(path).startswith(os.path.realpath(job_dir) + os.sep)
    check(bool(ckpt) and inside and os.path.exists(os.path.join(path, "model.pt")), f"checkpoint in the job dir: {path}")
    print(f"checkpoint: {path}", flush=True)
    print("checks: all passed" if not failed else f"checks: {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
