"""The HDF5 part of the checkpoint corpus (called by make_corpus.py): small valid files and hostile
ones, written by a tiny HDF5 writer here (standard library only, no h5py) so that each hostile file
breaks exactly one thing: truncations, addresses past the end, cyclic object headers, B-trees and
continuation chains, huge dataspaces, bad datatypes, compressed chunks, attribute sizes that lie,
deep group nesting, bad versions and signatures, heap offsets out of range.

The valid files' contents are checked in tests/io/test_corpus.cpp: keep the two in step.
"""
import struct

UNDEF = 0xFFFFFFFFFFFFFFFF
SIGNATURE = b"\x89HDF\r\n\x1a\n"


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)


def pad8(b):
    return b + b"\0" * ((8 - len(b) % 8) % 8)


def lookup3(data, initval=0):
    """Bob Jenkins' hashlittle(), HDF5's checksum."""
    M = 0xFFFFFFFF

    def rot(x, k): return ((x << k) | (x >> (32 - k))) & M

    def mix(a, b, c):
        a = (a - c) & M; a ^= rot(c, 4); c = (c + b) & M
        b = (b - a) & M; b ^= rot(a, 6); a = (a + c) & M
        c = (c - b) & M; c ^= rot(b, 8); b = (b + a) & M
        a = (a - c) & M; a ^= rot(c, 16); c = (c + b) & M
        b = (b - a) & M; b ^= rot(a, 19); a = (a + c) & M
        c = (c - b) & M; c ^= rot(b, 4); b = (b + a) & M
        return a, b, c

    def final(a, b, c):
        c ^= b; c = (c - rot(b, 14)) & M
        a ^= c; a = (a - rot(c, 11)) & M
        b ^= a; b = (b - rot(a, 25)) & M
        c ^= b; c = (c - rot(b, 16)) & M
        a ^= c; a = (a - rot(c, 4)) & M
        b ^= a; b = (b - rot(a, 14)) & M
        c ^= b; c = (c - rot(b, 24)) & M
        return a, b, c

    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & M
    k = 0
    while n - k > 12:
        a = (a + int.from_bytes(data[k:k + 4], "little")) & M
        b = (b + int.from_bytes(data[k + 4:k + 8], "little")) & M
        c = (c + int.from_bytes(data[k + 8:k + 12], "little")) & M
        a, b, c = mix(a, b, c)
        k += 12
    tail = data[k:]
    if not tail:
        return c
    tail = tail + b"\0" * (12 - len(tail))
    a = (a + int.from_bytes(tail[0:4], "little")) & M
    b = (b + int.from_bytes(tail[4:8], "little")) & M
    c = (c + int.from_bytes(tail[8:12], "little")) & M
    return final(a, b, c)[2]


# ---- encodings ----------------------------------------------------------------------------------

FLOAT_LAYOUT = {2: (16, 10, 5, 0, 10, 15), 4: (32, 23, 8, 0, 23, 127), 8: (64, 52, 11, 0, 52, 1023)}


def dtype_float(size=4, big_endian=False, exp_size=None, version=1):
    prec, eloc, esize, mloc, msize, bias = FLOAT_LAYOUT[size]
    if exp_size is not None:
        esize = exp_size
    return (u8(version << 4 | 1) + u8(0x20 | (1 if big_endian else 0)) + u8(prec - 1) + u8(0) + u32(size) +
            u16(0) + u16(prec) + bytes([eloc, esize, mloc, msize]) + u32(bias))


def dtype_int(size=8, signed=True, big_endian=False):
    return u8(0x10) + u8((8 if signed else 0) | (1 if big_endian else 0)) + b"\0\0" + u32(size) + u16(0) + u16(8 * size)


def dtype_fixed_string(n):
    return u8(0x13) + u8(0x01) + b"\0\0" + u32(n)


def dtype_vlen_string():
    return u8(0x19) + u8(0x01) + b"\0\0" + u32(16) + dtype_int(1, signed=False)


def dataspace(dims):
    out = u8(1) + u8(len(dims)) + u8(1 if dims else 0) + b"\0" * 5
    for _ in range(2 if dims else 0):
        for d in dims:
            out += u64(d)
    return out


def message_v1(mtype, body, flags=0):
    body = pad8(body)
    return u16(mtype) + u16(len(body)) + u8(flags) + b"\0\0\0" + body


def header_v1(messages, size=None):
    body = b"".join(messages)
    return u8(1) + u8(0) + u16(len(messages)) + u32(1) + u32(len(body) if size is None else size) + b"\0" * 4 + body


def attribute_v1(name, dtype, space, data):
    name = name.encode() + b"\0"
    return (u8(1) + u8(0) + u16(len(name)) + u16(len(dtype)) + u16(len(space)) + pad8(name) + pad8(dtype) +
            pad8(space) + data)


def fill_v2():
    return bytes([2, 2, 2, 1]) + u32(0)


def layout_contiguous(address, size):
    return u8(3) + u8(1) + u64(address) + u64(size)


def layout_chunked(btree, chunk, element):
    return u8(3) + u8(2) + u8(len(chunk) + 1) + u64(btree) + b"".join(u32(c) for c in chunk) + u32(element)


def filter_pipeline(ids):
    return u8(2) + u8(len(ids)) + b"".join(u16(i) + u16(0) + u16(1) + u32(6) for i in ids)


# ---- a file image and the structures placed in it ----------------------------------------------

class Image:
    def __init__(self):
        self.b = bytearray()

    def add(self, data):
        self.b += b"\0" * ((8 - len(self.b) % 8) % 8)
        at = len(self.b)
        self.b += data
        return at

    def put(self, at, data):
        self.b[at:at + len(data)] = data


def add_dataset(img, dims, values, extra=(), dtype=None, layout=None):
    """A float32 dataset: data block, then its v1 header. Returns (header address, message body addresses)."""
    data = b"".join(struct.pack("<f", v) for v in values)
    at = img.add(data) if data else UNDEF
    messages = [(1, dataspace(dims)), (3, dtype or dtype_float(4)), (5, fill_v2()),
                (8, layout if layout is not None else layout_contiguous(at, len(data)))] + list(extra)
    return add_header(img, messages)


def add_header(img, messages, size=None):
    """A v1 object header holding (type, body[, flags]) messages; returns (address, {type: body address})."""
    encoded = [message_v1(*m) for m in messages]
    at = img.add(header_v1(encoded, size))
    bodies, pos = {}, at + 16
    for m, e in zip(messages, encoded):
        bodies.setdefault(m[0], pos + 8)
        pos += len(e)
    return at, bodies


def add_symbol_table(img, entries):
    """Local heap, one symbol table node and a level-0 B-tree for entries [(name, header, cache, btree, heap)]."""
    entries = sorted(entries, key=lambda e: e[0])
    names, offsets = b"\0" * 8, []
    for e in entries:
        offsets.append(len(names))
        names += pad8(e[0].encode() + b"\0")
    heap = img.add(b"HEAP" + b"\0" * 4 + u64(len(names)) + u64(1) + u64(0) + names)
    img.put(heap + 24, u64(heap + 32))
    snod = b"SNOD" + u8(1) + u8(0) + u16(len(entries))
    for e, off in zip(entries, offsets):
        name, header, cache, btree, lheap = e
        snod += u64(off) + u64(header) + u32(cache) + u32(0) + u64(btree) + u64(lheap)
    snod_at = img.add(snod) if entries else None
    tree = b"TREE" + u8(0) + u8(0) + u16(1 if entries else 0) + u64(UNDEF) + u64(UNDEF) + u64(0)
    if entries:
        tree += u64(snod_at) + u64(offsets[-1])
    tree_at = img.add(tree)  # (libhdf5 allocates whole 2K-entry nodes; our reader reads what is used)
    return {"heap": heap, "heap_data": heap + 32, "snod": snod_at, "tree": tree_at, "offsets": offsets}


def add_group(img, entries, extra=()):
    st = add_symbol_table(img, entries)
    header, bodies = add_header(img, [(0x11, u64(st["tree"]) + u64(st["heap"]))] + list(extra))
    return header, st, bodies


def add_chunk_btree(img, chunks, rank=1, level=0, children=None):
    """A v1 B-tree (type 1) over [(size, offsets, address)]; `children` overrides the child addresses."""
    node = b"TREE" + u8(1) + u8(level) + u16(len(chunks)) + u64(UNDEF) + u64(UNDEF)
    for k, (size, offsets, address) in enumerate(chunks):
        node += u32(size) + u32(0) + b"".join(u64(o) for o in offsets) + u64(0)
        node += u64(children[k] if children else address)
    node += u32(0) + u32(0) + b"\0" * (8 * (rank + 1))
    return img.add(node)


def superblock_v0(root, btree, heap, eof):
    return (SIGNATURE + bytes([0, 0, 0, 0, 0, 8, 8, 0]) + u16(4) + u16(16) + u32(0) + u64(0) + u64(UNDEF) + u64(eof) +
            u64(UNDEF) + u64(0) + u64(root) + u32(1) + u32(0) + u64(btree) + u64(heap))


def superblock_v2(root, eof, version=2):
    body = SIGNATURE + bytes([version, 8, 8, 0]) + u64(0) + u64(UNDEF) + u64(eof) + u64(root)
    return body + u32(lookup3(body))


def finish_v0(img, root, st):
    img.put(0, superblock_v0(root, st["tree"], st["heap"], len(img.b)))
    return bytes(img.b)


# ---- the valid files --------------------------------------------------------------------------

def keras_like(**tweak):
    """Superblock 0 and symbol tables, like h5py's default files: root attributes layer_names (fixed
    strings) and backend (a variable-length string), a group 'g' holding a contiguous dataset 'd'
    [2, 3] = 0, 0.5, ..., 2.5 and a chunked dataset 'c' [4] = 1, 2, 3, 4 in chunks of 2.
    Returns the bytes and the addresses of its parts, so that hostile variants can break one."""
    img = Image()
    img.add(b"\0" * 96)
    info = {}
    d, info["d_msgs"] = add_dataset(img, [2, 3], [0.5 * k for k in range(6)], dtype=tweak.get("d_dtype"),
                                    extra=tweak.get("d_extra", ()))
    c0 = img.add(struct.pack("<2f", 1, 2))
    c1 = img.add(struct.pack("<2f", 3, 4))
    chunks = tweak.get("chunks", [(8, [0], c0), (8, [2], c1)])
    info["c_btree"] = add_chunk_btree(img, chunks, children=tweak.get("chunk_children"))
    c, info["c_msgs"] = add_dataset(img, [4], [], layout=layout_chunked(info["c_btree"], [2], 4),
                                    extra=tweak.get("c_extra", ()))
    g, info["g_st"], _ = add_group(img, [("c", c, 0, 0, 0), ("d", d, 0, 0, 0)] + list(tweak.get("g_more", ())))
    text = b"tensorflow"
    gcol = b"GCOL" + u8(1) + b"\0\0\0" + u64(64) + u16(1) + u16(1) + u32(0) + u64(len(text)) + pad8(text)
    gcol += u16(0) + u16(0) + u32(0) + u64(64 - len(gcol))  # object 0: the free rest (libhdf5 makes 4096 bytes)
    info["gcol"] = img.add(gcol)
    names = [b"g", b"x"]
    layer_names = attribute_v1("layer_names", dtype_fixed_string(1), dataspace([2]), b"".join(names))
    backend = attribute_v1("backend", dtype_vlen_string(), dataspace([]), u32(len(text)) + u64(info["gcol"]) + u32(1))
    root, info["root_st"], info["root_msgs"] = add_group(
        img, [("g", g, 1, info["g_st"]["tree"], info["g_st"]["heap"])],
        extra=[(0x0C, layer_names), (0x0C, backend)] + list(tweak.get("root_extra", ())))
    info.update(root=root, g=g, d=d, c=c, c0=c0, c1=c1)
    return finish_v0(img, root, info["root_st"]), info


def message_v2(mtype, body, flags=0):
    return u8(mtype) + u16(len(body)) + u8(flags) + body


def ohdr(messages, continuation=None):
    """A v2 object header (1-byte chunk size) with its checksum; `continuation` = (address, length)."""
    body = b"".join(message_v2(*m) for m in messages)
    if continuation:
        body += message_v2(0x10, u64(continuation[0]) + u64(continuation[1]))
    head = b"OHDR" + u8(2) + u8(0) + u8(len(body)) + body
    return head + u32(lookup3(head))


def link_message(name, address):
    name = name.encode()
    return u8(1) + u8(0) + u8(len(name)) + name + u64(address)


def latest_like(version=2, **tweak):
    """Superblock 2 (or 3), version-2 object headers and link messages: a root with a dataset 'w' [3]
    = -1, 0, 1 and a group 'sub' (empty) whose header continues in an OCHK block."""
    img = Image()
    img.add(b"\0" * 48)
    data = img.add(struct.pack("<3f", -1, 0, 1))
    w = img.add(ohdr([(1, u8(2) + u8(1) + u8(0) + u8(1) + u64(3)), (3, dtype_float(4)),
                      (8, layout_contiguous(data, 12))] + list(tweak.get("w_extra", ()))))
    # 'sub': an empty group whose link info sits in a continuation block.
    ochk_body = message_v2(2, u8(0) + u8(0) + u64(UNDEF) + u64(UNDEF))
    ochk = b"OCHK" + ochk_body
    ochk += u32(lookup3(ochk))
    ochk_at = img.add(tweak.get("ochk", ochk))
    sub = img.add(ohdr([(0x0A, u8(0) + u8(0))], continuation=tweak.get("continuation", (ochk_at, len(ochk)))))
    links = [(6, link_message(n, a)) for n, a in tweak.get("links", [("w", w), ("sub", sub)])]
    root = img.add(ohdr([(2, u8(0) + u8(0) + u64(UNDEF) + u64(UNDEF))] + links + list(tweak.get("root_extra", ()))))
    img.put(0, superblock_v2(tweak.get("root", root), len(img.b), version))
    return bytes(img.b), {"root": root, "w": w, "sub": sub, "ochk": ochk_at, "data": data}


def nested(depth):
    """`depth` groups inside each other (symbol tables), the innermost empty."""
    img = Image()
    img.add(b"\0" * 96)
    header, st, _ = add_group(img, [])
    for k in range(depth):
        header, st, _ = add_group(img, [(f"n{k}", header, 1, st["tree"], st["heap"])])
    return finish_v0(img, header, st)


# ---- the corpus --------------------------------------------------------------------------------

def patched(data, at, new):
    b = bytearray(data)
    b[at:at + len(new)] = new
    return bytes(b)


def write_hdf5(put):
    base, info = keras_like()
    put("hdf5/valid_keras_like.h5", base, "OK")
    latest, linfo = latest_like()
    put("hdf5/valid_latest.h5", latest, "OK")
    put("hdf5/valid_superblock3.h5", latest_like(version=3)[0], "OK")
    put("hdf5/valid_nested_100.h5", nested(100), "OK")

    root_msgs, d_msgs, c_msgs = info["root_msgs"], info["d_msgs"], info["c_msgs"]
    g_st = info["g_st"]
    tree, snod, heap = g_st["tree"], g_st["snod"], g_st["heap"]
    chunk_btree = info["c_btree"]         # header 24 bytes, then (key 24 bytes, child 8 bytes) per chunk
    second_chunk_key = chunk_btree + 56
    layer_names = root_msgs[0x0C]         # name at +8 (16 bytes), datatype at +24, dataspace at +32
    backend_data = base.index(u32(10) + u64(info["gcol"]) + u32(1))
    dims = d_msgs[1] + 8                  # the dataspace's first dimension (the second at +8)
    # Self-referencing structures need their own address: build once to learn it, then again.
    d_at = keras_like(d_extra=[(0x10, u64(0) + u64(64))])[1]["d"]
    sub_at = latest_like(continuation=(0, 64))[1]["sub"]

    bad = {
        # The file as a whole
        "empty": (b"", "no HDF5 signature"),
        "signature_only": (SIGNATURE, "ends inside the superblock"),
        "not_hdf5": (b"PK\x03\x04" + b"\0" * 200, "no HDF5 signature"),
        "truncated_half": (base[:len(base) // 2], "the file is truncated: its superblock says"),
        "truncated_superblock": (base[:40], "the file ends inside the superblock"),
        "superblock_version_9": (patched(base, 8, u8(9)), "superblock version 9"),
        "offset_size_3": (patched(base, 13, u8(3)), "declares addresses of 3 bytes"),
        "root_past_end": (patched(base, 64, u64(10 ** 9)), "object header at address 1000000000"),
        "root_undefined": (patched(base, 64, u64(UNDEF)), "object header has the undefined address"),
        "superblock_v2_checksum": (patched(latest, 44, u32(0)), "superblock at address 0 fails its checksum"),
        # Object headers
        "header_bad_version": (patched(base, info["d"], u8(7)), "no object header at address"),
        "header_size_lies": (patched(base, info["d"] + 8, u32(10 ** 8)), "bytes of messages, which run past the end"),
        "message_size_lies": (patched(base, d_msgs[1] - 6, u16(0xFFF0)), "object header messages is truncated"),
        "continuation_cycle": (keras_like(d_extra=[(0x10, u64(d_at) + u64(64))])[0],
                               "(a cyclic or corrupt continuation chain)"),
        "continuation_past_end": (keras_like(d_extra=[(0x10, u64(10 ** 9) + u64(64))])[0],
                                  "continuation block at address 1000000000"),
        "ohdr_checksum": (patched(latest, linfo["w"] + 10, b"\xff"), "fails its checksum"),
        "ohdr_continuation_cycle": (latest_like(continuation=(sub_at, 64))[0], "overlaps block"),
        "ochk_signature": (latest_like(ochk=b"XXXX" + b"\0" * 26)[0], "has no 'OCHK' signature"),
        "unknown_message_fail": (keras_like(d_extra=[(0x40, b"\0" * 8, 0x80)])[0], "marked 'fail if unknown'"),
        "shared_datatype": (patched(base, d_msgs[3] - 4, u8(0x02)), "is stored as a shared message"),
        # Groups, B-trees and heaps
        "btree_signature": (patched(base, tree, b"XREE"), "signature 'TREE' missing"),
        "btree_self_cycle": (patched(patched(base, tree + 5, u8(1)), tree + 32, u64(tree)),
                             "is reached twice (a cyclic B-tree)"),
        "btree_level_65": (patched(base, tree + 5, u8(65)), "has level 65"),
        "btree_child_past_end": (patched(base, tree + 32, u64(10 ** 9)), "symbol table node at address 1000000000"),
        "snod_signature": (patched(base, snod, b"SNOT"), "signature 'SNOD' missing"),
        "snod_count_lies": (patched(base, snod + 6, u16(60000)), "symbol table node entries"),
        "heap_signature": (patched(base, heap, b"HEAD"), "signature 'HEAP' missing"),
        "heap_data_past_end": (patched(base, heap + 24, u64(10 ** 9)), "local heap data segment at address 1000000000"),
        "heap_name_offset_out_of_range": (patched(base, snod + 8, u64(5000)), "lies outside the local heap"),
        "heap_name_unterminated": (patched(base, g_st["heap_data"] + 8, b"c" * 16), "is not NUL-terminated"),
        "link_name_with_slash": (patched(base, g_st["heap_data"] + 8, b"/"), "is not a plain name"),
        "group_cycle": (patched(base, snod + 16, u64(info["root"])), "points back to an enclosing group"),
        "group_linked_twice": (group_linked_twice(), "is reached through a second link"),
        "deep_nesting": (nested(150), "groups nest deeper than 100 levels"),
        "latest_link_name_slash": (latest_like(links=[("a/b", 48)])[0], "is not a plain name"),
        # Dataspaces and datatypes
        "dataspace_rank_40": (patched(base, d_msgs[1] + 1, u8(40)), "dataspace has rank 40"),
        "dataspace_too_many_elements": (patched(patched(base, dims, u64(2 ** 40)), dims + 8, u64(2 ** 40)),
                                        "has too many elements"),
        # 2^31 x 2^31 float32: the element count fits in int64, the byte count does not.
        "dataspace_bytes_overflow": (patched(patched(base, dims, u64(2 ** 31)), dims + 8, u64(2 ** 31)),
                                     "would need more than 2^63 bytes"),
        # A billion elements without storage: their fill value would take 4 GB for a tiny file.
        "dataspace_huge_unallocated": (patched(patched(patched(base, dims, u64(10 ** 9)), dims + 8, u64(1)),
                                               d_msgs[8] + 2, u64(UNDEF)), "reading would take more than"),
        "datatype_class_15": (patched(base, d_msgs[3], u8(0x1F)), "unknown (4 bytes)"),
        "datatype_version_0": (patched(base, d_msgs[3], u8(0x01)), "datatype message version 0"),
        "datatype_size_0": (patched(base, d_msgs[3] + 4, u32(0)), "has size 0"),
        "datatype_not_ieee": (keras_like(d_dtype=dtype_float(4, exp_size=7))[0],
                              "datatype is floating-point (4 bytes), which is not supported for datasets"),
        "datatype_vax_order": (patched(base, d_msgs[3] + 1, u8(0x61)), "floating-point (4 bytes)"),
        "compound_dataset": (patched(base, d_msgs[3], u8(0x16)), "datatype is compound"),
        # Storage
        "contiguous_past_end": (patched(base, d_msgs[8] + 2, u64(10 ** 9)), "dataset data at address 1000000000"),
        "contiguous_size_lies": (patched(base, d_msgs[8] + 10, u64(4)), "contiguous storage holds 4 bytes"),
        "compressed": (keras_like(c_extra=[(0x0B, filter_pipeline([1]))])[0], "deflate (1)"),
        "shuffled_and_compressed": (keras_like(c_extra=[(0x0B, filter_pipeline([2, 1]))])[0],
                                    "shuffle (2), deflate (1)"),
        "szip": (keras_like(d_extra=[(0x0B, filter_pipeline([4]))])[0], "szip (4)"),
        "external_storage": (keras_like(d_extra=[(0x07, b"\x01" + b"\0" * 15)])[0], "external files"),
        "chunk_past_end": (keras_like(chunks=[(8, [0], 10 ** 9)])[0], "chunk at address 1000000000"),
        "chunk_size_lies": (patched(base, chunk_btree + 24, u32(4)), "a chunk holds 4 bytes, expected 8"),
        "chunk_misaligned": (patched(base, second_chunk_key + 8, u64(1)), "is not aligned to the chunk size"),
        "chunk_twice": (patched(base, second_chunk_key + 8, u64(0)), "two chunks are stored for the same position"),
        "chunk_btree_cycle": (patched(patched(base, chunk_btree + 5, u8(1)), chunk_btree + 48, u64(chunk_btree)),
                              "is reached twice (a cyclic B-tree)"),
        "chunk_element_size_lies": (patched(base, c_msgs[8] + 15, u32(8)), "chunked layout says elements of 8"),
        "layout_virtual": (patched(base, d_msgs[8] + 1, u8(3)), "virtual layout in a version 3"),
        "layout_version_9": (patched(base, d_msgs[8], u8(9)), "data layout message version 9"),
        # Attributes and the global heap
        "attribute_data_lies": (patched(base, layer_names + 40, u64(5000)), "but its message holds"),
        "attribute_name_size_lies": (patched(base, layer_names + 2, u16(0x7000)), "attribute message is truncated"),
        "attribute_compound": (patched(base, layer_names + 24, u8(0x16)), "datatype compound"),
        "gcol_signature": (patched(base, info["gcol"], b"GCOX"), "signature 'GCOL' missing"),
        "gcol_size_lies": (patched(base, info["gcol"] + 8, u64(10 ** 9)), "global heap collection at address"),
        "gcol_past_end": (patched(base, backend_data + 4, u64(10 ** 9)), "global heap collection at address 1000000000"),
        "gcol_no_such_object": (patched(base, backend_data + 12, u32(7)), "has no object 7"),
        "vlen_longer_than_object": (patched(base, backend_data, u32(40)), "claims 40 bytes but its global heap object"),
    }
    for name, (data, error) in bad.items():
        put(f"hdf5/bad_{name}.h5", data, error)


def group_linked_twice():
    """A root whose symbol table links the same empty group as 'a' and as 'b'."""
    img = Image()
    img.add(b"\0" * 96)
    empty, st, _ = add_group(img, [])
    root, root_st, _ = add_group(img, [("a", empty, 1, st["tree"], st["heap"]), ("b", empty, 1, st["tree"], st["heap"])])
    return finish_v0(img, root, root_st)
