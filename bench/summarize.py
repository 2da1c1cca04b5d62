#!/usr/bin/env python3
"""Turns the JSON lines of bench/compare_peers.sh into the markdown table of bench/README.md.

Usage: bench/summarize.py RESULTS.jsonl
Speed-ups are throughput ratios (peer seconds / our seconds, > 1 means we are faster): against
ONNX Runtime and PyTorch measured in the same session (when present) and against the peer figures of the
speed issue (PyTorch 1.13 and ONNX Runtime 1.30 on an unloaded Zen 3 machine of this kind).
"""
import json
import sys

# (config, batch, seq) -> {threads: (pytorch_s, ort_s)} from the issue's table; None = not measured.
ISSUE = {
    ("small", 1, 128): {1: (0.085, 0.078), 2: (0.082, 0.042)},
    ("small", 8, 128): {1: (0.662, 0.584), 2: (0.562, 0.343)},
    ("small", 32, 128): {1: (2.490, 2.370), 2: (1.752, 1.299)},
    ("medium-small", 1, 128): {1: (0.165, 0.119), 2: (None, 0.061)},
    ("medium-small", 8, 128): {1: (1.077, 0.910), 2: (None, 0.432)},
    ("base", 1, 128): {1: (0.486, 0.385), 2: (0.357, 0.209)},
    ("base", 8, 128): {1: (3.261, 3.126), 2: (2.499, 1.685)},
    ("base", 1, 512): {1: (2.039, 1.690), 2: (1.322, 0.921)},
}
# The issue's same-session raw sgemm: 80-91 GF/s at 1 thread, 140-180 at 2 (midpoints used), and
# the forward GFLOP of each row, to express each peer as a fraction of its machine's sgemm.
ISSUE_SGEMM = {1: 85.5, 2: 160.0}
ISSUE_GFLOP = {("small", 1, 128): 2.4, ("small", 8, 128): 19.5, ("small", 32, 128): 78.1,
               ("medium-small", 1, 128): 3.6, ("medium-small", 8, 128): 28.8, ("base", 1, 128): 21.2,
               ("base", 8, 128): 169.9, ("base", 1, 512): 88.6}
TRAIN = {("small", 8, 128): {1: 2.94, 2: 2.20}, ("base", 8, 128): {1: 12.8, 2: 8.86}}


def ratio(peer, ours):
    return f"{peer / ours:.2f}x" if peer and ours else "-"


def main(path):
    rows = {}
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        j = json.loads(line)
        key = (j["config"], j["batch"], j["seq"], j["threads"], j.get("mode", "infer"))
        system = j["system"] if j["system"] != "tensorzoo" else "tz-" + j.get("path", "inference")
        rows.setdefault(key, {})[system] = j
    print("| config | BxS | thr | ours (fast) s | GF/s | % same-run sgemm | plain path s | fast vs plain"
          " | ORT same run s | vs ORT same run | PyTorch same run s | vs PyTorch same run | vs issue ORT | vs issue PyTorch"
          " | sgemm-normalised vs issue ORT / PyTorch | RSS MB ours / ORT / PyTorch same run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(k for k in rows if k[4] == "infer"):
        r = rows[key]
        fast, plain = r.get("tz-inference"), r.get("tz-plain")
        ort = next((v for s, v in r.items() if s.startswith("onnxruntime")), None)
        torch = next((v for s, v in r.items() if s.startswith("pytorch")), None)
        if not fast:
            continue
        t = fast["median_s"]
        pt, ot = ISSUE.get(key[:3], {}).get(key[3], (None, None))
        print(f"| {key[0]} | {key[1]}x{key[2]} | {key[3]} | {t:.3f} | {fast['gflops']:.1f} |"
              f" {100 * fast['gflops'] / fast['sgemm_gflops']:.0f}% of {fast['sgemm_gflops']:.0f} |"
              f" {plain['median_s']:.3f} | {ratio(plain['median_s'], t)} |" if plain else
              f"| {key[0]} | {key[1]}x{key[2]} | {key[3]} | {t:.3f} | {fast['gflops']:.1f} |"
              f" {100 * fast['gflops'] / fast['sgemm_gflops']:.0f}% of {fast['sgemm_gflops']:.0f} | - | - |", end="")
        print(f" {ort['median_s']:.3f} | {ratio(ort['median_s'], t)} |" if ort else " - | - |", end="")
        print(f" {torch['median_s']:.3f} | {ratio(torch['median_s'], t)} |" if torch else " - | - |", end="")
        # Load-normalised: our fraction of the same-run sgemm over the peer's fraction of the issue's.
        ours_frac = fast["gflops"] / fast["sgemm_gflops"]
        gf = ISSUE_GFLOP.get(key[:3])
        def norm(peer_s):
            if not peer_s or not gf:
                return "-"
            return f"{ours_frac / (gf / peer_s / ISSUE_SGEMM[key[3]]):.2f}x"
        print(f" {ratio(ot, t)} | {ratio(pt, t)} | {norm(ot)} / {norm(pt)} |", end="")
        mb = lambda j: f"{j['peak_rss_mb']:.0f}" if j else "-"
        print(f" {mb(fast)} / {mb(ort)} / {mb(torch)} |")
    train = sorted(k for k in rows if k[4] == "train")
    if train:
        print("\n| train step | BxS | thr | ours s | PyTorch same run s | vs PyTorch same run | vs issue PyTorch"
              " | peak RSS MB ours / PyTorch same run (issue PyTorch: small 1460, base 4150) |")
        print("|---|---|---|---|---|---|---|---|")
        for key in train:
            j = next((v for s, v in rows[key].items() if s.startswith("tz-")), None)
            torch = next((v for s, v in rows[key].items() if s.startswith("pytorch")), None)
            if not j:
                continue
            pt = TRAIN.get(key[:3], {}).get(key[3])
            same = f"{torch['median_s']:.2f} | {ratio(torch['median_s'], j['median_s'])}" if torch else "- | -"
            torch_rss = f"{torch['peak_rss_mb']:.0f}" if torch else "-"
            print(f"| {key[0]} | {key[1]}x{key[2]} | {key[3]} | {j['median_s']:.2f} | {same} | {ratio(pt, j['median_s'])} |"
                  f" {j['peak_rss_mb']:.0f} / {torch_rss} |")
    any_row = next(iter(next(iter(rows.values())).values()))
    print(f"\ncpu: {any_row.get('cpu', '?')}, blas_core: {any_row.get('blas_core', '?')}")


if __name__ == "__main__":
    main(sys.argv[1])
