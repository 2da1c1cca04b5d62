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


def main():
    mode, path, other = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "tree":
        check_tree(path, json.load(open(other)))
    elif mode == "keras":
        check_keras(path, json.load(open(other)))
    elif mode == "same-keras":
        check_same_keras(path, other)
    else:
        sys.exit(f"unknown mode {mode}")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"ok {mode} {path} (h5py {h5py.version.version}, HDF5 {h5py.version.hdf5_version})")


if __name__ == "__main__":
    main()
