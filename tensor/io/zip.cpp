// ZipReader: central-directory parsing with bounds checks; see zip.h.
// Layout reminder (APPNOTE.TXT): the archive ends with an "end of central directory" record
// (EOCD, signature PK\5\6) that points at the central directory, one record (PK\1\2) per entry,
// each pointing at the entry's local header (PK\3\4), which is followed by the entry's bytes.
// ZIP64 moves the 64-bit counts into a second EOCD (PK\6\6), found through a locator (PK\6\7)
// right before the classic EOCD, and per-entry 64-bit sizes into an extra field with tag 1.
// torch writes the ZIP64 records even for small files, and sizes only in the central directory
// (the local headers carry zeros and flag a trailing data descriptor), so the central directory
// is the authority here.
#include "tensor/io/zip.h"


#include "core/error.h"
#include "tensor/io/checked.h"

namespace tz::io::detail {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kEocd64Sig = 0x06064b50;
constexpr uint32_t kLocator64Sig = 0x07064b50;
constexpr size_t kEocdSize = 22, kLocatorSize = 20, kEocd64Size = 56, kCentralSize = 46, kLocalSize = 30;

// True when [offset, offset + n) lies inside a buffer of `size` bytes (overflow-safe).
bool inside(uint64_t offset, uint64_t n, uint64_t size) { return offset <= size && n <= size - offset; }

}  // namespace

ZipReader::ZipReader(const uint8_t* data, size_t size) : data_(data), size_(size) {
  TZ_CHECK(size >= kEocdSize, "zip: file is ", size, " bytes, too short for a zip archive");

  // The EOCD is followed only by its comment (at most 65535 bytes): search backwards for it.
  size_t eocd = SIZE_MAX;
  const size_t lowest = size - kEocdSize > 65535 ? size - kEocdSize - 65535 : 0;
  for (size_t p = size - kEocdSize + 1; p-- > lowest;) {
    if (read_le<uint32_t>(data + p) == kEocdSig) {
      eocd = p;
      break;
    }
  }
  TZ_CHECK(eocd != SIZE_MAX, "zip: end of central directory record not found (not a zip archive, or truncated)");
  const uint8_t* e = data + eocd;
  TZ_CHECK(read_le<uint16_t>(e + 4) == 0 && read_le<uint16_t>(e + 6) == 0,
           "zip: multi-disk archives are not supported");
  uint64_t count = read_le<uint16_t>(e + 10);
  uint64_t cd_size = read_le<uint32_t>(e + 12);
  uint64_t cd_offset = read_le<uint32_t>(e + 16);
  uint64_t cd_limit = eocd;  // the central directory must end before the records that describe it

  if (eocd >= kLocatorSize && read_le<uint32_t>(data + eocd - kLocatorSize) == kLocator64Sig) {
    const uint64_t at = read_le<uint64_t>(data + eocd - kLocatorSize + 8);
    TZ_CHECK(inside(at, kEocd64Size, eocd - kLocatorSize),
             "zip: ZIP64 end of central directory offset ", at, " lies outside the file of ", size, " bytes");
    const uint8_t* z = data + at;
    TZ_CHECK(read_le<uint32_t>(z) == kEocd64Sig, "zip: no ZIP64 end of central directory record at offset ", at);
    TZ_CHECK(read_le<uint32_t>(z + 16) == 0 && read_le<uint32_t>(z + 20) == 0,
             "zip: multi-disk archives are not supported");
    count = read_le<uint64_t>(z + 32);
    cd_size = read_le<uint64_t>(z + 40);
    cd_offset = read_le<uint64_t>(z + 48);
    cd_limit = at;
  }
  TZ_CHECK(inside(cd_offset, cd_size, cd_limit), "zip: central directory [", cd_offset, ", +", cd_size,
           ") lies outside the ", cd_limit, " bytes before its end record");
  TZ_CHECK(count <= cd_size / kCentralSize, "zip: ", count, " entries cannot fit in a central directory of ", cd_size,
           " bytes");

  entries_.reserve(count);
  uint64_t pos = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    TZ_CHECK(inside(pos, kCentralSize, cd_end), "zip: central directory record ", i, " at offset ", pos,
             " is truncated");
    const uint8_t* c = data + pos;
    TZ_CHECK(read_le<uint32_t>(c) == kCentralSig, "zip: central directory record ", i, " at offset ", pos,
             " has a bad signature");
    const uint16_t flags = read_le<uint16_t>(c + 8);
    ZipEntry entry;
    entry.method = read_le<uint16_t>(c + 10);
    uint64_t csize = read_le<uint32_t>(c + 20);
    uint64_t usize = read_le<uint32_t>(c + 24);
    const uint64_t name_len = read_le<uint16_t>(c + 28), extra_len = read_le<uint16_t>(c + 30),
                   comment_len = read_le<uint16_t>(c + 32);
    uint64_t local = read_le<uint32_t>(c + 42);
    TZ_CHECK(inside(pos + kCentralSize, name_len + extra_len + comment_len, cd_end), "zip: central directory record ",
             i, " at offset ", pos, " runs past the end of the directory");
    entry.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);

    // ZIP64 extra field: 64-bit values for exactly those 32-bit fields that hold 0xFFFFFFFF, in order.
    const uint8_t* x = c + kCentralSize + name_len;
    const uint8_t* x_end = x + extra_len;
    while (x_end - x >= 4) {
      const uint16_t tag = read_le<uint16_t>(x), len = read_le<uint16_t>(x + 2);
      TZ_CHECK(len <= x_end - x - 4, "zip: entry '", entry.name, "' has an extra field running past its record");
      if (tag == 1) {
        const uint8_t* f = x + 4;
        const uint8_t* f_end = f + len;
        for (uint64_t* field : {&usize, &csize, &local}) {
          if (*field != 0xffffffffu) continue;
          TZ_CHECK(f_end - f >= 8, "zip: entry '", entry.name, "' has a truncated ZIP64 extra field");
          *field = read_le<uint64_t>(f);
          f += 8;
        }
      }
      x += 4 + len;
    }

    TZ_CHECK((flags & 1) == 0, "zip: entry '", entry.name, "' is encrypted");
    TZ_CHECK(entry.method != 0 || csize == usize, "zip: stored entry '", entry.name, "' has compressed size ", csize,
             " but size ", usize);
    TZ_CHECK(index_.emplace(entry.name, entries_.size()).second, "zip: entry '", entry.name, "' appears twice");

    TZ_CHECK(inside(local, kLocalSize, size), "zip: entry '", entry.name, "' local header offset ", local,
             " lies outside the file of ", size, " bytes");
    const uint8_t* l = data + local;
    TZ_CHECK(read_le<uint32_t>(l) == kLocalSig, "zip: entry '", entry.name, "' has no local header at offset ", local);
    const uint64_t data_offset =
        local + kLocalSize + read_le<uint16_t>(l + 26) + static_cast<uint64_t>(read_le<uint16_t>(l + 28));
    TZ_CHECK(inside(data_offset, csize, size), "zip: entry '", entry.name, "' data [", data_offset, ", +", csize,
             ") lies outside the file of ", size, " bytes");
    entry.data_offset = data_offset;
    entry.size = csize;
    entries_.push_back(std::move(entry));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const uint8_t* ZipReader::bytes(const ZipEntry& e) const {
  TZ_CHECK(e.method == 0, "zip: entry '", e.name, "' is compressed (method ", e.method,
           "); only stored entries are supported, as torch.save writes them");
  return data_ + e.data_offset;
}

}  // namespace tz::io::detail
