#!/usr/bin/env python3
"""PyTorch eager peer for `tensorzoo bench`: ConvBERT written op for op like HuggingFace's
modeling_convbert (transformers 4.19), which is not packaged for Debian; Debian 12 ships PyTorch
1.13.1 (`apt-get install python3-torch`, with OpenBLAS as its BLAS).

  bench/pytorch_peer.py --config small|medium-small|base --batch B --seq S --threads T [--train]
      times the forward (no_grad, eval) or one MLM training step (15% of positions labelled,
      forward, backward, AdamW) like `tensorzoo bench`, on seeded random weights; prints one JSON
      line with median_s, min_s, max_s, peak_rss_mb.
  bench/pytorch_peer.py --check MODEL_DIR --tensorzoo BINARY
      loads a ConvBertModel directory (config.json + model.safetensors, e.g. from
      derive_ort_peer.py) and compares last_hidden_state with `tensorzoo run` on the same ids.

Run with OPENBLAS_NUM_THREADS set to --threads (Debian's torch does not pass its thread count on to
OpenBLAS, which would otherwise use every core) and OMP_WAIT_POLICY=PASSIVE (idle OpenMP workers
sleep instead of spinning on the cores the other threads need); bench/compare_peers.sh does both.
"""
import argparse
import json
import math
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from derive_ort_peer import CONFIGS, HEAD_RATIO, KERNEL, LAYERS, POSITIONS, TYPES, VOCAB  # noqa: E402

EPS = 1e-12  # layer_norm_eps of every bench config


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, c["embedding"], padding_idx=0)
        self.position_embeddings = nn.Embedding(POSITIONS, c["embedding"])
        self.token_type_embeddings = nn.Embedding(TYPES, c["embedding"])
        self.LayerNorm = nn.LayerNorm(c["embedding"], eps=EPS)
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + \
            self.token_type_embeddings(torch.zeros_like(ids))
        return self.dropout(self.LayerNorm(x))


class SeparableConv1D(nn.Module):
    def __init__(self, c_in, c_out, k):
        super().__init__()
        self.depthwise = nn.Conv1d(c_in, c_in, k, groups=c_in, padding=k // 2, bias=False)
        self.pointwise = nn.Conv1d(c_in, c_out, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(c_out, 1))

    def forward(self, x):  # [B, C, S]
        return self.pointwise(self.depthwise(x)) + self.bias


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden"]
        self.heads = max(1, c["heads"] // HEAD_RATIO)
        self.head_size = H // c["heads"]
        self.all_head = self.heads * self.head_size
        self.query, self.key, self.value = (nn.Linear(H, self.all_head) for _ in range(3))
        self.key_conv_attn_layer = SeparableConv1D(H, self.all_head, KERNEL)
        self.conv_kernel_layer = nn.Linear(self.all_head, self.heads * KERNEL)
        self.conv_out_layer = nn.Linear(H, self.all_head)
        self.unfold = nn.Unfold(kernel_size=[KERNEL, 1], padding=[(KERNEL - 1) // 2, 0])
        self.dropout = nn.Dropout(0.1)

    def split(self, x):
        B, S, _ = x.shape
        return x.view(B, S, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, h, mask):
        B, S, _ = h.shape
        q_in = self.query(h)
        key_conv = self.key_conv_attn_layer(h.transpose(1, 2)).transpose(1, 2)
        q, k, v = self.split(q_in), self.split(self.key(h)), self.split(self.value(h))
        conv_kernel = self.conv_kernel_layer(key_conv * q_in)
        conv_kernel = torch.softmax(conv_kernel.reshape(-1, KERNEL, 1), dim=1)
        conv_out = self.conv_out_layer(h).reshape(B, -1, self.all_head).transpose(1, 2).contiguous().unsqueeze(-1)
        conv_out = self.unfold(conv_out).transpose(1, 2).reshape(B, -1, self.all_head, KERNEL)
        conv_out = torch.matmul(conv_out.reshape(-1, self.head_size, KERNEL), conv_kernel)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size) + mask
        ctx = torch.matmul(self.dropout(torch.softmax(scores, dim=-1)), v).permute(0, 2, 1, 3)
        conv_out = conv_out.reshape(B, -1, self.heads, self.head_size)
        return torch.cat([ctx, conv_out], 2).reshape(B, S, 2 * self.all_head)


class GroupedLinear(nn.Module):
    def __init__(self, d_in, d_out, groups):
        super().__init__()
        self.groups, self.d_out = groups, d_out
        self.weight = nn.Parameter(torch.empty(groups, d_in // groups, d_out // groups))
        self.bias = nn.Parameter(torch.zeros(d_out))

    def forward(self, x):
        B = x.shape[0]
        y = torch.matmul(x.reshape(-1, self.groups, x.shape[-1] // self.groups).permute(1, 0, 2), self.weight)
        return y.permute(1, 0, 2).reshape(B, -1, self.d_out) + self.bias


def dense(d_in, d_out, groups):
    return nn.Linear(d_in, d_out) if groups == 1 else GroupedLinear(d_in, d_out, groups)


class DenseLayerNorm(nn.Module):  # HF's ConvBertSelfOutput / ConvBertOutput
    def __init__(self, d_in, d_out, groups):
        super().__init__()
        self.dense = dense(d_in, d_out, groups)
        self.LayerNorm = nn.LayerNorm(d_out, eps=EPS)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseLayerNorm(c["hidden"], c["hidden"], 1)

    def forward(self, h, mask):
        return self.output(self.self(h, mask), h)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = dense(c["hidden"], c["intermediate"], c["groups"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseLayerNorm(c["intermediate"], c["hidden"], c["groups"])

    def forward(self, h, mask):
        a = self.attention(h, mask)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(LAYERS))


class ConvBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        if c["embedding"] != c["hidden"]:
            self.embeddings_project = nn.Linear(c["embedding"], c["hidden"])
        self.encoder = Encoder(c)

    def forward(self, ids, attention_mask):
        h = self.embeddings(ids)
        if hasattr(self, "embeddings_project"):
            h = self.embeddings_project(h)
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.encoder.layer:
            h = layer(h, mask)
        return h


class ForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.convbert = ConvBertModel(c)
        self.generator_predictions = nn.Sequential()
        self.generator_predictions.add_module("dense", nn.Linear(c["hidden"], c["embedding"]))
        self.generator_predictions.add_module("act", nn.GELU())
        self.generator_predictions.add_module("LayerNorm", nn.LayerNorm(c["embedding"], eps=EPS))
        self.generator_lm_head = nn.Linear(c["embedding"], VOCAB)

    def forward(self, ids, attention_mask, labels):
        logits = self.generator_lm_head(self.generator_predictions(self.convbert(ids, attention_mask)))
        return nn.functional.cross_entropy(logits.view(-1, VOCAB), labels.view(-1), ignore_index=-100)


def init_weights(model):  # HF's _init_weights: normal(0, 0.02) weights, zero biases, unit LayerNorm
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, GroupedLinear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def bench_ids(batch, seq):  # the ids of ort_bench.js: an LCG in [1000, 30000)
    x, out = 12345, []
    for _ in range(batch * seq):
        x = (x * 1103515245 + 12345) % 2147483648
        out.append(1000 + x % 29000)
    return torch.tensor(out, dtype=torch.int64).view(batch, seq)


def time_runs(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)


def run_bench(a):
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    c = CONFIGS[a.config]
    ids = bench_ids(a.batch, a.seq)
    mask = torch.ones_like(ids)
    reps = a.reps or (10 if a.batch == 1 else 5)
    if a.train:
        model = ForMaskedLM(c)
        init_weights(model)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        labels = torch.full_like(ids, -100)
        pick = torch.rand(ids.shape) < 0.15
        labels[pick] = ids[pick]

        def step():
            opt.zero_grad(set_to_none=True)
            model(ids, mask, labels).backward()
            opt.step()
        times = time_runs(step, a.warmup, reps)
    else:
        model = ConvBertModel(c)
        init_weights(model)
        model.eval()

        def forward():
            with torch.no_grad():
                model(ids, mask)
        times = time_runs(forward, a.warmup, reps)
    print(json.dumps({"system": f"pytorch-{torch.__version__}", "config": a.config, "batch": a.batch,
                      "seq": a.seq, "threads": a.threads, "mode": "train" if a.train else "infer",
                      "median_s": times[len(times) // 2], "min_s": times[0], "max_s": times[-1],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": torch.float32, "I64": torch.int64}[t["dtype"]]
        begin, end = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(t["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": {torch.float32: "F32", torch.int64: "I64"}[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def run_check(a):
    with open(os.path.join(a.check, "config.json")) as f:
        cfg = json.load(f)
    c = dict(hidden=cfg["hidden_size"], embedding=cfg["embedding_size"], intermediate=cfg["intermediate_size"],
             heads=cfg["num_attention_heads"], groups=cfg.get("num_groups", 1))
    model = ConvBertModel(c)
    state = read_safetensors(os.path.join(a.check, "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        sys.exit(f"pytorch_peer: {a.check}: missing {missing}, unexpected {unexpected}")
    model.eval()
    ids = bench_ids(2, 64)
    mask = torch.ones_like(ids)
    mask[1, 48:] = 0
    with torch.no_grad():
        ours = model(ids, mask)
    with tempfile.TemporaryDirectory() as d:
        write_safetensors(os.path.join(d, "in.safetensors"), {"input_ids": ids, "attention_mask": mask})
        subprocess.run([a.tensorzoo, "run", "--model", a.check, "--inputs", os.path.join(d, "in.safetensors"),
                        "--output", os.path.join(d, "out.safetensors")], check=True, stdout=subprocess.DEVNULL)
        theirs = read_safetensors(os.path.join(d, "out.safetensors"))["last_hidden_state"]
    diff = (ours - theirs).abs().max().item()
    print(json.dumps({"model": a.check, "max_abs_diff": diff, "ok": diff <= 1e-4}))
    sys.exit(0 if diff <= 1e-4 else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", choices=sorted(CONFIGS), default="small")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train", action="store_true")
    p.add_argument("--reps", type=int, default=0, help="timed runs (default 5, 10 at batch 1)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--check", metavar="MODEL_DIR", help="compare with `tensorzoo run` instead of timing")
    p.add_argument("--tensorzoo", default="build/tensorzoo", help="the tensorzoo binary for --check")
    a = p.parse_args()
    run_check(a) if a.check else run_bench(a)


if __name__ == "__main__":
    main()
