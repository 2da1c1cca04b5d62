// MappedFile: mmap of a whole file; see mapped_file.h.
// The mapping is MAP_PRIVATE with write permission: the file is never modified, and a careless
// in-place write into a loaded tensor lands in a private copy-on-write page instead of crashing.
// (Storages over the mapping are still marked non-writable so that code can tell.)
// A file truncated by another process while mapped raises SIGBUS on access; that is inherent to
// mmap and the reason load_*_from_memory exists.
#include "tensor/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace tz::io::detail {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TZ_CHECK(fd >= 0, what, ": cannot open '", path, "': ", std::strerror(errno));
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  if (!stat_ok || !S_ISREG(st.st_mode)) {
    int err = stat_ok ? 0 : errno;
    ::close(fd);
    TZ_CHECK(false, what, ": cannot open '", path, "': ", err ? std::strerror(err) : "not a regular file");
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    TZ_CHECK(p != MAP_FAILED, what, ": cannot map '", path, "' (", file->size_, " bytes): ", std::strerror(err));
    file->data_ = static_cast<uint8_t*>(p);
  } else {
    ::close(fd);
  }
  return file;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

}  // namespace tz::io::detail
