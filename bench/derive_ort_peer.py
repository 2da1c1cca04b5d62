#!/usr/bin/env python3
"""Derives ONNX Runtime peer models for the medium-small and base bench configs from small.onnx.
(Long by design: it needs no packages, so it carries its own protobuf reader and writer.)

The shared speed anchor (../shared/bench/onnxruntime-peer/small.onnx) is HuggingFace's ConvBertModel
exported with opset 14 at the `small` config only, and exporting the other two would need
HuggingFace transformers, which is not packaged for Debian. Every bench config has the same graph up
to sizes, so this script rewrites the exported graph instead of re-exporting it:

- initializers get the target config's shapes (fresh values, see below);
- the depthwise Conv's `group` attribute (one group per hidden channel) and the int64 constants that spell sizes inside each layer's attention (heads 2, head size 64,
  all-head size 128, hidden 256, in the Concat/Reshape shape arguments) and the float attention
  scale (sqrt(head size)) get the target's values;
- `base` has embedding size == hidden size, so HF builds no `embeddings_project`: its MatMul and Add
  are removed and their consumers read the embedding LayerNorm's output;
- `medium-small` has 2 groups, so each FFN dense becomes HF's GroupedLinearLayer as the exporter
  writes it: Reshape [-1, G, in/G], Transpose (1,0,2), MatMul with the [G, in/G, out/G] weight,
  Transpose back, Reshape [batch, -1, out], then the existing bias Add.

Weights are pseudo-random (a pool of normal(0, 0.02) values, reused from seeded offsets; biases
too, LayerNorm weights 1 + that), and the same values go to a HuggingFace-style model directory
(config.json + model.safetensors) so `tensorzoo run` can check the derived graph against our
model: bench/check_ort_peer.js compares the two outputs. Timing does not depend on the values.

Usage: bench/derive_ort_peer.py --config base|medium-small|small --out DIR [--small PATH] [--seed N]
Writes DIR/CONFIG.onnx and DIR/CONFIG-model/{config.json,model.safetensors}.
Only the Python standard library is used (the protobuf wire format is read and written here).
"""
import argparse
import array
import json
import math
import os
import random
import struct
import sys

CONFIGS = {  # the bench configs of `tensorzoo bench --config` (all: vocab 30522, head_ratio 2, kernel 9, 512 positions)
    "small": dict(hidden=256, embedding=128, intermediate=1024, heads=4, groups=1),
    "medium-small": dict(hidden=384, embedding=128, intermediate=1536, heads=8, groups=2),
    "base": dict(hidden=768, embedding=768, intermediate=3072, heads=12, groups=1),
}
VOCAB, POSITIONS, TYPES, KERNEL, HEAD_RATIO, LAYERS = 30522, 512, 2, 9, 2, 12

# ---- protobuf wire format: a message is a list of [field, wire_type, value] -------------------------


def read_varint(buf, pos):
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def parse(buf):
    out, pos, end = [], 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {pos}")
        out.append([field, wire, value])
    return out


def varint(value):
    value &= (1 << 64) - 1  # negative int64 values travel as their 64-bit two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def serialize(message):
    parts = []
    for field, wire, value in message:
        parts.append(varint(field << 3 | wire))
        if wire == 0:
            parts.append(varint(value))
        elif wire == 2:
            parts.append(varint(len(value)))
            parts.append(bytes(value))
        else:
            parts.append(bytes(value))
    return b"".join(parts)


def strings(message, field):
    return [bytes(v).decode() for f, _, v in message if f == field]


def first(message, field, default=None):
    return next((v for f, _, v in message if f == field), default)


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


# ---- ONNX messages (field numbers from onnx.proto) --------------------------------------------------
# ModelProto: graph 7. GraphProto: node 1, initializer 5, input 11, output 12.
# NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. AttributeProto: name 1, f 2, i 3, t 5,
# ints 8, type 20. TensorProto: dims 1, data_type 2 (1 float, 7 int64), name 8, raw_data 9.
FLOAT, INT64 = 1, 7


def tensor_proto(name, dims, data_type, raw):
    msg = [[1, 0, d] for d in dims] + [[2, 0, data_type]]
    if name is not None:
        msg.append([8, 2, name.encode()])
    msg.append([9, 2, raw])
    return msg


def tensor_values(t):
    dt, raw = first(t, 2), first(t, 9)
    if raw is None:
        raise ValueError("constant without raw_data")
    if dt == INT64:
        return list(struct.unpack(f"<{len(raw) // 8}q", raw))
    if dt == FLOAT:
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    raise ValueError(f"constant of data type {dt}")


class Node:
    def __init__(self, fields):
        self.fields = fields

    @staticmethod
    def make(op, name, inputs, outputs, attributes=()):
        fields = [[1, 2, i.encode()] for i in inputs] + [[2, 2, o.encode()] for o in outputs]
        fields += [[3, 2, name.encode()], [4, 2, op.encode()]]
        fields += [[5, 2, serialize(a)] for a in attributes]
        return Node(fields)

    op = property(lambda self: bytes(first(self.fields, 4)).decode())
    name = property(lambda self: bytes(first(self.fields, 3, b"")).decode())
    inputs = property(lambda self: strings(self.fields, 1))
    outputs = property(lambda self: strings(self.fields, 2))

    def rename_input(self, old, new):
        for entry in self.fields:
            if entry[0] == 1 and bytes(entry[2]).decode() == old:
                entry[2] = new.encode()

    def constant_value(self):  # (attribute entry, tensor message) of a Constant node
        for entry in self.fields:
            if entry[0] == 5:
                attr = parse(entry[2])
                if strings(attr, 1) == ["value"]:
                    return entry, parse(first(attr, 5))
        raise ValueError(f"Constant {self.name} has no value")

    def set_constant(self, dims, data_type, values):
        entry, _ = self.constant_value()
        fmt = "q" if data_type == INT64 else "f"
        raw = struct.pack(f"<{len(values)}{fmt}", *values)
        entry[2] = serialize([[1, 2, b"value"], [5, 2, serialize(tensor_proto(None, dims, data_type, raw))],
                              [20, 0, 4]])  # type TENSOR


def attr_ints(name, values):
    return [[1, 2, name.encode()]] + [[8, 0, v] for v in values] + [[20, 0, 7]]  # type INTS


def const_node(name, values, scalar=False):
    """An int64 Constant node (a 1-D tensor, or a 0-D one when `scalar`) with output NAME_output_0."""
    dims = [] if scalar else [len(values)]
    raw = struct.pack(f"<{len(values)}q", *values)
    value = [[1, 2, b"value"], [5, 2, serialize(tensor_proto(None, dims, INT64, raw))], [20, 0, 4]]  # TENSOR
    return Node.make("Constant", name, [], [name + "_output_0"], [value])


# ---- parameters: one pool of normal(0, 0.02) values, each tensor a window at a seeded offset --------


class Weights:
    def __init__(self, seed):
        rng = random.Random(seed)
        self.rng = rng
        self.pool = array.array("f", (rng.gauss(0.0, 0.02) for _ in range(1 << 20)))
        self.tensors = {}  # HF name -> (shape in HF layout, array of float32)

    def draw(self, count, offset=0.0):
        out = array.array("f")
        start = self.rng.randrange(len(self.pool))
        while len(out) < count:
            take = min(count - len(out), len(self.pool) - start)
            out.extend(self.pool[start:start + take])
            start = 0
        if offset:
            out = array.array("f", (offset + v for v in out))
        return out

    def get(self, name, shape):
        if name not in self.tensors:
            count = math.prod(shape)
            layer_norm_weight = name.endswith("LayerNorm.weight")
            self.tensors[name] = (shape, self.draw(count, 1.0 if layer_norm_weight else 0.0))
        shape_had, values = self.tensors[name]
        if shape_had != shape:
            raise ValueError(f"{name}: asked for shape {shape}, made {shape_had}")
        return values


def transpose(values, rows, cols):  # row-major [rows, cols] -> [cols, rows]
    out = array.array("f")
    for c in range(cols):
        out.extend(values[c::cols])
    return out


def hf_shapes(cfg):
    """HF parameter name suffix -> shape in HF layout, for one config."""
    H, E, I = cfg["hidden"], cfg["embedding"], cfg["intermediate"]
    heads = cfg["heads"] // HEAD_RATIO
    A = heads * (cfg["hidden"] // cfg["heads"])
    G = cfg["groups"]
    dense_ffn = lambda i, o: [o, i] if G == 1 else [G, i // G, o // G]
    return {
        "embeddings.word_embeddings.weight": [VOCAB, E],
        "embeddings.position_embeddings.weight": [POSITIONS, E],
        "embeddings.token_type_embeddings.weight": [TYPES, E],
        "embeddings.LayerNorm.weight": [E], "embeddings.LayerNorm.bias": [E],
        "embeddings_project.weight": [H, E], "embeddings_project.bias": [H],
        "attention.self.query.weight": [A, H], "attention.self.query.bias": [A],
        "attention.self.key.weight": [A, H], "attention.self.key.bias": [A],
        "attention.self.value.weight": [A, H], "attention.self.value.bias": [A],
        "attention.self.key_conv_attn_layer.depthwise.weight": [H, 1, KERNEL],
        "attention.self.key_conv_attn_layer.pointwise.weight": [A, H, 1],
        "attention.self.key_conv_attn_layer.bias": [A, 1],
        "attention.self.conv_kernel_layer.weight": [heads * KERNEL, A],
        "attention.self.conv_kernel_layer.bias": [heads * KERNEL],
        "attention.self.conv_out_layer.weight": [A, H], "attention.self.conv_out_layer.bias": [A],
        "attention.output.dense.weight": [H, H], "attention.output.dense.bias": [H],
        "attention.output.LayerNorm.weight": [H], "attention.output.LayerNorm.bias": [H],
        "intermediate.dense.weight": dense_ffn(H, I), "intermediate.dense.bias": [I],
        "output.dense.weight": dense_ffn(I, H), "output.dense.bias": [H],
        "output.LayerNorm.weight": [H], "output.LayerNorm.bias": [H],
    }


def hf_shape(shapes, name):
    if name in shapes:
        return shapes[name]
    parts = name.split(".")
    if parts[:2] == ["encoder", "layer"]:
        return shapes[".".join(parts[3:])]
    raise KeyError(f"no shape rule for parameter {name}")


# ---- the rewrite ------------------------------------------------------------------------------------


def derive(small_onnx, target, seed):
    cfg, src = CONFIGS[target], CONFIGS["small"]
    src_heads, src_hs = src["heads"] // HEAD_RATIO, src["hidden"] // src["heads"]
    heads, hs = cfg["heads"] // HEAD_RATIO, cfg["hidden"] // cfg["heads"]
    size_map = {src_heads: heads, src_hs: hs, src_heads * src_hs: heads * hs, src["hidden"]: cfg["hidden"]}
    shapes = hf_shapes(cfg)

    model = parse(memoryview(small_onnx))
    graph = parse(first(model, 7))
    nodes = [Node(parse(v)) for f, _, v in graph if f == 1]
    init_names = {bytes(first(parse(v), 8)).decode() for f, _, v in graph if f == 5}
    kept_inits = {bytes(first(t, 8)).decode(): t for t in (parse(v) for f, _, v in graph if f == 5)
                  if first(t, 2) == INT64}  # embeddings.position_ids: copied as is

    # Identity nodes alias one deduplicated initializer under another parameter's name; every
    # parameter gets its own tensor here, so the aliases are dropped.
    aliases = [n for n in nodes if n.op == "Identity" and n.inputs[0] in init_names]
    params = {name for name in init_names if name not in kept_inits} | {n.outputs[0] for n in aliases}
    nodes = [n for n in nodes if n not in aliases]

    if cfg["embedding"] == cfg["hidden"]:  # no embeddings_project in HF's model
        project = [n for n in nodes if n.name.startswith("/embeddings_project/")]
        assert [n.op for n in project] == ["MatMul", "Add"], "unexpected embeddings_project"
        layer_norm_out = project[0].inputs[0]
        for n in nodes:
            n.rename_input(project[1].outputs[0], layer_norm_out)
        nodes = [n for n in nodes if n not in project]

    consumers = {}
    for n in nodes:
        for i in n.inputs:
            consumers.setdefault(i, []).append(n)

    rewritten = 0
    for n in nodes:
        if n.op != "Constant" or "/attention/self/" not in n.name:
            continue
        users = consumers.get(n.outputs[0], [])
        _, tensor = n.constant_value()
        dims, dt = [v for f, _, v in tensor if f == 1], first(tensor, 2)
        if dt == INT64 and users and all(u.op in ("Concat", "Reshape") for u in users):
            values = tensor_values(tensor)
            new = [size_map.get(v, v) if v > 0 else v for v in values]
            if new != values:
                n.set_constant(dims, INT64, new)
                rewritten += 1
        elif dt == FLOAT and users and all(u.op == "Div" for u in users):
            (value,) = tensor_values(tensor)
            assert value == math.sqrt(src_hs), f"{n.name}: attention scale {value}"
            n.set_constant(dims, FLOAT, [math.sqrt(hs)])
            rewritten += hs != src_hs

    for n in nodes:  # the depthwise Conv has one group per hidden channel
        if n.op == "Conv":
            for entry in n.fields:
                if entry[0] == 5:
                    attr = parse(entry[2])
                    if strings(attr, 1) == ["group"] and first(attr, 3) == src["hidden"]:
                        entry[2] = serialize([[1, 2, b"group"], [3, 0, cfg["hidden"]], [20, 0, 2]])  # INT
                        rewritten += cfg["hidden"] != src["hidden"]

    if cfg["groups"] > 1:
        nodes = group_ffn(nodes, cfg, params)

    weights = Weights(seed)
    initializers = []
    needed = []
    for n in nodes:
        for i in n.inputs:
            if i not in needed and (i in params or i in kept_inits):
                needed.append(i)
    users = {}
    for n in nodes:
        for i in n.inputs:
            users.setdefault(i, n)
    for name in needed:
        if name in kept_inits:
            initializers.append(kept_inits[name])
            continue
        if name.startswith("onnx::MatMul_"):
            user = users[name].name  # e.g. /encoder/layer.0/attention/self/query/MatMul
            hf = ".".join(p for p in user.strip("/").split("/")[:-1]) + ".weight"
        else:
            hf = name
        shape = hf_shape(shapes, hf)
        values = weights.get(hf, shape)
        onnx_dims = shape
        if name.startswith("onnx::MatMul_"):  # nn.Linear: ONNX holds weight^T, [in, out]
            onnx_dims = [shape[1], shape[0]]
            values = transpose(values, shape[0], shape[1])
        initializers.append(tensor_proto(name, onnx_dims, FLOAT, values.tobytes()))

    new_graph = [[1, 2, serialize(n.fields)] for n in nodes]
    new_graph += [e for e in graph if e[0] not in (1, 5, 12)]
    new_graph += [[5, 2, serialize(t)] for t in initializers]
    for f, w, v in graph:
        if f == 12:
            new_graph.append([12, 2, resize_output(v, src["hidden"], cfg["hidden"])])
    new_model = [e if e[0] != 7 else [7, 2, serialize(new_graph)] for e in model]
    print(f"{target}: {len(nodes)} nodes, {len(initializers)} initializers, {rewritten} constants and attributes resized",
          file=sys.stderr)
    return serialize(new_model), weights


def group_ffn(nodes, cfg, params):
    """Replaces the FFN MatMuls by HF's GroupedLinearLayer, in the exporter's op pattern; the
    grouped weights join `params` under their HF names."""
    G, H, I = cfg["groups"], cfg["hidden"], cfg["intermediate"]
    axis0 = [[1, 2, b"axis"], [3, 0, 0], [20, 0, 2]]  # attribute axis = 0 (type INT)
    out = []
    for n in nodes:
        block, layer, last = (n.name.rsplit("/", 2) + ["", ""])[:3]  # /encoder/layer.i/intermediate, dense, MatMul
        if not (n.op == "MatMul" and layer == "dense" and block.split("/")[-1] in ("intermediate", "output")
                and "/attention/" not in block):
            out.append(n)
            continue
        weight = block.strip("/").replace("/", ".") + ".dense.weight"  # encoder.layer.i.intermediate.dense.weight
        params.add(weight)
        prefix = block + "/dense/grouped"  # the last Reshape keeps the replaced MatMul's output name
        v = lambda name: prefix + "/" + name + "_output_0"
        x, y = n.inputs[0], n.outputs[0]
        d_in, d_out = (H, I) if block.endswith("/intermediate") else (I, H)
        out += [const_node(prefix + "/Constant", [-1, G, d_in // G]),
                const_node(prefix + "/Constant_1", [0], scalar=True),
                const_node(prefix + "/Constant_2", [0]),
                const_node(prefix + "/Constant_3", [-1, d_out]),
                # batch = shape(x)[0], for the output shape [batch, -1, out]
                Node.make("Shape", prefix + "/Shape", [x], [v("Shape")]),
                Node.make("Gather", prefix + "/Gather", [v("Shape"), v("Constant_1")], [v("Gather")], [axis0]),
                Node.make("Unsqueeze", prefix + "/Unsqueeze", [v("Gather"), v("Constant_2")], [v("Unsqueeze")]),
                Node.make("Concat", prefix + "/Concat", [v("Unsqueeze"), v("Constant_3")], [v("Concat")], [axis0]),
                # [-1, G, in/G] -> [G, -1, in/G] @ [G, in/G, out/G] -> [-1, G, out/G] -> [batch, -1, out]
                Node.make("Reshape", prefix + "/Reshape", [x, v("Constant")], [v("Reshape")]),
                Node.make("Transpose", prefix + "/Transpose", [v("Reshape")], [v("Transpose")],
                          [attr_ints("perm", [1, 0, 2])]),
                Node.make("MatMul", prefix + "/MatMul", [v("Transpose"), weight], [v("MatMul")]),
                Node.make("Transpose", prefix + "/Transpose_1", [v("MatMul")], [v("Transpose_1")],
                          [attr_ints("perm", [1, 0, 2])]),
                Node.make("Reshape", prefix + "/Reshape_1", [v("Transpose_1"), v("Concat")], [y])]
    return out


def resize_output(value_info, old, new):
    """Graph output last_hidden_state [batch, seq, old] -> [batch, seq, new]."""
    vi = parse(value_info)
    for entry in vi:
        if entry[0] != 2:
            continue
        type_proto = parse(entry[2])
        for t in type_proto:
            if t[0] != 1:
                continue
            tensor_type = parse(t[2])
            for s in tensor_type:
                if s[0] != 2:
                    continue
                shape = parse(s[2])
                for d in shape:
                    dim = parse(d[2])
                    if first(dim, 1) == old:
                        d[2] = serialize([[1, 0, new]])
                s[2] = serialize(shape)
            t[2] = serialize(tensor_type)
        entry[2] = serialize(type_proto)
    return serialize(vi)


# ---- the matching HuggingFace model directory -----------------------------------------------------


def write_model_dir(path, target, weights):
    cfg = CONFIGS[target]
    os.makedirs(path, exist_ok=True)
    config = {
        "architectures": ["ConvBertModel"], "model_type": "convbert", "vocab_size": VOCAB,
        "hidden_size": cfg["hidden"], "embedding_size": cfg["embedding"],
        "intermediate_size": cfg["intermediate"], "num_attention_heads": cfg["heads"],
        "num_hidden_layers": LAYERS, "head_ratio": HEAD_RATIO, "conv_kernel_size": KERNEL,
        "num_groups": cfg["groups"], "max_position_embeddings": POSITIONS, "type_vocab_size": TYPES,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "pad_token_id": 0,
    }
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(path, "model.safetensors"),
                      {name: (shape, values) for name, (shape, values) in weights.tensors.items()})


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, (shape, values) in tensors.items():
        size = len(values) * 4
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, values in tensors.values():
            f.write(values.tobytes())
    os.replace(path + ".tmp", path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, choices=["base", "medium-small", "small"],
                   help="small rewrites only the weights: a control for timing the rewrite itself")
    p.add_argument("--out", required=True, help="folder for CONFIG.onnx and CONFIG-model/")
    p.add_argument("--small", default=os.path.join(here, "..", "..", "shared", "bench", "onnxruntime-peer",
                                                   "small.onnx"), help="the exported small model")
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args()
    if not os.path.isfile(args.small):
        sys.exit(f"derive_ort_peer: no exported small model at '{args.small}' (pass --small PATH)")
    with open(args.small, "rb") as f:
        small = f.read()
    onnx_bytes, weights = derive(small, args.config, args.seed)
    os.makedirs(args.out, exist_ok=True)
    target = os.path.join(args.out, args.config + ".onnx")
    with open(target + ".tmp", "wb") as f:
        f.write(onnx_bytes)
    os.replace(target + ".tmp", target)
    write_model_dir(os.path.join(args.out, args.config + "-model"), args.config, weights)
    print(f"wrote {target} ({len(onnx_bytes) / 1e6:.0f} MB) and {args.config}-model/", file=sys.stderr)


if __name__ == "__main__":
    main()
