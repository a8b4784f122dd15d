# The real-Ray start curve as a PNG: raysl vs one bare head (floor) vs `ray symmetric-run`, per
# number of nodes, next to the builtin runtime's curve. Reads bench/results/<ray result>.json (the
# ray bench with BENCH_CONFIGS over several sizes) and slurm-scale.json (the builtin runtime).
#   python bench/plot-ray-curve.py bench/results/ray-start.json docs/ray-start-curve.png ["note"]
# Needs matplotlib (a venv of its own: python3 -m venv v && v/bin/pip install matplotlib).
import json, os, re, sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

src, out = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
d = json.load(open(src))
summary = d["summary"]


def series(prefix):
    pts = []
    for name, s in summary.items():
        m = re.fullmatch(prefix + r"(\d+)", name)
        if m and s.get("joined", {}).get("n"):
            j = s["joined"]
            pts.append((int(m.group(1)), j["medianMs"] / 1000, j["minMs"] / 1000, j["maxMs"] / 1000))
    return sorted(pts)


fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
for prefix, label, style in [("raysl", "raysl (ray runtime)", "o-"), ("sym", "ray symmetric-run", "s--")]:
    pts = series(prefix)
    if pts:
        xs = [p[0] for p in pts]
        ax.plot(xs, [p[1] for p in pts], style, label=label)
        ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], alpha=0.15)
plain = sorted((int(re.match(r"raysl(\d+)plain", k).group(1)), v["joined"]["medianMs"] / 1000) for k, v in summary.items() if re.fullmatch(r"raysl\d+plain", k) and v.get("joined", {}).get("n"))
if plain:
    ax.plot([p[0] for p in plain], [p[1] for p in plain], "x:", label="raysl, plain ray start (before)")
floor = summary.get("floor", {}).get("joined", {})
if floor.get("n"):
    ax.axhline(floor["medianMs"] / 1000, color="gray", linestyle="-.", label="floor: one bare ray start --head")
    ax.axhline(1.5 * floor["medianMs"] / 1000, color="gray", linestyle=":", label="1.5 x floor")
builtin = os.path.join(here, "results", "slurm-scale.json")
if os.path.exists(builtin):
    b = json.load(open(builtin))
    ax.plot([c["n"] for c in b["curve"]], [c["joinedMs"] / 1000 for c in b["curve"]], "^-", color="green", label="raysl builtin runtime (slurm-scale.json)")
ax.set_xscale("log", base=2)
ax.set_xlabel("nodes")
ax.set_ylabel("s: batch start -> N nodes alive (median; band min-max)")
load = [s.get("loadAvg1Median") for s in summary.values() if s.get("loadAvg1Median") is not None]
ax.set_title(f"Real Ray {d.get('ray', '').split()[-1]} start on {d['machine'].get('nproc', '?')} cores; load avg ~{sorted(load)[len(load) // 2] if load else '?'}")
if len(sys.argv) > 3:
    ax.text(0.02, 0.02, sys.argv[3], transform=ax.transAxes, fontsize=7, va="bottom", wrap=True)
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(out)
print(out)
