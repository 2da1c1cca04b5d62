#!/usr/bin/env python3
"""Turns the JSON lines of bench/compare_peers.sh and `tensorzoo bench` into the tables of
bench/README.md.

Usage: bench/summarize.py RESULTS.jsonl [MORE.jsonl ...]

A results file is a sequence of passes: a comment line starting with `# pass` opens one, and every
JSON line up to the next such line belongs to it (a file without those lines is one pass). Within
a pass, a peer's line (ONNX Runtime, PyTorch) is compared with tensorzoo's line for the same row,
so both ran minutes apart on the same machine load and OpenBLAS core. The tables come out per
OpenBLAS core (`blas_core` of tensorzoo's lines in the pass):

- inference: our median time over the passes, GFLOP/s at that time and its share of the same-run
  raw sgemm probe, each peer's median time, and the median (range) of the per-pass ratios;
- training steps (`--train` lines): the same against PyTorch, and peak RSS;
- paired scaling (`--paired-scaling` lines, which carry `paired_speedup`): every run's speedup and
  the median.

Ratios are throughputs, peer seconds / our seconds: above 1 means tensorzoo is faster.
Lines whose system is neither tensorzoo nor a known peer (e.g. another build's) are ignored.
"""
import json
import statistics
import sys

PEERS = (("onnxruntime", "ORT"), ("pytorch", "PyTorch"))
CONFIG_ORDER = {"small": 0, "medium-small": 1, "base": 2}


def peer_of(system):
    return next((name for prefix, name in PEERS if system.startswith(prefix)), None)


def read_passes(paths):
    """[[json lines of one pass]] in file order."""
    passes = []
    for path in paths:
        current = []
        passes.append(current)
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("# pass"):
                    current = []
                    passes.append(current)
                elif line.startswith("{"):
                    current.append(json.loads(line))
    return [lines for lines in passes if lines]


def mode_of(j):
    # A --paired-scaling line says "infer" but is timed against its own 1-thread runs.
    return "paired" if "paired_speedup" in j else j.get("mode", "infer")


def row_key(j):
    return (CONFIG_ORDER.get(j["config"], 9), j["config"], j["batch"], j["seq"], j["threads"])


def fmt_range(ratios):
    if not ratios:
        return "-"
    med = statistics.median(ratios)
    if len(ratios) == 1:
        return f"{med:.2f}x"
    return f"{med:.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def collect(passes, core, mode):
    """{row: {"ours": [line per pass], peer: [(line, ratio) per pass]}} for one OpenBLAS core and mode."""
    rows = {}
    for lines in passes:
        mine = [j for j in lines if j["system"] == "tensorzoo" and j.get("blas_core") == core
                and mode_of(j) == mode]
        plain = {row_key(j): j for j in mine if j.get("path") == "plain"}
        ours = {}
        for j in mine:
            if j.get("path") == "plain":
                continue
            if mode != "paired" and row_key(j) in ours:
                sys.exit(f"summarize: row {row_key(j)[1:]} appears twice in one pass; mark passes with '# pass' lines")
            ours[row_key(j)] = j
            rows.setdefault(row_key(j), {}).setdefault("ours", []).append(j)
        for key, j in ours.items():
            if key in plain:
                rows[key].setdefault("plain", []).append((plain[key], plain[key]["median_s"] / j["median_s"]))
        for j in lines:
            peer = peer_of(j["system"])
            if peer and mode_of(j) == mode and row_key(j) in ours:
                rows[row_key(j)].setdefault(peer, []).append((j, j["median_s"] / ours[row_key(j)]["median_s"]))
    return rows


def seconds(values, digits):
    return f"{statistics.median(values):.{digits}f}" if values else "-"


def rss(entries):
    return f"{statistics.median(e['peak_rss_mb'] for e in entries):.0f}" if entries else "-"


def inference_table(rows):
    peers = [name for _, name in PEERS if any(name in r for r in rows.values())]
    has_plain = any("plain" in r for r in rows.values())
    head = ["config", "BxS", "thr", "ours s", "GF/s", "of sgemm"]
    if has_plain:
        head += ["plain path s", "vs plain"]
    for p in peers:
        head += [f"{p} s", f"vs {p}"]
    head.append("peak RSS MB ours" + "".join(f" / {p}" for p in peers))
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key in sorted(rows):
        r = rows[key]
        ours = r["ours"]
        t = statistics.median(j["median_s"] for j in ours)
        flop = ours[0]["gflops"] * ours[0]["median_s"]  # the row's GFLOP, the same in every pass
        gfs = flop / t
        sgemm = statistics.median(j["sgemm_gflops"] for j in ours)
        cells = [key[1], f"{key[2]}x{key[3]}", str(key[4]), f"{t:.3f}", f"{gfs:.1f}", f"{100 * gfs / sgemm:.0f}% of {sgemm:.0f}"]
        if has_plain:
            pl = r.get("plain", [])
            cells += [seconds([j["median_s"] for j, _ in pl], 3), fmt_range([x for _, x in pl])]
        for p in peers:
            e = r.get(p, [])
            cells += [seconds([j["median_s"] for j, _ in e], 3), fmt_range([x for _, x in e])]
        cells.append(rss(ours) + "".join(f" / {rss([j for j, _ in r.get(p, [])])}" for p in peers))
        print("| " + " | ".join(cells) + " |")


def training_table(rows):
    has_torch = any("PyTorch" in r for r in rows.values())
    head = ["train step", "BxS", "thr", "ours s"] + (["PyTorch s", "vs PyTorch"] if has_torch else [])
    head.append("peak RSS MB ours" + (" / PyTorch" if has_torch else ""))
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key in sorted(rows):
        r = rows[key]
        ours = r["ours"]
        cells = [key[1], f"{key[2]}x{key[3]}", str(key[4]), seconds([j["median_s"] for j in ours], 2)]
        torch = r.get("PyTorch", [])
        if has_torch:
            cells += [seconds([j["median_s"] for j, _ in torch], 2), fmt_range([x for _, x in torch])]
        cells.append(rss(ours) + (f" / {rss([j for j, _ in torch])}" if has_torch else ""))
        print("| " + " | ".join(cells) + " |")


def paired_table(rows):
    print("| paired scaling | BxS | thr | runs | 1 thread s | speedup per run | median |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(rows):
        ours = rows[key]["ours"]
        speedups = [j["paired_speedup"] for j in ours]
        print(f"| {key[1]} | {key[2]}x{key[3]} | 1 vs {key[4]} | {len(ours)} |"
              f" {seconds([j['median_s_1t'] for j in ours], 3)} |"
              f" {', '.join(f'{s:.2f}' for s in speedups)} | {statistics.median(speedups):.2f}x |")


def main(paths):
    passes = read_passes(paths)
    cores = sorted({j["blas_core"] for lines in passes for j in lines if j["system"] == "tensorzoo" and "blas_core" in j})
    for core in cores:
        infer, train, paired = (collect(passes, core, mode) for mode in ("infer", "train", "paired"))
        n = max(max((len(r["ours"]) for r in rows.values()), default=0) for rows in (infer, train))
        print(f"### OpenBLAS core {core}" + (f": {n} pass{'es' if n != 1 else ''}" if n else "") + "\n")
        for rows, table in ((infer, inference_table), (train, training_table), (paired, paired_table)):
            if rows:
                table(rows)
                print()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
