// safetensors read and write; declared in checkpoint.h.
// The format: an 8-byte little-endian header length N, N bytes of JSON (an object mapping tensor
// names to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional "__metadata__" object of
// strings), then the data section that the offsets index (relative to its start).
// Reading validates everything before touching tensor bytes: header bounds, JSON shape, dtype
// names, shapes, offsets inside the data section, byte counts against shapes, no overlaps.
// Not here: PyTorch files (pytorch.cpp), element conversion (stored_dtype.cpp).
#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "tensor/io/atomic_write.h"
#include "tensor/io/checked.h"
#include "tensor/io/checkpoint.h"
#include "tensor/io/mapped_file.h"
#include "tensor/io/stored_dtype.h"
#include "tensor/kernels/gemm_bf16.h"

namespace tz::io {

namespace {

using json = nlohmann::ordered_json;

// The reference implementation refuses headers above 100 MB; so do we, before allocating anything.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
// Legal headers nest three levels (object, tensor entry, shape array); this only stops abuse.
constexpr int kMaxJsonDepth = 64;

const char* json_kind(const json& j) {
  if (j.is_number_float()) return "a fractional number";
  if (j.is_number_integer() && !j.is_number_unsigned()) return "a negative number";
  return j.type_name();
}

// Scans the raw header text for the nesting depth of objects and arrays (outside strings).
void check_json_depth(const char* text, size_t n) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      TZ_CHECK(++depth <= kMaxJsonDepth, "safetensors: header JSON nests deeper than ", kMaxJsonDepth, " levels");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
}

json parse_header(const char* text, size_t n) {
  check_json_depth(text, n);
  std::set<std::string> seen;
  std::string duplicate;
  // The callback sees each key of the top-level object; JSON itself allows duplicates, but a file
  // naming one tensor twice is ambiguous, so refuse it.
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && parsed.is_string()) {
      if (!seen.insert(parsed.get<std::string>()).second && duplicate.empty()) duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, text + n, on_event);
  } catch (const json::exception& e) {
    throw Error(std::string("safetensors: header is not valid JSON: ") + e.what());
  }
  TZ_CHECK(duplicate.empty(), "safetensors: header names '", duplicate, "' more than once");
  TZ_CHECK(header.is_object(), "safetensors: header must be a JSON object, got ", json_kind(header));
  return header;
}

struct Entry {
  std::string name;
  StoredDType dtype;
  Shape shape;
  int64_t numel;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const json& v, uint64_t data_size, uint64_t file_size) {
  TZ_CHECK(v.is_object(), "safetensors: entry '", name, "' must be an object with dtype, shape and data_offsets, got ",
           json_kind(v));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    TZ_CHECK(v.contains(field), "safetensors: tensor '", name, "' has no \"", field, "\"");
  Entry e;
  e.name = name;

  const json& dt = v["dtype"];
  TZ_CHECK(dt.is_string(), "safetensors: tensor '", name, "' dtype must be a string, got ", json_kind(dt));
  TZ_CHECK(parse_stored_dtype(dt.get<std::string>(), e.dtype), "safetensors: tensor '", name,
           "' has unsupported dtype '", dt.get<std::string>(), "' (supported: ", supported_stored_dtypes(), ")");

  const json& shape = v["shape"];
  TZ_CHECK(shape.is_array(), "safetensors: tensor '", name, "' shape must be an array, got ", json_kind(shape));
  for (const json& s : shape) {
    TZ_CHECK(s.is_number_unsigned() && s.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX),
             "safetensors: tensor '", name, "' shape ", shape.dump(), " must hold non-negative integers, found ",
             s.dump());
    e.shape.push_back(static_cast<int64_t>(s.get<uint64_t>()));
  }
  auto numel = detail::checked_numel(e.shape);
  auto nbytes = numel ? detail::mul_nonneg(*numel, static_cast<int64_t>(stored_dtype_size(e.dtype))) : std::nullopt;
  TZ_CHECK(nbytes.has_value(), "safetensors: tensor '", name, "' shape ", shape_str(e.shape), " has too many elements");
  e.numel = *numel;

  const json& off = v["data_offsets"];
  TZ_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
           "safetensors: tensor '", name, "' data_offsets must be two non-negative integers, got ", off.dump());
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  TZ_CHECK(e.begin <= e.end, "safetensors: tensor '", name, "' data_offsets [", e.begin, ", ", e.end,
           "] end before they begin");
  TZ_CHECK(e.end <= data_size, "safetensors: tensor '", name, "' data_offsets [", e.begin, ", ", e.end,
           "] exceed the data section of ", data_size, " bytes (file size ", file_size, ")");
  TZ_CHECK(e.end - e.begin == static_cast<uint64_t>(*nbytes), "safetensors: tensor '", name, "' is ",
           stored_dtype_name(e.dtype), " ", shape_str(e.shape), " (", *nbytes, " bytes) but data_offsets [", e.begin,
           ", ", e.end, "] span ", e.end - e.begin, " bytes");
  return e;
}

void check_no_overlap(std::vector<const Entry*> order) {
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const Entry* prev = nullptr;
  for (const Entry* e : order) {
    if (e->begin == e->end) continue;  // empty tensors occupy no bytes
    TZ_CHECK(!prev || e->begin >= prev->end, "safetensors: tensors '", prev ? prev->name : "", "' [", prev ? prev->begin : 0,
             ", ", prev ? prev->end : 0, "] and '", e->name, "' [", e->begin, ", ", e->end, "] overlap");
    prev = e;
  }
}

// `keepalive` owns the bytes at `data` (a mapping): when set, F32/I64 tensors whose bytes are
// aligned for their type view it instead of being copied.
Checkpoint parse_safetensors(const uint8_t* data, size_t size, const std::shared_ptr<const void>& keepalive) {
  TZ_CHECK(size >= 8, "safetensors: file is ", size, " bytes, too short for the 8-byte header length");
  const uint64_t header_len = detail::read_le<uint64_t>(data);
  TZ_CHECK(header_len <= size - 8, "safetensors: header length ", header_len, " exceeds the file size ", size,
           " (at most ", size - 8, " bytes follow the length)");
  TZ_CHECK(header_len <= kMaxHeaderBytes, "safetensors: header length ", header_len, " exceeds the limit of ",
           kMaxHeaderBytes, " bytes");
  const json header = parse_header(reinterpret_cast<const char*>(data + 8), header_len);
  const uint8_t* data_start = data + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  Checkpoint ck;
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      TZ_CHECK(value.is_object(), "safetensors: __metadata__ must be an object, got ", json_kind(value));
      for (const auto& [k, s] : value.items()) {
        TZ_CHECK(s.is_string(), "safetensors: __metadata__ must map strings to strings; '", k, "' is ", json_kind(s));
        ck.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, value, data_size, size));
  }
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  check_no_overlap(order);

  for (const Entry& e : entries) {
    const uint8_t* src = data_start + e.begin;
    const DType out = compute_dtype(e.dtype);
    const bool same_layout = e.dtype == StoredDType::F32 || e.dtype == StoredDType::I64;
    const size_t align = stored_dtype_size(e.dtype);
    Tensor t;
    if (keepalive && same_layout && e.numel > 0 && reinterpret_cast<uintptr_t>(src) % align == 0) {
      auto storage = std::make_shared<Storage>(const_cast<uint8_t*>(src), e.end - e.begin, [keepalive] {});
      storage->set_writable(false);
      t = Tensor::view_of(std::move(storage), out, e.shape, contiguous_strides(e.shape), 0);
    } else {
      t = Tensor::empty(e.shape, out);
      decode_elements(e.dtype, src, e.numel, t.storage()->data(), "safetensors: tensor '" + e.name + "'");
    }
    ck.names.push_back(e.name);
    ck.tensors.emplace(e.name, std::move(t));
    ck.source_dtype.emplace(e.name, stored_dtype_name(e.dtype));
  }
  return ck;
}

// ---- writing ---------------------------------------------------------------------------------

// The element type a tensor is written as: F32 / I64 by its dtype, or the narrower type `store_as`
// names for it (BF16 for a float32 tensor, I8 for an int64 one).
StoredDType written_dtype(const std::string& name, const Tensor& t, const StoreAs& store_as) {
  const StoredDType own = t.dtype() == DType::Float32 ? StoredDType::F32 : StoredDType::I64;
  auto it = store_as.find(name);
  if (it == store_as.end() || it->second == own) return own;
  const bool fits = (it->second == StoredDType::BF16 && t.dtype() == DType::Float32) ||
                    (it->second == StoredDType::I8 && t.dtype() == DType::Int64);
  TZ_CHECK(fits, "save_safetensors: tensor '", name, "' is ", dtype_name(t.dtype()), " and cannot be stored as ",
           stored_dtype_name(it->second), " (float32 as BF16 or F32, int64 as I8 or I64)");
  return it->second;
}

// A narrowed copy of t's elements in row-major order: bfloat16 rounded to nearest even, or int8
// (every value checked to fit).
std::vector<uint8_t> narrowed_bytes(const std::string& name, const Tensor& t, StoredDType dt) {
  std::vector<uint8_t> out(static_cast<size_t>(t.numel()) * stored_dtype_size(dt));
  if (dt == StoredDType::BF16) {
    const std::vector<float> v = t.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t b = kernels::float_to_bf16(v[i]);
      std::memcpy(out.data() + 2 * i, &b, 2);
    }
    return out;
  }
  const std::vector<int64_t> v = t.to_vector<int64_t>();
  for (size_t i = 0; i < v.size(); ++i) {
    TZ_CHECK(v[i] >= -128 && v[i] <= 127, "save_safetensors: tensor '", name, "' element ", i, " = ", v[i],
             " does not fit I8 [-128, 127]");
    out[i] = static_cast<uint8_t>(static_cast<int8_t>(v[i]));
  }
  return out;
}

void write_safetensors(const detail::ByteSink& sink, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata, const StoreAs& store_as) {
  json header = json::object();
  if (!metadata.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    TZ_CHECK(t.defined(), "save_safetensors: tensor '", name, "' is undefined");
    TZ_CHECK(name != "__metadata__", "save_safetensors: '__metadata__' is reserved and cannot name a tensor");
    TZ_CHECK(names.insert(name).second, "save_safetensors: tensor name '", name, "' appears more than once");
    const StoredDType dt = written_dtype(name, t, store_as);
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * stored_dtype_size(dt);
    header[name] = {{"dtype", stored_dtype_name(dt)},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    throw Error(std::string("save_safetensors: a tensor name or metadata string is not valid UTF-8 (") + e.what() + ")");
  }
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_len = text.size();
  sink(&header_len, 8);
  sink(text.data(), text.size());
  for (const auto& [name, t] : tensors) {
    if (t.numel() == 0) continue;
    if (const StoredDType dt = written_dtype(name, t, store_as); dt == StoredDType::BF16 || dt == StoredDType::I8) {
      const std::vector<uint8_t> bytes = narrowed_bytes(name, t, dt);
      sink(bytes.data(), bytes.size());
    } else if (t.is_contiguous()) {
      sink(t.dtype() == DType::Float32 ? static_cast<const void*>(t.data<float>()) : t.data<int64_t>(),
           static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
    } else if (t.dtype() == DType::Float32) {
      auto v = t.to_vector<float>();
      sink(v.data(), v.size() * sizeof(float));
    } else {
      auto v = t.to_vector<int64_t>();
      sink(v.data(), v.size() * sizeof(int64_t));
    }
  }
}

}  // namespace

Checkpoint load_safetensors(const std::string& path) {
  auto file = detail::MappedFile::open(path, "safetensors");
  try {
    return parse_safetensors(file->data(), file->size(), file);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " [" + path + "]");
  }
}

Checkpoint load_safetensors_from_memory(const uint8_t* data, size_t size) {
  return parse_safetensors(data, size, nullptr);
}

std::vector<uint8_t> safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                       const std::map<std::string, std::string>& metadata, const StoreAs& store_as) {
  std::vector<uint8_t> out;
  write_safetensors([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }, tensors, metadata, store_as);
  return out;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, const StoreAs& store_as) {
  detail::write_atomically(path, "save_safetensors",
                           [&](const detail::ByteSink& sink) { write_safetensors(sink, tensors, metadata, store_as); });
}

}  // namespace tz::io
