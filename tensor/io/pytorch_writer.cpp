// Writing a state dict as torch.save does (zip format of PyTorch >= 1.6), so that torch.load and
// HF's from_pretrained read it: see save_pytorch in checkpoint.h. Not here: reading (pytorch.cpp,
// pickle.cpp, zip.cpp).
//
// The archive, every entry stored (uncompressed) with its data 64-byte aligned as torch aligns it:
//   archive/data.pkl      pickle protocol 2 of an OrderedDict name -> _rebuild_tensor_v2(...)
//   archive/byteorder     "little"
//   archive/data/<k>      the raw little-endian bytes of tensor k's storage (one storage per tensor)
//   archive/version       "3"
// Only the classic zip records are written (no ZIP64), so the archive must stay below 4 GiB and
// 65535 entries; larger checkpoints are refused with a pointer to safetensors.
#include <array>
#include <cstring>
#include <set>

#include "core/error.h"
#include "tensor/io/atomic_write.h"
#include "tensor/io/checkpoint.h"

namespace tz::io {

namespace {

constexpr const char* kFolder = "archive";
constexpr uint64_t kAlignment = 64;
constexpr uint64_t kZipLimit = 0xFFFFFFFFull;  // classic zip offsets and sizes are 32-bit

uint32_t crc32_update(uint32_t crc, const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

// Protocol-2 pickle opcodes, written by hand: only what a state dict needs.
class PickleWriter {
 public:
  void op(char c) { out_.push_back(static_cast<uint8_t>(c)); }
  void global(const std::string& module, const std::string& name) {
    op('c');
    raw(module + "\n" + name + "\n");
  }
  void str(const std::string& s) {
    op('X');
    le(static_cast<uint32_t>(s.size()), 4);
    raw(s);
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      op('\x8a');  // LONG1, 8 bytes of two's complement
      out_.push_back(8);
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void int_tuple(const std::vector<int64_t>& values) {
    if (values.empty()) return op(')');
    op('(');
    for (int64_t v : values) integer(v);
    op('t');
  }
  const std::vector<uint8_t>& bytes() const { return out_; }

 private:
  void raw(const std::string& s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

std::vector<uint8_t> state_dict_pickle(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  PickleWriter p;
  p.op('\x80');
  p.op('\x02');
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.op('(');
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Tensor& t = tensors[k].second;
    p.str(tensors[k].first);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // the persistent id: ('storage', type, key, location, numel)
    p.str("storage");
    p.global("torch", t.dtype() == DType::Float32 ? "FloatStorage" : "LongStorage");
    p.str(std::to_string(k));
    p.str("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);  // storage offset
    p.int_tuple(t.shape());
    std::vector<int64_t> strides(t.shape().size());
    int64_t stride = 1;
    for (size_t d = strides.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= t.shape()[d];
    }
    p.int_tuple(strides);
    p.op('\x89');  // requires_grad = False
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');  // backward hooks: an empty OrderedDict
    p.op('t');
    p.op('R');
  }
  p.op('u');
  p.op('.');
  return p.bytes();
}

struct Entry {
  std::string name;
  uint64_t size = 0;
  uint32_t crc = 0;
  uint64_t header_offset = 0;
  uint16_t padding = 0;  // extra-field bytes that align the data
};

// A tensor's bytes in row-major order, handed to `use` without a copy when it is contiguous.
template <class F>
void with_bytes(const Tensor& t, F&& use) {
  if (t.numel() == 0) return use(static_cast<const uint8_t*>(nullptr), size_t{0});
  if (t.is_contiguous()) {
    const void* p = t.dtype() == DType::Float32 ? static_cast<const void*>(t.data<float>()) : t.data<int64_t>();
    return use(static_cast<const uint8_t*>(p), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  }
  if (t.dtype() == DType::Float32) {
    const auto v = t.to_vector<float>();
    return use(reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float));
  }
  const auto v = t.to_vector<int64_t>();
  use(reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(int64_t));
}

class ZipWriter {
 public:
  explicit ZipWriter(const detail::ByteSink& sink) : sink_(sink) {}

  // Writes one stored entry whose bytes `produce` hands over (size and crc known in advance).
  template <class F>
  void entry(const std::string& name, uint64_t size, uint32_t crc, F&& produce) {
    Entry e{name, size, crc, pos_, 0};
    const uint64_t data_at = pos_ + 30 + name.size() + 4;
    uint64_t pad = (kAlignment - data_at % kAlignment) % kAlignment;
    e.padding = static_cast<uint16_t>(pad + 4);
    TZ_CHECK(pos_ + 30 + name.size() + e.padding + size <= kZipLimit, "save_pytorch: the checkpoint passes 4 GiB, "
             "which needs ZIP64 records that this writer does not write; save it as safetensors instead");
    le(0x04034b50, 4);
    le(20, 2);  // version needed: 2.0
    le(0, 2);   // flags
    le(0, 2);   // stored
    le(0, 2);   // time
    le(0x21, 2);  // date: 1980-01-01
    le(crc, 4);
    le(size, 4);
    le(size, 4);
    le(name.size(), 2);
    le(e.padding, 2);
    bytes(name.data(), name.size());
    le(0x4246, 2);  // an extra field of padding, as torch writes ("FB")
    le(pad, 2);
    const std::vector<uint8_t> zeros(pad, 0);
    bytes(zeros.data(), zeros.size());
    produce([&](const uint8_t* p, size_t n) { bytes(p, n); });
    entries_.push_back(e);
  }

  void finish() {
    TZ_CHECK(entries_.size() < 0xFFFF, "save_pytorch: ", entries_.size(),
             " zip entries need ZIP64 records that this writer does not write; save as safetensors instead");
    const uint64_t directory_at = pos_;
    for (const Entry& e : entries_) {
      le(0x02014b50, 4);
      le(20, 2);
      le(20, 2);
      le(0, 2);
      le(0, 2);
      le(0, 2);
      le(0x21, 2);
      le(e.crc, 4);
      le(e.size, 4);
      le(e.size, 4);
      le(e.name.size(), 2);
      le(0, 2);  // extra
      le(0, 2);  // comment
      le(0, 2);  // disk
      le(0, 2);  // internal attributes
      le(0, 4);  // external attributes
      le(e.header_offset, 4);
      bytes(e.name.data(), e.name.size());
    }
    const uint64_t directory_size = pos_ - directory_at;
    TZ_CHECK(pos_ <= kZipLimit, "save_pytorch: the checkpoint passes 4 GiB (ZIP64 not written); use safetensors");
    le(0x06054b50, 4);
    le(0, 2);
    le(0, 2);
    le(entries_.size(), 2);
    le(entries_.size(), 2);
    le(directory_size, 4);
    le(directory_at, 4);
    le(0, 2);
  }

 private:
  void bytes(const void* p, size_t n) {
    if (n) sink_(p, n);
    pos_ += n;
  }
  void le(uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    bytes(b, static_cast<size_t>(n));
  }
  const detail::ByteSink& sink_;
  uint64_t pos_ = 0;
  std::vector<Entry> entries_;
};

void write_pytorch(const detail::ByteSink& sink, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    TZ_CHECK(t.defined(), "save_pytorch: tensor '", name, "' is undefined");
    TZ_CHECK(names.insert(name).second, "save_pytorch: tensor name '", name, "' appears more than once");
  }
  const std::string folder = kFolder;
  ZipWriter zip(sink);
  auto small = [&](const std::string& name, const std::vector<uint8_t>& data) {
    zip.entry(folder + "/" + name, data.size(), crc32_update(0, data.data(), data.size()),
              [&](const auto& put) { put(data.data(), data.size()); });
  };
  small("data.pkl", state_dict_pickle(tensors));
  small("byteorder", {'l', 'i', 't', 't', 'l', 'e'});
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Tensor& t = tensors[k].second;
    // The crc comes first (the local header precedes the data), then the bytes themselves.
    uint32_t crc = 0;
    with_bytes(t, [&](const uint8_t* p, size_t n) { crc = crc32_update(0, p, n); });
    const uint64_t size = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    zip.entry(folder + "/data/" + std::to_string(k), size, crc,
              [&](const auto& put) { with_bytes(t, [&](const uint8_t* p, size_t n) { put(p, n); }); });
  }
  small("version", {'3', '\n'});
  zip.finish();
}

}  // namespace

std::vector<uint8_t> pytorch_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<uint8_t> out;
  write_pytorch([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }, tensors);
  return out;
}

void save_pytorch(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  detail::write_atomically(path, "save_pytorch",
                           [&](const detail::ByteSink& sink) { write_pytorch(sink, tensors); });
}

}  // namespace tz::io
