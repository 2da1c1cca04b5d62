#!/usr/bin/env python3
"""Checks a pytorch_model.bin that tensorzoo wrote with Python's own zipfile and pickle modules, the
way torch.load reads it (PyTorch itself is not a test dependency); used by tests/io/test_pytorch_writer.cpp.

  pytorch_zip_check.py FILE.bin SOURCE.safetensors

The zip must pass zipfile's CRC check, hold <folder>/data.pkl, byteorder "little", version and one
data/<key> entry per storage, each stored (not compressed) with its data 64-byte aligned as torch
aligns it. data.pkl, unpickled with torch's globals replaced by stand-ins, must be an OrderedDict of
_rebuild_tensor_v2 calls whose storages, offsets, sizes and strides give exactly SOURCE's tensors
(same names, same order, same bits). Prints every problem and exits 1 when there is one.
"""
import collections
import pickle
import struct
import sys
import zipfile

import numpy as np

from h5py_check import finish, read_safetensors  # same folder; needs h5py, which the callers check for

problems = []

STORAGES = {"FloatStorage": np.float32, "LongStorage": np.int64}



class StorageType:
    def __init__(self, name):
        self.name = name


def rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, *rest):
    dtype, data = storage
    item = np.dtype(dtype).itemsize
    if not size:
        return data[offset:offset + 1].reshape(())
    return np.lib.stride_tricks.as_strided(data[offset:], shape=size, strides=[s * item for s in stride]).copy()


def main():
    path, source = sys.argv[1], sys.argv[2]
    raw = open(path, "rb").read()
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        if bad:
            problems.append(f"{path}: entry {bad} fails its CRC")
        infos = z.infolist()
        folder = infos[0].filename.split("/")[0]
        names = {i.filename for i in infos}
        for required in ("data.pkl", "byteorder", "version"):
            if f"{folder}/{required}" not in names:
                problems.append(f"{path}: no {folder}/{required}")
        if z.read(f"{folder}/byteorder") != b"little":
            problems.append(f"{path}: byteorder is not 'little'")
        for i in infos:
            if i.compress_type != zipfile.ZIP_STORED:
                problems.append(f"{path}: {i.filename} is compressed")
            name_len, extra_len = struct.unpack("<HH", raw[i.header_offset + 26:i.header_offset + 30])
            data_at = i.header_offset + 30 + name_len + extra_len
            if "/data/" in i.filename and data_at % 64:
                problems.append(f"{path}: {i.filename} data at {data_at}, not 64-byte aligned")

        def persistent_load(pid):
            kind, storage_type, key, location, numel = pid
            dtype = STORAGES[storage_type.name]
            data = np.frombuffer(z.read(f"{folder}/data/{key}"), dtype=dtype)
            if data.size != numel or kind != "storage" or location != "cpu":
                problems.append(f"{path}: storage {key}: {data.size} elements, pid says {numel}")
            return dtype, data

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return rebuild_tensor_v2
                if module == "torch" and name in STORAGES:
                    return StorageType(name)
                raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

        u = Unpickler(z.open(f"{folder}/data.pkl"))
        u.persistent_load = persistent_load
        state = u.load()
    expected = read_safetensors(source)
    if list(state) != list(expected):
        problems.append(f"{path}: names {list(state)[:5]}... differ from {source}'s {list(expected)[:5]}...")
    for name, want in expected.items():
        got = state.get(name)
        if got is None or got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
            problems.append(f"{path}: {name} differs from {source}")
    finish(f"ok {path}: {len(state)} tensors, CRCs, alignment and pickle as torch.load reads them", problems)


if __name__ == "__main__":
    main()
