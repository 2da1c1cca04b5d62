#!/usr/bin/env python3
"""Writes HDF5 files with h5py (the real libhdf5) for tests/io/test_hdf5.cpp, and manifest.json saying
what each holds, so that our reader is checked against the files libhdf5 writes in each of its formats:
superblock versions 0, 2 and 3 (libver earliest / v108 / latest), version-1 and version-2 object headers,
symbol-table and link-message groups (compact and dense), compact / contiguous / chunked layouts with
each chunk index, big-endian numbers, every integer and float width, fixed- and variable-length string
attributes, dense attributes, a user block, soft, external and repeated hard links; and the files our
reader must refuse, each with a piece of the error it must give.

Usage: /usr/bin/python3 tests/io/h5py_files.py OUT_DIR      (needs Debian's python3-h5py)

manifest.json: {"files": [{"file", "error" (or absent), "groups": {path: [member names in order]},
"datasets": {path: {"dtype", "shape", "values"}}, "attributes": {path: {name: {"type", "shape",
"values", "dtype"}}}}]}. Values are flat row-major lists; floats are given as doubles (the reader's
float32 of them is what is compared).
"""
import json
import os
import sys

import h5py
import numpy as np

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
files = []


class Expect:
    def __init__(self, name, error=None):
        self.entry = {"file": name, "groups": {}, "datasets": {}, "attributes": {}}
        if error:
            self.entry["error"] = error
        files.append(self.entry)
        self.path = os.path.join(OUT, name)

    def dataset(self, path, array, dtype):
        a = np.asarray(array)
        values = a.astype(np.float64 if a.dtype.kind == "f" else np.int64).ravel().tolist()
        self.entry["datasets"][path] = {"dtype": dtype, "shape": list(a.shape), "values": values}

    def attribute(self, path, name, kind, values, shape, dtype=""):
        self.entry["attributes"].setdefault(path, {})[name] = {
            "type": kind, "shape": list(shape), "values": values, "dtype": dtype}

    def group(self, path, members):
        self.entry["groups"][path] = members


NUMBER_TYPES = [
    ("f32", "<f4", "F32"), ("f64", "<f8", "F64"), ("f16", "<f2", "F16"),
    ("i8", "<i1", "I8"), ("i16", "<i2", "I16"), ("i32", "<i4", "I32"), ("i64", "<i8", "I64"),
    ("u8", "<u1", "U8"), ("u16", "<u2", "U16"), ("u32", "<u4", "U32"), ("u64", "<u8", "U64"),
]


def sample(dtype, shape):
    """Deterministic values that exercise the type: negatives, fractions, large magnitudes."""
    n = int(np.prod(shape)) if shape else 1
    k = np.arange(n)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        v = (k - n / 2) * 0.37 + (k % 3) * 1e-3
        if dt.itemsize == 8 and n > 2:
            v[1] = 1e300  # overflows float32: the reader gives inf
            v[2] = 1e-30
    elif dt.kind == "i":
        v = (k * 977 - n * 300) % (2 ** (8 * dt.itemsize - 1))
        v = v - (k % 2) * v * 2
    else:
        v = (k * 977) % (2 ** min(8 * dt.itemsize, 62))
    return np.asarray(v).astype(dt).reshape(shape)


def basic_file(name, libver, userblock=0):
    e = Expect(name)
    with h5py.File(e.path, "w", libver=libver, userblock_size=userblock) as f:
        members = []
        for key, dt, stored in NUMBER_TYPES:
            a = sample(dt, (3, 5))
            f.create_dataset("numbers/" + key, data=a)
            e.dataset("/numbers/" + key, a, stored)
            members.append(key)
        e.group("/numbers", sorted(members))
        s = np.float32(2.5)
        f["scalar"] = s
        e.dataset("/scalar", np.float32(2.5), "F32")
        f.create_dataset("empty", shape=(0, 3), dtype="<f4")
        e.dataset("/empty", np.zeros((0, 3), np.float32), "F32")
        f.create_dataset("unwritten", shape=(2, 2), dtype="<f4", fillvalue=7.0)
        e.dataset("/unwritten", np.full((2, 2), 7.0, np.float32), "F32")
        g = f.create_group("a/b/c")
        g.attrs["fixed"] = np.array([b"alpha", b"be", b""], dtype="S5")
        e.attribute("/a/b/c", "fixed", "fixed", ["alpha", "be", ""], [3])
        g.attrs["vlen"] = "tensorflow"
        e.attribute("/a/b/c", "vlen", "variable", ["tensorflow"], [])
        g.attrs["vlen_array"] = np.array(["x", "", "a longer string"], dtype=h5py.string_dtype())
        e.attribute("/a/b/c", "vlen_array", "variable", ["x", "", "a longer string"], [3])
        g.attrs["empty_f64"] = np.array([], dtype=np.float64)
        e.attribute("/a/b/c", "empty_f64", "number", [], [0], "F64")
        g.attrs["ints"] = np.array([[1, -2], [3, 2 ** 40]], dtype=np.int64)
        e.attribute("/a/b/c", "ints", "number", [1, -2, 3, 2 ** 40], [2, 2], "I64")
        g.attrs["float"] = np.float32(0.125)
        e.attribute("/a/b/c", "float", "number", [0.125], [], "F32")
        g.attrs["be_int"] = np.array([1, 258], dtype=">i2")
        e.attribute("/a/b/c", "be_int", "number", [1, 258], [2], "I16")
        e.group("/", ["a", "empty", "numbers", "scalar", "unwritten"])
        e.group("/a", ["b"])


def layouts_file(name, libver):
    e = Expect(name)
    with h5py.File(e.path, "w", libver=libver) as f:
        a = sample("<f4", (37, 23))
        f.create_dataset("chunked", data=a, chunks=(8, 5))  # edge chunks in both dimensions
        e.dataset("/chunked", a, "F32")
        b = sample("<i4", (2000,))
        f.create_dataset("many_chunks", data=b, chunks=(3,))  # 667 chunks: a multi-level chunk B-tree
        e.dataset("/many_chunks", b, "I32")
        c = sample("<f8", (4, 6))
        f.create_dataset("one_chunk", data=c, chunks=(4, 6))
        e.dataset("/one_chunk", c, "F64")
        d = np.zeros((10, 4), np.float32)
        d[0:5, 0:2] = 1.5  # only some chunks written; the others read as the fill value
        ds = f.create_dataset("partial", shape=(10, 4), dtype="<f4", chunks=(5, 2), fillvalue=-1.0)
        ds[0:5, 0:2] = 1.5
        d[:] = -1.0
        d[0:5, 0:2] = 1.5
        e.dataset("/partial", d, "F32")
        # Compact storage (data inside the object header), through the low-level API.
        comp = sample("<i8", (2, 3))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((2, 3))
        dsid = h5py.h5d.create(f.id, b"compact", h5py.h5t.STD_I64LE, space, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, comp)
        e.dataset("/compact", comp, "I64")
        # Early allocation: with the latest format, an implicit chunk index.
        imp = sample("<f4", (6, 6))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((3, 3))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        space = h5py.h5s.create_simple((6, 6))
        dsid = h5py.h5d.create(f.id, b"early", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, imp)
        e.dataset("/early", imp, "F32")
        big = sample(">f8", (3, 4))
        f.create_dataset("big_endian_f64", data=big)
        e.dataset("/big_endian_f64", big, "F64")
        bigi = sample(">i4", (5,))
        f.create_dataset("big_endian_i32", data=bigi)
        e.dataset("/big_endian_i32", bigi, "I32")
        bigc = sample(">f4", (9, 2))
        f.create_dataset("big_endian_chunked", data=bigc, chunks=(4, 2))
        e.dataset("/big_endian_chunked", bigc, "F32")
        e.group("/", sorted(["chunked", "many_chunks", "one_chunk", "partial", "compact", "early", "big_endian_f64",
                             "big_endian_i32", "big_endian_chunked"]))


def links_file(name, libver):
    e = Expect(name)
    with h5py.File(e.path, "w", libver=libver, userblock_size=512) as f:
        x = sample("<f4", (4,))
        f["data"] = x
        e.dataset("/data", x, "F32")
        f["alias"] = f["data"]  # a second hard link to the same dataset
        e.dataset("/alias", x, "F32")
        f["soft"] = h5py.SoftLink("/data")
        f["external"] = h5py.ExternalLink("elsewhere.h5", "/x")
        e.group("/", ["alias", "data", "ordered"])
        g = f.create_group("ordered", track_order=True)
        for k in ["zeta", "alpha", "mid"]:
            g.create_group(k)
        e.group("/ordered", ["zeta", "alpha", "mid"])


def dense_file(name):
    """The latest format stores more than 8 links or attributes densely: a fractal heap and a v2 B-tree."""
    e = Expect(name)
    with h5py.File(e.path, "w", libver="latest") as f:
        g = f.create_group("wide")
        names = [f"member_{k:03d}" for k in range(40)]
        for k, n in enumerate(names):
            g[n] = np.array([k], np.float32)
            e.dataset("/wide/" + n, np.array([k], np.float32), "F32")
        e.group("/wide", names)
        h = f.create_group("many_attributes")
        for k in range(30):
            h.attrs[f"attr_{k:02d}"] = np.int64(k * 3)
            e.attribute("/many_attributes", f"attr_{k:02d}", "number", [k * 3], [], "I64")
        big = [f"layer/{k:05d}/kernel:0" for k in range(4000)]  # ~90 KB: too large for the header
        h.attrs["big_names"] = np.array(big, dtype="S")
        e.attribute("/many_attributes", "big_names", "fixed", big, [len(big)])
        o = f.create_group("ordered_wide", track_order=True)
        order = [f"n{(k * 7) % 20:02d}" for k in range(20)]
        for n in order:
            o.create_group(n)
        e.group("/ordered_wide", order)


def refused_files():
    cases = {
        "gzip.h5": (lambda f: f.create_dataset("d", data=np.ones((20, 20), np.float32), compression="gzip"),
                    "deflate (1)"),
        "shuffle.h5": (lambda f: f.create_dataset("d", data=np.ones((20,), np.float32), chunks=(5,), shuffle=True),
                       "shuffle (2)"),
        "fletcher.h5": (lambda f: f.create_dataset("d", data=np.ones((20,), np.float32), chunks=(5,),
                                                   fletcher32=True), "fletcher32 (3)"),
        "string_dataset.h5": (lambda f: f.create_dataset("d", data=np.array([b"ab", b"cd"])),
                              "not supported for datasets"),
        "compound_attribute.h5": (lambda f: f.attrs.__setitem__("c", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")])),
                                  "datatype compound"),
        "unlimited.h5": (lambda f: f.create_dataset("d", data=np.ones((4,), np.float32), maxshape=(None,)),
                         "extensible array"),
        "bool_dataset.h5": (lambda f: f.create_dataset("d", data=np.array([True, False])), "enum"),
    }
    for name, (make, error) in cases.items():
        Expect(name, error)
        with h5py.File(os.path.join(OUT, name), "w", libver="latest" if name == "unlimited.h5" else "earliest") as f:
            make(f)


basic_file("basic_earliest.h5", "earliest")
basic_file("basic_v108.h5", ("v108", "v108"))
basic_file("basic_latest.h5", "latest")
basic_file("basic_userblock.h5", "earliest", userblock=1024)
layouts_file("layouts_earliest.h5", "earliest")
layouts_file("layouts_latest.h5", "latest")
links_file("links_earliest.h5", "earliest")
links_file("links_latest.h5", "latest")
dense_file("dense_latest.h5")
refused_files()

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump({"h5py": h5py.version.version, "hdf5": h5py.version.hdf5_version, "files": files}, f, indent=1)
print(f"{len(files)} files in {OUT}")
