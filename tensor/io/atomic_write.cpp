// write_atomically; see atomic_write.h.
#include "tensor/io/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace tz::io::detail {

namespace {

// Removes the temporary file unless the write completed and it was renamed.
struct TempFile {
  std::string path;
  int fd = -1;
  bool keep = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!keep) ::unlink(path.c_str());
  }
};

}  // namespace

void write_atomically(const std::string& path, const char* what, const std::function<void(const ByteSink&)>& produce) {
  static std::atomic<unsigned> counter{0};
  TempFile tmp;
  tmp.path = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  TZ_CHECK(tmp.fd >= 0, what, ": cannot create '", tmp.path, "': ", std::strerror(errno));
  produce([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    while (n > 0) {
      ssize_t w = ::write(tmp.fd, b, n);
      if (w < 0 && errno == EINTR) continue;
      TZ_CHECK(w > 0, what, ": cannot write '", tmp.path, "': ", std::strerror(errno));
      b += w;
      n -= static_cast<size_t>(w);
    }
  });
  // fsync before rename: otherwise a crash can leave `path` pointing at an empty file.
  TZ_CHECK(::fsync(tmp.fd) == 0, what, ": cannot flush '", tmp.path, "': ", std::strerror(errno));
  const int fd = tmp.fd;
  tmp.fd = -1;
  TZ_CHECK(::close(fd) == 0, what, ": cannot close '", tmp.path, "': ", std::strerror(errno));
  TZ_CHECK(::rename(tmp.path.c_str(), path.c_str()) == 0, what, ": cannot rename '", tmp.path, "' to '", path,
           "': ", std::strerror(errno));
  tmp.keep = true;
}

}  // namespace tz::io::detail
