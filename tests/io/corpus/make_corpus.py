#!/usr/bin/env python3
"""Writes the checkpoint test corpus: small valid and hostile safetensors files, torch.save-style zips,
raw pickles and HDF5 files (hdf5_corpus.py), plus expected.tsv (file, then "OK" or a piece of the error message the readers must
give). tests/io/test_corpus.cpp checks every line; scripts/fuzz.sh uses the folders as fuzzing seeds.

Needs only the Python standard library (no torch): the "torch" pickles come from Python's own
Pickler at protocol 2, as torch.save uses it, with stand-in modules named torch and torch._utils so
that the GLOBAL opcodes and persistent ids come out byte-for-byte as torch writes them. The zips
come from a tiny writer here, so the hostile ones can break exactly one field.

Run from anywhere:  python3 tests/io/corpus/make_corpus.py   (rewrites the corpus in place)
The valid files' values are checked in tests/io/test_corpus.cpp: keep the two in step.
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import types
import zlib

import hdf5_corpus

HERE = os.path.dirname(os.path.abspath(__file__))
expected = []  # (relative path, "OK" or expected message piece)


def put(rel, data, expect):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if expect is not None:
        expected.append((rel, expect))


# ---- safetensors ----------------------------------------------------------------------------------

def st_file(header, data=b"", pad=True, raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def st_valid_all_dtypes():
    # One tensor per dtype, values chosen to exercise the conversions (see test_corpus.cpp).
    items = [
        ("f32", "F32", [2, 2], struct.pack("<4f", 1.5, -2.0, 0.0, 3.25)),
        ("f16", "F16", [4], struct.pack("<4H", 0x3C00, 0x0001, 0x7C00, 0xC000)),  # 1, 2^-24, inf, -2
        ("bf16", "BF16", [3], struct.pack("<3H", 0x3F80, 0xC0A0, 0x0001)),  # 1, -5, tiny subnormal
        ("f64", "F64", [2], struct.pack("<2d", 0.1, -1e300)),  # rounds; overflows to -inf
        ("i64", "I64", [2], struct.pack("<2q", -(2 ** 40), 7)),
        ("i32", "I32", [2], struct.pack("<2i", -5, 2 ** 31 - 1)),
        ("i16", "I16", [2], struct.pack("<2h", -300, 300)),
        ("i8", "I8", [2], struct.pack("<2b", -128, 127)),
        ("u8", "U8", [2], struct.pack("<2B", 0, 255)),
        ("bool", "BOOL", [3], bytes([0, 1, 1])),
        ("u16", "U16", [1], struct.pack("<H", 65535)),
        ("u32", "U32", [1], struct.pack("<I", 2 ** 32 - 1)),
        ("u64", "U64", [1], struct.pack("<Q", 2 ** 63 - 1)),
        ("empty", "F32", [0, 3], b""),
        ("scalar", "F32", [], struct.pack("<f", 42.0)),
    ]
    header, data = {"__metadata__": {"format": "pt", "note": "corpus"}}, b""
    for name, dt, shape, raw in items:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return st_file(header, data)


def one(dtype="F32", shape=(2,), offsets=(0, 8), data=b"\0" * 8, name="t", extra=None):
    entry = {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}
    header = {name: entry}
    if extra:
        header.update(extra)
    return st_file(header, data)


def write_safetensors():
    put("safetensors/valid_all_dtypes.safetensors", st_valid_all_dtypes(), "OK")
    put("safetensors/valid_empty.safetensors", st_file({}), "OK")
    # Header of 9 bytes, unpadded: the data section starts at an odd address, so nothing can be a view.
    put("safetensors/valid_misaligned.safetensors",
        st_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, struct.pack("<2f", 1.0, 2.0),
                pad=False), "OK")
    bad = {
        "empty_file": (b"", "too short for the 8-byte header length"),
        "five_bytes": (b"\x01\x02\x03\x04\x05", "too short for the 8-byte header length"),
        "huge_header_len": (struct.pack("<Q", 2 ** 64 - 1) + b"{}", "header length 18446744073709551615 exceeds the file size"),
        "header_len_past_end": (struct.pack("<Q", 100) + b'{"a":1}', "header length 100 exceeds the file size"),
        "header_not_json": (st_file(None, raw_header=b"hello world"), "header is not valid JSON"),
        "header_trailing_garbage": (st_file(None, raw_header=b"{} xyz"), "header is not valid JSON"),
        "header_array": (st_file([1, 2]), "header must be a JSON object, got array"),
        "header_string": (st_file("abc"), "header must be a JSON object, got string"),
        "header_bad_utf8": (st_file(None, raw_header=b'{"\xff\xfe":{}}'), "header is not valid JSON"),
        "header_deep_nesting": (st_file(None, raw_header=b"[" * 1000 + b"]" * 1000), "nests deeper than 64 levels"),
        "entry_not_object": (st_file({"a": 5}), "entry 'a' must be an object"),
        "missing_dtype": (st_file({"t": {"shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), "tensor 't' has no \"dtype\""),
        "missing_offsets": (st_file({"t": {"dtype": "F32", "shape": [1]}}, b"\0" * 4), "tensor 't' has no \"data_offsets\""),
        "unknown_dtype": (one(dtype="F12"), "unsupported dtype 'F12'"),
        "fp8_dtype": (one(dtype="F8_E4M3", shape=(8,)), "unsupported dtype 'F8_E4M3'"),
        "dtype_not_string": (one(dtype=32), "dtype must be a string"),
        "negative_dim": (one(shape=(-3, 2)), "must hold non-negative integers, found -3"),
        "fractional_dim": (one(shape=(2.5,)), "must hold non-negative integers, found 2.5"),
        "shape_not_array": (st_file({"t": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}, b"\0" * 8), "shape must be an array"),
        "numel_overflow": (one(shape=(2 ** 32, 2 ** 32)), "has too many elements"),
        "offsets_past_end": (one(offsets=(0, 9999999)), "data_offsets [0, 9999999] exceed the data section of 8 bytes"),
        "offsets_reversed": (one(offsets=(8, 0)), "end before they begin"),
        "offsets_three": (one(offsets=(0, 4, 8)), "data_offsets must be two non-negative integers"),
        "offsets_negative": (one(offsets=(-8, 0)), "data_offsets must be two non-negative integers"),
        "count_mismatch": (one(shape=(2, 3), offsets=(0, 20), data=b"\0" * 24), "(24 bytes) but data_offsets [0, 20] span 20 bytes"),
        "overlap": (st_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                             "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24), "overlap"),
        "duplicate_name": (st_file(None, raw_header=b'{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                                 b'"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}') + b"\0\0",
                           "header names 't' more than once"),
        "metadata_not_object": (st_file({"__metadata__": [1]}), "__metadata__ must be an object"),
        "metadata_not_string": (st_file({"__metadata__": {"k": 5}}), "__metadata__ must map strings to strings; 'k'"),
        "truncated_data": (one(shape=(4,), offsets=(0, 16), data=b"\0" * 10), "exceed the data section of 10 bytes"),
        "u64_too_big": (one(dtype="U64", shape=(1,), offsets=(0, 8), data=struct.pack("<Q", 2 ** 64 - 1)), "does not fit in int64"),
    }
    for name, (data, msg) in bad.items():
        put(f"safetensors/bad_{name}.safetensors", data, msg)


# ---- pickles in the torch.save style ------------------------------------------------------------

def install_fake_torch():
    """Stand-ins whose module and qualified names match torch's, so pickle writes the same GLOBALs."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    torch._utils = utils

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("never called")

    def _rebuild_parameter(*args):
        raise RuntimeError("never called")

    for f in (_rebuild_tensor_v2, _rebuild_parameter):
        f.__module__ = "torch._utils"
        f.__qualname__ = f.__name__
        setattr(utils, f.__name__, f)
    for t in ("Float", "Half", "BFloat16", "Double", "Long", "Int", "Short", "Char", "Byte", "Bool"):
        cls = type(t + "Storage", (), {"__module__": "torch"})
        setattr(torch, cls.__name__, cls)
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return torch, utils


TORCH, UTILS = install_fake_torch()


class Storage:
    def __init__(self, kind, key, data, numel):
        self.kind, self.key, self.data, self.numel = kind, key, data, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (UTILS._rebuild_tensor_v2, self.args)


class Parameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        return (UTILS._rebuild_parameter, (self.tensor, True, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(TORCH, obj.kind + "Storage"), obj.key, "cpu", obj.numel)
        return None


def torch_pickle(obj):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def valid_state_dict():
    """The valid torch-style checkpoint; test_corpus.cpp checks these values."""
    s0 = Storage("Float", "0", struct.pack("<6f", 0, 1, 2, 3, 4, 5), 6)       # shared by three tensors
    s1 = Storage("Half", "1", struct.pack("<2H", 0x3C00, 0xC000), 2)          # 1, -2
    s2 = Storage("Long", "2", struct.pack("<3q", 0, 1, 2 ** 40), 3)
    s3 = Storage("Bool", "3", bytes([1, 0]), 2)
    s4 = Storage("BFloat16", "4", struct.pack("<H", 0x4040), 1)               # 3
    w = Tensor(s0, 0, (2, 3), (3, 1))
    sd = collections.OrderedDict()
    sd["w"] = Parameter(w)
    sd["w_t"] = Tensor(s0, 0, (3, 2), (1, 3))       # transposed view: 0 3 1 4 2 5
    sd["w_tail"] = Tensor(s0, 4, (2,), (1,))        # offset view: 4 5
    sd["tied"] = Parameter(w)                       # same tensor object again (memo BINGET)
    sd["half"] = Tensor(s1, 0, (2,), (1,))
    sd["ids"] = Tensor(s2, 0, (1, 3), (3, 1))
    sd["mask"] = Tensor(s3, 0, (2,), (1,))
    sd["bf"] = Tensor(s4, 0, (), ())
    sd["expanded"] = Tensor(s4, 0, (2, 2), (0, 0))  # stride-0 view, as expand() saves
    sd._metadata = collections.OrderedDict([("", {"version": 1})])  # state_dict's attribute -> BUILD
    return sd, [s0, s1, s2, s3, s4]


# ---- a small zip writer ---------------------------------------------------------------------------

def zip_bytes(entries, zip64=True, cd_offset=None, count=None, truncate=None):
    """entries: dicts with name, data and optional method, flags, csize, usize, local_offset."""
    out, central = b"", b""
    for e in entries:
        name = e["name"].encode()
        data = e["data"]
        method = e.get("method", 0)
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = c.compress(data) + c.flush()
        crc = zlib.crc32(e["data"])
        csize = e.get("csize", len(data))
        usize = e.get("usize", len(e["data"]))
        flags = e.get("flags", 0)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0, crc, csize & 0xFFFFFFFF,
                           usize & 0xFFFFFFFF, len(name), 0) + name + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0, crc,
                               csize & 0xFFFFFFFF, usize & 0xFFFFFFFF, len(name), 0, 0, 0, 0, 0,
                               e.get("local_offset", offset)) + name
    n = count if count is not None else len(entries)
    cd_at = cd_offset if cd_offset is not None else len(out)
    cd = central
    out += cd
    if zip64:
        z64_at = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(cd), cd_at)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64_at, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF), len(cd), cd_at & 0xFFFFFFFF, 0)
    if truncate is not None:
        out = out[:truncate]
    return out


def torch_zip(pkl, storages, folder="archive", extra=(), zip64=True, **kw):
    entries = [{"name": f"{folder}/data.pkl", "data": pkl}]
    entries += [{"name": f"{folder}/data/{s.key}", "data": s.data} for s in storages]
    entries += list(extra)
    return zip_bytes(entries, zip64=zip64, **kw)


def write_pytorch():
    sd, storages = valid_state_dict()
    pkl = torch_pickle(sd)
    put("pickle/valid_state_dict.pkl", pkl, None)
    put("pytorch/valid_state_dict.pt", torch_zip(pkl, storages, folder="model"), "OK")
    put("pytorch/valid_no_zip64.pt", torch_zip(pkl, storages, zip64=False,
                                               extra=[{"name": "archive/byteorder", "data": b"little"}]), "OK")

    one_storage = Storage("Float", "0", struct.pack("<2f", 1, 2), 2)
    small = torch_pickle(collections.OrderedDict([("a", Tensor(one_storage, 0, (2,), (1,)))]))
    good = [{"name": "archive/data.pkl", "data": small}, {"name": "archive/data/0", "data": one_storage.data}]
    full = zip_bytes(good)

    zips = {
        "truncated": (full[: len(full) // 2], "end of central directory record not found"),
        "garbage": (b"PK\x03\x04" + b"\x00" * 60, "end of central directory record not found"),
        "cd_past_end": (zip_bytes(good, zip64=False, cd_offset=10 ** 6), "central directory [1000000"),
        "zip64_cd_past_end": (zip_bytes(good, cd_offset=2 ** 40), "central directory [1099511627776"),
        "too_many_entries": (zip_bytes(good, zip64=False, count=1000), "1000 entries cannot fit"),
        "local_header_past_end": (zip_bytes([good[0], dict(good[1], local_offset=10 ** 7)]), "local header offset 10000000"),
        "entry_past_end": (zip_bytes([good[0], dict(good[1], csize=10 ** 6, usize=10 ** 6)]),
                           "'archive/data/0' data ["),
        "stored_size_mismatch": (zip_bytes([good[0], dict(good[1], usize=4)]), "has compressed size 8 but size 4"),
        "compressed_pickle": (zip_bytes([dict(good[0], method=8), good[1]]),
                              "entry 'archive/data.pkl' is compressed (method 8)"),
        "encrypted": (zip_bytes([good[0], dict(good[1], flags=1)]), "entry 'archive/data/0' is encrypted"),
        "duplicate_entry": (zip_bytes(good + [good[1]]), "entry 'archive/data/0' appears twice"),
        "missing_data_pkl": (zip_bytes([good[1]]), "no '<folder>/data.pkl' entry"),
        "two_pickles": (zip_bytes(good + [{"name": "other/data.pkl", "data": small}]), "the zip has two pickles"),
        "missing_storage": (zip_bytes([good[0]]), "storage '0' has no zip entry 'archive/data/0'"),
        "storage_size_mismatch": (zip_bytes([good[0], {"name": "archive/data/0", "data": b"\0" * 4}]),
                                  "storage '0' ('archive/data/0') has 4 bytes, expected 8 (2 x F32)"),
        "big_endian": (zip_bytes(good + [{"name": "archive/byteorder", "data": b"big"}]), "only little-endian"),
        "empty_zip": (zip_bytes([], zip64=False), "no '<folder>/data.pkl' entry"),
    }
    for name, (data, msg) in zips.items():
        put(f"pytorch/bad_{name}.pt", data, msg)
    put("pytorch/bad_legacy_format.pt", b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19" + b".",
        "legacy torch.save format")

    # Hostile pickles: each is stored raw (a fuzzing seed) and inside an otherwise valid zip.
    S = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02tQ"  # storage '0', 2 floats
    hooks = b"ccollections\nOrderedDict\n)R"

    def tensor(size_stride=b"K\x02\x85K\x01\x85", offset=b"K\x00", storage=S):
        return b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage + offset + size_stride + b"\x89" + hooks + b"tR"

    def sd_with(value):
        return b"\x80\x02}(X\x01\x00\x00\x00a" + value + b"u."

    nest_lists = b"\x80\x02]q\x00" + b"]h\x00aq\x00" * 150 + b"."  # each new list holds the previous one
    pickles = {
        "os_system": (b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.", "global 'os.system' is not allowed"),
        "builtins_eval": (b"\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R.", "global 'builtins.eval' is not allowed"),
        "stack_global_posix": (b"\x80\x04\x8c\x05posix\x8c\x06system\x93.", "global 'posix.system' is not allowed"),
        "torch_load_global": (b"\x80\x02ctorch\nload\n.", "global 'torch.load' is not allowed"),
        "unknown_opcode": (b"\x80\x02}\xff.", "unknown opcode 0xff at offset 3"),
        "inst_opcode": (b"\x80\x02(ios\nsystem\n.", "opcode INST ('i') at offset 3 is not allowed"),
        "newobj_opcode": (b"\x80\x02})\x81.", "opcode NEWOBJ (0x81) at offset 4 is not allowed"),
        "ext1_opcode": (b"\x80\x02\x82\x01.", "opcode EXT1 (0x82)"),
        "protocol_99": (b"\x80\x63}.", "protocol 99 is not supported"),
        "deep_marks": (b"\x80\x02" + b"(" * 200 + b".", "MARKs nest deeper than 100 levels"),
        "deep_tuples": (b"\x80\x02)" + b"\x85" * 150 + b".", "objects nest deeper than 100 levels"),
        "deep_lists_memo": (nest_lists, "objects nest deeper than 100 levels"),
        "stack_underflow": (b"\x80\x02\x85.", "stack underflow (TUPLE1 (0x85) at offset 2)"),
        "underflow_past_mark": (b"\x80\x02}(a.", "stack underflow (APPEND ('a') at offset 4)"),
        "no_stop": (b"\x80\x02}", "data ends at offset 3 without a STOP opcode"),
        "two_values_at_stop": (b"\x80\x02}}.", "leaves 2 values and 0 marks on the stack"),
        "memo_undefined": (b"\x80\x02h\x05.", "memo key 5 is not defined"),
        "top_not_dict": (b"\x80\x02]q\x00.", "the pickled object is a list, expected a state_dict"),
        "value_not_tensor": (sd_with(b"K\x05"), "state_dict entry 'a' is a int, expected a tensor"),
        "key_not_string": (b"\x80\x02}(K\x01" + tensor() + b"u.", "state_dict key #0 is a int"),
        "dict_contains_itself": (b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.", "state_dict entry 'a' is a dict"),
        "view_past_storage": (sd_with(tensor(offset=b"K\x01")), "reaches past the 2 elements of storage '0'"),
        "negative_stride": (sd_with(tensor(size_stride=b"K\x02\x85J\xff\xff\xff\xff\x85")), "has a negative entry"),
        "size_stride_mismatch": (sd_with(tensor(size_stride=b"K\x02\x85)")), "has 1 sizes but 0 strides"),
        "huge_expanded_view": (sd_with(tensor(size_stride=b"\x8a\x06\x00\x00\x00\x00\x00\x01\x85K\x00\x85")),
                               "tensors would take more than"),
        "call_storage_type": (b"\x80\x02ctorch\nFloatStorage\n)R.", "torch.FloatStorage cannot be called"),
        "bad_persistent_id": (b"\x80\x02X\x03\x00\x00\x00abcQ.", "a persistent id must be a tuple"),
        "persistent_id_shape": (b"\x80\x02(X\x07\x00\x00\x00storagetQ.", "persistent id must be ('storage'"),
        "storage_key_path": (b"\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x05\x00\x00\x00../.."
                             b"X\x03\x00\x00\x00cpuK\x02tQ.", "storage key '../..' is not a plain name"),
        "storage_redeclared": (b"\x80\x02" + S + b"(X\x07\x00\x00\x00storagectorch\nLongStorage\nX\x01\x00\x00\x000"
                               b"X\x03\x00\x00\x00cpuK\x02tQ.", "storage '0' is declared again"),
        "string_past_end": (b"\x80\x02X\xff\xff\x00\x00abc.", "needs 65535 more bytes"),
        "long1_too_wide": (b"\x80\x02\x8a\x09" + b"\x01" * 9 + b".", "LONG1 integer of 9 bytes does not fit"),
        "rebuild_wrong_args": (sd_with(b"ctorch._utils\n_rebuild_tensor_v2\n)R"), "takes 6 or 7 arguments, got 0"),
        "build_on_list": (b"\x80\x02]}b.", "BUILD on a list"),
        "reduce_non_global": (b"\x80\x02})R.", "REDUCE calls a dict"),
    }
    for name, (data, msg) in pickles.items():
        put(f"pickle/bad_{name}.pkl", data, None)
        put(f"pytorch/badpkl_{name}.pt", zip_bytes([{"name": "archive/data.pkl", "data": data}, good[1]]), msg)


def main():
    for sub in ("safetensors", "pytorch", "pickle", "hdf5"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    write_safetensors()
    write_pytorch()
    hdf5_corpus.write_hdf5(put)
    with open(os.path.join(HERE, "expected.tsv"), "w") as f:
        f.write("# file\tOK or a piece of the expected error message (written by make_corpus.py)\n")
        for rel, msg in expected:
            f.write(f"{rel}\t{msg}\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(HERE) for fn in fns)
    print(f"{len(expected)} cases ({sum(m != 'OK' for _, m in expected)} hostile), {total} bytes in {HERE}")


if __name__ == "__main__":
    main()
