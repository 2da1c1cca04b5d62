// The .npy writer; see npy.h. Format: "\x93NUMPY", version 1.0, a little-endian uint16 header
// length, a Python dict literal padded with spaces and ended by '\n', then the raw data.
#include "tensor/io/npy.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "core/error.h"
#include "tensor/ops.h"

namespace tz::io {

void save_npy(const std::string& path, const Tensor& t) {
  TZ_CHECK(t.defined(), "save_npy: undefined tensor for '", path, "'");
  TZ_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Int64, "save_npy: '", path,
           "': only float32 and int64 tensors, got ", dtype_name(t.dtype()));
  std::string shape = "(";
  for (int64_t d = 0; d < t.dim(); ++d) shape += std::to_string(t.size(d)) + (t.dim() == 1 ? "," : d + 1 < t.dim() ? ", " : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + (t.dtype() == DType::Float32 ? "<f4" : "<i8") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t prefix = 10;  // magic (6) + version (2) + header length (2)
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  TZ_CHECK(header.size() <= 0xFFFF, "save_npy: header of ", header.size(), " bytes does not fit format 1.0");
  const Tensor c = raw::contiguous(t);
  const std::size_t bytes = static_cast<std::size_t>(c.numel()) * 4 * (t.dtype() == DType::Float32 ? 1 : 2);

  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    TZ_CHECK(f.good(), "save_npy: cannot create '", tmp, "'");
    const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xFF),
                                  static_cast<unsigned char>(header.size() >> 8)};
    f.write(reinterpret_cast<const char*>(magic), 8);
    f.write(reinterpret_cast<const char*>(len), 2);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    const char* data = t.dtype() == DType::Float32 ? reinterpret_cast<const char*>(c.data<float>())
                                                   : reinterpret_cast<const char*>(c.data<int64_t>());
    f.write(data, static_cast<std::streamsize>(bytes));  // the host is little-endian (x86-64, as everywhere here)
    f.flush();
    if (!f.good()) {
      std::remove(tmp.c_str());
      TZ_CHECK(false, "save_npy: cannot write '", tmp, "'");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    TZ_CHECK(false, "save_npy: cannot rename '", tmp, "' to '", path, "'");
  }
}

}  // namespace tz::io
