#!/usr/bin/env python3
"""PyTorch eager peer for `tensorzoo bench --arch bert|electra|distilbert`: BertModel, ElectraModel
and DistilBertModel written op for op like HuggingFace's modeling_bert, modeling_electra and
modeling_distilbert (transformers 4.19, not packaged for Debian) under HF's module names, on
Debian 12's PyTorch 1.13.1 (`apt-get install python3-torch`, OpenBLAS as its BLAS).

  bench/bert_peer.py --arch A --config C --batch B --seq S --threads T
      times the forward (no_grad, eval) like `tensorzoo bench` on seeded random weights; prints one
      JSON line with median_s, min_s, max_s, peak_rss_mb.
  bench/bert_peer.py --arch A --config C --export DIR [--tensorzoo BINARY]
      writes the peer's weights as a HuggingFace model directory, DIR/A-C-model/ (config.json,
      model.safetensors), and the same model exported with torch.onnx (opset 14, dynamic batch and
      sequence; inputs input_ids and attention_mask, output last_hidden_state, and pooler_output for
      BERT) as DIR/A-C.onnx, the ONNX Runtime peer (run it with
      ../shared/bench/onnxruntime-peer/ort_bench.js, check it with bench/check_ort_peer.js). With
      --tensorzoo, also compares the peer's last_hidden_state with `tensorzoo run` on that directory
      and exits 1 above 1e-4.

Sizes are tensorzoo's named configs (`tensorzoo info --list`): bert base and minilm-l6, distilbert
base, electra small and base; all with vocab 30522, 512 positions, GELU (erf), LayerNorm eps 1e-12.
The model is the base model `tensorzoo bench` creates: BERT with its pooler (tanh(dense(h[:, 0]))),
ELECTRA with embeddings_project where embedding_size != hidden_size, token type ids all 0.
Run with OPENBLAS_NUM_THREADS and OMP_WAIT_POLICY=PASSIVE as bench/pytorch_peer.py explains.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_peer import Encoder, bench_ids, read_safetensors, time_runs, write_safetensors  # noqa: E402

VOCAB, POSITIONS, TYPES, EPS = 30522, 512, 2, 1e-12
SIZES = {  # (arch, config): layers, hidden, heads, intermediate, embedding (ELECTRA)
    ("bert", "base"): dict(layers=12, hidden=768, heads=12, intermediate=3072),
    ("bert", "minilm-l6"): dict(layers=6, hidden=384, heads=12, intermediate=1536),
    ("distilbert", "base"): dict(layers=6, hidden=768, heads=12, intermediate=3072),
    ("electra", "small"): dict(layers=12, hidden=256, heads=4, intermediate=1024, embedding=128),
    ("electra", "base"): dict(layers=12, hidden=768, heads=12, intermediate=3072, embedding=768),
}


class Embeddings(nn.Module):  # BertEmbeddings / ElectraEmbeddings; DistilBERT's Embeddings without types
    def __init__(self, dim, token_types):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, dim, padding_idx=0)
        self.position_embeddings = nn.Embedding(POSITIONS, dim)
        if token_types:
            self.token_type_embeddings = nn.Embedding(TYPES, dim)
            self.register_buffer("position_ids", torch.arange(POSITIONS).expand((1, -1)))
        self.LayerNorm = nn.LayerNorm(dim, eps=EPS)
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.word_embeddings(ids)
        if hasattr(self, "token_type_embeddings"):  # HF: (word + token type) + position
            x = x + self.token_type_embeddings(torch.zeros_like(ids))
        x = x + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):  # BertSelfAttention, absolute positions
    def __init__(self, c):
        super().__init__()
        H = c["hidden"]
        self.heads, self.head_size = c["heads"], H // c["heads"]
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.dropout = nn.Dropout(0.1)

    def split(self, x):
        B, S, _ = x.shape
        return x.view(B, S, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, h, mask):
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size) + mask
        ctx = torch.matmul(self.dropout(torch.softmax(scores, dim=-1)), v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)


def bert_encoder(c):
    """BertEncoder: ConvBERT's layer (bench/pytorch_peer.py, the same modules and names) with BERT's
    self-attention and ungrouped feed-forward."""
    return Encoder(dict(c, groups=1), c["layers"], SelfAttention)


def bert_mask(attention_mask):  # HF 4.19's extended mask
    return (1.0 - attention_mask[:, None, None, :].float()) * -10000.0


class Pooler(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.dense = nn.Linear(H, H)

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c["hidden"], True)
        self.encoder = bert_encoder(c)
        self.pooler = Pooler(c["hidden"])

    def forward(self, ids, attention_mask):
        h, mask = self.embeddings(ids), bert_mask(attention_mask)
        for layer in self.encoder.layer:
            h = layer(h, mask)
        return h, self.pooler(h)


class ElectraModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c["embedding"], True)
        if c["embedding"] != c["hidden"]:
            self.embeddings_project = nn.Linear(c["embedding"], c["hidden"])
        self.encoder = bert_encoder(c)

    def forward(self, ids, attention_mask):
        h, mask = self.embeddings(ids), bert_mask(attention_mask)
        if hasattr(self, "embeddings_project"):
            h = self.embeddings_project(h)
        for layer in self.encoder.layer:
            h = layer(h, mask)
        return h


class MultiHeadSelfAttention(nn.Module):  # DistilBERT: q scaled first, masked_fill(mask == 0, -inf)
    def __init__(self, c):
        super().__init__()
        D = c["hidden"]
        self.heads, self.head_size = c["heads"], D // c["heads"]
        self.dropout = nn.Dropout(0.1)
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(D, D) for _ in range(4))

    def forward(self, x, attention_mask):
        B, S, D = x.shape

        def split(t):
            return t.view(B, -1, self.heads, self.head_size).transpose(1, 2)
        q = split(self.q_lin(x)) / math.sqrt(self.head_size)
        k, v = split(self.k_lin(x)), split(self.v_lin(x))
        scores = torch.matmul(q, k.transpose(2, 3))
        masked = (attention_mask == 0).view(B, 1, 1, S).expand_as(scores)
        scores = scores.masked_fill(masked, -float("inf"))
        ctx = torch.matmul(self.dropout(nn.functional.softmax(scores, dim=-1)), v)
        return self.out_lin(ctx.transpose(1, 2).contiguous().view(B, -1, D))


class FFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dropout = nn.Dropout(0.1)
        self.lin1 = nn.Linear(c["hidden"], c["intermediate"])
        self.lin2 = nn.Linear(c["intermediate"], c["hidden"])

    def forward(self, x):
        return self.dropout(self.lin2(nn.functional.gelu(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["hidden"], eps=EPS)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(c["hidden"], eps=EPS)

    def forward(self, x, attention_mask):
        h = self.sa_layer_norm(self.attention(x, attention_mask) + x)
        return self.output_layer_norm(self.ffn(h) + h)


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(TransformerBlock(c) for _ in range(c["layers"]))


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c["hidden"], False)
        self.transformer = Transformer(c)

    def forward(self, ids, attention_mask):
        h = self.embeddings(ids)
        for layer in self.transformer.layer:
            h = layer(h, attention_mask)
        return h


MODELS = {"bert": BertModel, "electra": ElectraModel, "distilbert": DistilBertModel}


def build(arch, config, seed=0):
    """The base model with HF's init (normal(0, 0.02) weights), then every bias and LayerNorm
    parameter drawn at random too, so that the check against tensorzoo sees them."""
    torch.manual_seed(seed)
    model = MODELS[arch](SIZES[(arch, config)])
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.normal_(m.bias, std=0.02)
        elif isinstance(m, nn.LayerNorm):
            nn.init.normal_(m.weight, mean=1.0, std=0.02)
            nn.init.normal_(m.bias, std=0.02)
    return model.eval()


def hf_config(arch, config):
    c = SIZES[(arch, config)]
    common = dict(vocab_size=VOCAB, max_position_embeddings=POSITIONS, pad_token_id=0, initializer_range=0.02)
    if arch == "distilbert":
        return dict(model_type="distilbert", architectures=["DistilBertModel"], dim=c["hidden"], n_layers=c["layers"],
                    n_heads=c["heads"], hidden_dim=c["intermediate"], activation="gelu", dropout=0.1,
                    attention_dropout=0.1, sinusoidal_pos_embds=False, **common)
    cfg = dict(model_type=arch, architectures=["BertModel" if arch == "bert" else "ElectraModel"],
               hidden_size=c["hidden"], num_hidden_layers=c["layers"], num_attention_heads=c["heads"],
               intermediate_size=c["intermediate"], hidden_act="gelu", hidden_dropout_prob=0.1,
               attention_probs_dropout_prob=0.1, type_vocab_size=TYPES, layer_norm_eps=EPS, **common)
    if arch == "electra":
        cfg["embedding_size"] = c["embedding"]
    return cfg


def last_hidden(out):
    return out[0] if isinstance(out, tuple) else out


def run_bench(a):
    torch.set_num_threads(a.threads)
    model = build(a.arch, a.config)
    ids = bench_ids(a.batch, a.seq)
    mask = torch.ones_like(ids)

    def forward():
        with torch.no_grad():
            model(ids, mask)
    times = time_runs(forward, a.warmup, a.reps or (10 if a.batch == 1 else 5))
    print(json.dumps({"system": f"pytorch-{torch.__version__}", "arch": a.arch, "config": a.config, "batch": a.batch,
                      "seq": a.seq, "threads": a.threads, "mode": "infer", "median_s": times[len(times) // 2],
                      "min_s": times[0], "max_s": times[-1],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_export(a):
    model = build(a.arch, a.config)
    name = f"{a.arch}-{a.config}"
    model_dir = os.path.join(a.export, f"{name}-model")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(hf_config(a.arch, a.config), f, indent=2)
    write_safetensors(os.path.join(model_dir, "model.safetensors"), model.state_dict())
    ids = bench_ids(2, 64)
    mask = torch.ones_like(ids)
    mask[1, 48:] = 0  # padding in the second row
    outputs = ["last_hidden_state"] + (["pooler_output"] if a.arch == "bert" else [])
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}}
    onnx_path = os.path.join(a.export, f"{name}.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), onnx_path, input_names=["input_ids", "attention_mask"],
                          output_names=outputs, dynamic_axes={k: axes[k] for k in ["input_ids", "attention_mask"] + outputs},
                          opset_version=14, do_constant_folding=True)
    report = {"model": model_dir, "onnx": onnx_path}
    if a.tensorzoo:
        with torch.no_grad():
            ours = last_hidden(model(ids, mask))
        with tempfile.TemporaryDirectory() as d:
            write_safetensors(os.path.join(d, "in.safetensors"), {"input_ids": ids, "attention_mask": mask})
            subprocess.run([a.tensorzoo, "run", "--model", model_dir, "--inputs", os.path.join(d, "in.safetensors"),
                            "--output", os.path.join(d, "out.safetensors")], check=True, stdout=subprocess.DEVNULL)
            theirs = read_safetensors(os.path.join(d, "out.safetensors"))["last_hidden_state"]
        report["max_abs_diff_vs_tensorzoo"] = (ours - theirs).abs().max().item()
        report["ok"] = report["max_abs_diff_vs_tensorzoo"] <= 1e-4
    print(json.dumps(report))
    sys.exit(0 if report.get("ok", True) else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", choices=sorted(MODELS), default="bert")
    p.add_argument("--config", default="base")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=0, help="timed runs (default 5, 10 at batch 1)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--export", metavar="DIR", help="write the model directory and the ONNX export instead of timing")
    p.add_argument("--tensorzoo", help="with --export: check the model directory with this tensorzoo binary")
    a = p.parse_args()
    if (a.arch, a.config) not in SIZES:
        p.error(f"unknown size {a.arch} {a.config} (known: {', '.join(f'{x} {y}' for x, y in SIZES)})")
    run_export(a) if a.export else run_bench(a)


if __name__ == "__main__":
    main()
