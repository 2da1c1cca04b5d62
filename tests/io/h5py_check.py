#!/usr/bin/env python3
"""Reads HDF5 files that tensorzoo wrote with h5py (the real libhdf5) and checks them; used by
tests/io/test_hdf5.cpp and tests/models/test_tf_checkpoints.cpp. Prints every problem found and exits
with status 1 when there is one (status 0 and "ok ..." otherwise).

  h5py_check.py tree FILE EXPECTED.json
      The file holds exactly what EXPECTED.json says: {"groups": {path: [members]}, "datasets": {path:
      {"dtype", "shape", "values"}}, "attributes": {path: {name: {"type", "shape", "values", "dtype"}}}}.
      Every object of the file must be listed (h5py's visititems), and every value equal bit for bit.

  h5py_check.py keras FILE EXPECTED.json
      Reads FILE the way HF's modeling_tf_utils.load_tf_weights does (layer_names and weight_names,
      split into name0, name1, ... when long; datasets looked up by name in each layer group) and
      compares with EXPECTED.json: {"layer_names": [...], "weights": {layer: [names in order]}}.

  h5py_check.py as-pytorch FILE SOURCE.safetensors [PYTORCH_ONLY...]
      Reads FILE the load_tf_weights way, turns every variable into a PyTorch name and layout by HF's
      rules (convert_tf_weight_name_to_pt_weight_name and its transposes, then a fit to the PyTorch
      shape) and compares with SOURCE's tensors bit for bit: every variable must land on a tensor of
      SOURCE, and every tensor of SOURCE must be covered unless its name ends in one of PYTORCH_ONLY.

  h5py_check.py same-keras FILE REFERENCE
      Both files read the load_tf_weights way hold the same layer_names and, per layer, the same
      variables with the same shapes, dtypes and values (the order of weight_names may differ).
"""
import json
import sys

import h5py
import numpy as np

problems = []


def problem(msg):
    problems.append(msg)


def decode(x):
    return x.decode("utf8") if isinstance(x, bytes) else str(x)


def names_attribute(group, name):
    """Keras' load_attributes_from_hdf5_group: `name`, or the pieces name0, name1, ... concatenated."""
    if name in group.attrs:
        return [decode(n) for n in group.attrs[name]]
    out, k = [], 0
    while f"{name}{k}" in group.attrs:
        out.extend(decode(n) for n in group.attrs[f"{name}{k}"])
        k += 1
    return out


def load_tf_weights_way(path):
    """(layer_names, {layer: {name: array}}, {layer: [names in order]}) as HF reads a tf_model.h5."""
    with h5py.File(path, "r") as f:
        layers = names_attribute(f, "layer_names")
        values, order = {}, {}
        for layer in layers:
            g = f[layer]
            names = names_attribute(g, "weight_names")
            order[layer] = names
            values[layer] = {n: np.asarray(g[n]) for n in names}
        for key in ("backend", "keras_version"):
            if key not in f.attrs:
                problem(f"{path}: no root attribute '{key}'")
    return layers, values, order


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def check_tree(path, expected):
    with h5py.File(path, "r") as f:
        seen = {"/"}
        f.visititems(lambda name, obj: seen.add("/" + name))
        listed = set(expected.get("groups", {})) | set(expected.get("datasets", {})) | {"/"}
        for p in sorted(seen - listed):
            problem(f"{path}: object {p} is not expected")
        for p in sorted(listed - seen):
            problem(f"{path}: object {p} is missing")
        for p, members in expected.get("groups", {}).items():
            if p in f and isinstance(f[p], h5py.Group) and sorted(f[p].keys()) != sorted(members):
                problem(f"{path}: group {p} has members {sorted(f[p].keys())}, expected {sorted(members)}")
        for p, d in expected.get("datasets", {}).items():
            if p not in f:
                continue
            obj = f[p]
            if not isinstance(obj, h5py.Dataset):
                problem(f"{path}: {p} is not a dataset")
                continue
            want = np.asarray(d["values"], dtype=np.dtype(d["dtype"])).reshape(d["shape"])
            if obj.dtype != want.dtype or obj.shape != want.shape:
                problem(f"{path}: dataset {p} is {obj.dtype} {obj.shape}, expected {want.dtype} {want.shape}")
            elif not same_bits(obj[()], want):
                problem(f"{path}: dataset {p} values differ")
            if obj.chunks is not None or obj.compression is not None:
                problem(f"{path}: dataset {p} is chunked or compressed")
        for p, attrs in expected.get("attributes", {}).items():
            if p not in f:
                continue
            got = f[p].attrs
            if sorted(got.keys()) != sorted(attrs):
                problem(f"{path}: {p} has attributes {sorted(got.keys())}, expected {sorted(attrs)}")
            for name, a in attrs.items():
                if name not in got:
                    continue
                value = got[name]
                info = got.get_id(name).get_type()
                if a["type"] == "number":
                    want = np.asarray(a["values"], dtype=np.dtype(a["dtype"])).reshape(a["shape"])
                    if not same_bits(value, want):
                        problem(f"{path}: attribute {p}@{name} is {value!r}, expected {want!r}")
                    continue
                if not isinstance(info, h5py.h5t.TypeStringID):
                    problem(f"{path}: attribute {p}@{name} is not a string")
                    continue
                if info.is_variable_str() != (a["type"] == "variable"):
                    problem(f"{path}: attribute {p}@{name} has the wrong string form")
                strings = [decode(v) for v in np.asarray(value, dtype=object).ravel()]
                if strings != a["values"] or list(np.shape(value)) != a["shape"]:
                    problem(f"{path}: attribute {p}@{name} is {strings[:4]}... {np.shape(value)}, expected "
                            f"{a['values'][:4]}... {a['shape']}")


def check_keras(path, expected):
    layers, values, order = load_tf_weights_way(path)
    if layers != expected["layer_names"]:
        problem(f"{path}: layer_names {layers}, expected {expected['layer_names']}")
    for layer, names in expected["weights"].items():
        if order.get(layer) != names:
            problem(f"{path}: layer {layer} weight_names differ ({len(order.get(layer, []))} vs {len(names)})")


def check_same_keras(path, reference):
    layers, values, _ = load_tf_weights_way(path)
    ref_layers, ref_values, _ = load_tf_weights_way(reference)
    if layers != ref_layers:
        problem(f"{path}: layer_names {layers}, reference {ref_layers}")
    for layer in ref_layers:
        got, want = values.get(layer, {}), ref_values[layer]
        if sorted(got) != sorted(want):
            problem(f"{path}: layer {layer} has variables {sorted(set(got) ^ set(want))} that differ from the reference")
        for name in want:
            if name in got and not same_bits(got[name], want[name]):
                problem(f"{path}: {layer}/{name} differs: {got[name].dtype} {got[name].shape} vs "
                        f"{want[name].dtype} {want[name].shape}")


def read_safetensors(path):
    """{name: array} of a float32/int64 safetensors file (header length, JSON header, data)."""
    dtypes = {"F32": np.float32, "I64": np.int64}
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        data = raw[8 + n + begin:8 + n + end]
        out[name] = np.frombuffer(data, dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def pytorch_name(tf_name):
    """HF's name rule, and the transposition its last component implies."""
    name = tf_name[:-2] if tf_name.endswith(":0") else tf_name
    parts = []
    for part in name.split("/"):
        if "___" in part:
            part = part.split("___", 1)[1]
        parts.extend(p for p in part.split("_._") if p)
    parts = parts[1:]
    leaf = parts[-1]
    transpose = leaf in ("kernel", "depthwise_kernel", "pointwise_kernel")
    if leaf in ("kernel", "embeddings", "gamma"):
        parts[-1] = "weight"
    elif leaf == "beta":
        parts[-1] = "bias"
    elif leaf in ("depthwise_kernel", "pointwise_kernel"):
        parts[-1:] = [leaf[:-7], "weight"]
    return ".".join(parts), transpose


def check_as_pytorch(path, source, pytorch_only):
    _, values, _ = load_tf_weights_way(path)
    tensors = read_safetensors(source)
    prefixed = {n.split(".", 1)[0] for n in tensors}
    covered = set()
    for layer, variables in values.items():
        for tf_name, array in variables.items():
            name, transpose = pytorch_name(tf_name)
            if name not in tensors and name.split(".", 1)[0] not in prefixed and "." in name:
                name = name.split(".", 1)[1]  # a bare-model checkpoint has no base prefix
            if name not in tensors:
                problem(f"{path}: {layer}/{tf_name} -> {name}, which {source} lacks")
                continue
            want = tensors[name]
            got = np.transpose(array) if transpose else array  # rank-3 kernels' (2, 1, 0) reverses too
            got = np.ascontiguousarray(got).reshape(want.shape) if got.size == want.size else got
            if not same_bits(got, want):
                problem(f"{path}: {layer}/{tf_name} differs from {name} ({got.dtype} {got.shape} vs {want.dtype} {want.shape})")
            covered.add(name)
    for name in tensors:
        if name not in covered and not any(name == s or name.endswith("." + s) for s in pytorch_only):
            problem(f"{path}: {source}'s {name} is in no variable")


def main():
    mode, path, other = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "as-pytorch":
        check_as_pytorch(path, other, sys.argv[4:])
    elif mode == "tree":
        check_tree(path, json.load(open(other)))
    elif mode == "keras":
        check_keras(path, json.load(open(other)))
    elif mode == "same-keras":
        check_same_keras(path, other)
    else:
        sys.exit(f"unknown mode {mode}")
    finish(f"ok {mode} {path} (h5py {h5py.version.version}, HDF5 {h5py.version.hdf5_version})")


def finish(ok_message, found=problems):
    """Prints every problem found and exits 1, or prints `ok_message` when there is none."""
    for p in found:
        print(p)
    if found:
        sys.exit(1)
    print(ok_message)


if __name__ == "__main__":
    main()
