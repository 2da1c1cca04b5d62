// The MPI calls behind distributed/communicator.h, and the world-of-one fallback when the
// library is built without MPI (TZ_HAVE_MPI undefined). See the header for the contract.
// MPI errors come back as return codes (MPI_ERRORS_RETURN) and are thrown as tz::Error: ending
// the job is the program's decision (cli/main.cpp), never the library's.
#include "distributed/communicator.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/error.h"
#include "tensor/ops.h"

#if TZ_HAVE_MPI
// The C API only: Open MPI's (deprecated) C++ bindings would need libmpi_cxx at link time.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace tz::dist {
namespace {

struct World {
  bool initialized = false;  // init() ran
  bool started_mpi = false;  // we called MPI_Init_thread (and so must finalize)
  int rank = 0;
  int size = 1;
};

World& world() {
  static World w;
  return w;
}

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

#if TZ_HAVE_MPI
void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  throw Error(detail::concat("distributed: rank ", world().rank, "/", world().size, ": ", what, " failed: ",
                             len > 0 ? std::string(text, static_cast<std::size_t>(len)) : "error code " + std::to_string(rc)));
}

bool mpi_running() { return world().started_mpi; }

// MPI counts are int: reduce very large buffers in pieces.
template <class T>
void all_reduce_chunks(T* data, std::size_t n, MPI_Datatype type, MPI_Op op) {
  constexpr std::size_t kMax = std::size_t{1} << 30;
  for (std::size_t at = 0; at < n; at += kMax) {
    int count = static_cast<int>(std::min(kMax, n - at));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + at, count, type, op, MPI_COMM_WORLD), "MPI_Allreduce");
  }
}
#endif

}  // namespace

bool mpi_available() {
#if TZ_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool launched_by_mpi() {
  return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMI_SIZE") || env_set("PMIX_RANK") ||
         env_set("MPI_LOCALNRANKS");
}

void init(bool force) {
  World& w = world();
  if (w.initialized) return;
  bool want = force || launched_by_mpi();
#if TZ_HAVE_MPI
  if (want) {
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
      int provided = 0;
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      w.started_mpi = true;
    }
    // Without this, MPI's default handler (MPI_ERRORS_ARE_FATAL) ends the job inside the failing
    // call; with it, check_mpi turns the error into an exception the caller can handle.
    check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &w.rank), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &w.size), "MPI_Comm_size");
  }
#else
  TZ_CHECK(!force, "distributed: --distributed needs a build with MPI (install libopenmpi-dev and "
                   "reconfigure with -DTZ_MPI=ON); this build has none");
  if (want) {
    std::cerr << "warning: launched by mpirun, but this tensorzoo was built without MPI; every "
                 "process will run alone as rank 0 of 1\n";
  }
#endif
  w.initialized = true;
}

void finalize() {
  World& w = world();
#if TZ_HAVE_MPI
  if (w.started_mpi) {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }
#endif
  w = World{};
}

bool is_initialized() { return world().initialized && world().started_mpi; }
int rank() { return world().rank; }
int world_size() { return world().size; }

void all_reduce_sum(float* data, std::size_t n) {
#if TZ_HAVE_MPI
  if (mpi_running() && world().size > 1) all_reduce_chunks(data, n, MPI_FLOAT, MPI_SUM);
#else
  (void)data, (void)n;
#endif
}

void all_reduce_sum(double* data, std::size_t n) {
#if TZ_HAVE_MPI
  if (mpi_running() && world().size > 1) all_reduce_chunks(data, n, MPI_DOUBLE, MPI_SUM);
#else
  (void)data, (void)n;
#endif
}

void all_reduce_sum(int64_t* data, std::size_t n) {
#if TZ_HAVE_MPI
  if (mpi_running() && world().size > 1) all_reduce_chunks(data, n, MPI_INT64_T, MPI_SUM);
#else
  (void)data, (void)n;
#endif
}

double all_reduce_sum(double value) {
  all_reduce_sum(&value, 1);
  return value;
}

int64_t all_reduce_sum(int64_t value) {
  all_reduce_sum(&value, 1);
  return value;
}

int64_t all_reduce_max(int64_t value) {
#if TZ_HAVE_MPI
  if (mpi_running() && world().size > 1) all_reduce_chunks(&value, 1, MPI_INT64_T, MPI_MAX);
#endif
  return value;
}

void broadcast(float* data, std::size_t n, int root) {
#if TZ_HAVE_MPI
  if (!mpi_running() || world().size == 1) return;
  constexpr std::size_t kMax = std::size_t{1} << 30;
  for (std::size_t at = 0; at < n; at += kMax) {
    int count = static_cast<int>(std::min(kMax, n - at));
    check_mpi(MPI_Bcast(data + at, count, MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
#else
  (void)data, (void)n, (void)root;
#endif
}

void broadcast(std::string& text, int root) {
#if TZ_HAVE_MPI
  if (!mpi_running() || world().size == 1) return;
  int64_t size = static_cast<int64_t>(text.size());
  check_mpi(MPI_Bcast(&size, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  text.resize(static_cast<std::size_t>(size));
  if (size > 0) {
    check_mpi(MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
#else
  (void)text, (void)root;
#endif
}

void barrier() {
#if TZ_HAVE_MPI
  if (mpi_running() && world().size > 1) check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
}

void broadcast_tensors(const std::vector<Tensor>& tensors, int root) {
  for (const Tensor& t : tensors) {
    TZ_CHECK(t.dtype() == DType::Float32 && t.is_contiguous(),
             "broadcast_tensors: expected contiguous float32 tensors, got ", t.to_string(2));
    broadcast(t.data<float>(), static_cast<std::size_t>(t.numel()), root);
  }
}

GradientReducer::GradientReducer(std::vector<Tensor> params, std::size_t bucket_bytes)
    : params_(std::move(params)) {
  TZ_CHECK(bucket_bytes >= sizeof(float), "GradientReducer: bucket_bytes must be at least 4, got ", bucket_bytes);
  const std::size_t cap = bucket_bytes / sizeof(float);
  std::vector<Slice> current;
  std::size_t used = 0;
  for (std::size_t p = 0; p < params_.size(); ++p) {
    std::size_t n = static_cast<std::size_t>(params_[p].numel());
    std::size_t offset = 0;
    while (offset < n) {  // a tensor larger than the room left spills into the next bucket(s)
      std::size_t take = std::min(n - offset, cap - used);
      current.push_back(Slice{p, offset, take});
      offset += take;
      used += take;
      if (used == cap) {
        buckets_.push_back(std::move(current));
        current.clear();
        used = 0;
      }
    }
  }
  if (!current.empty()) buckets_.push_back(std::move(current));
  buffer_.resize(std::min(cap, [&] {
    std::size_t total = 0;
    for (const Tensor& t : params_) total += static_cast<std::size_t>(t.numel());
    return total;
  }()));
}

std::size_t GradientReducer::bytes_per_step() const {
  std::size_t total = 0;
  for (const Tensor& t : params_) total += static_cast<std::size_t>(t.numel());
  return total * sizeof(float);
}

void GradientReducer::all_reduce(float scale) {
  // Agree on which parameters have a gradient anywhere, so every rank packs the same layout.
  std::vector<int64_t> has(params_.size());
  for (std::size_t p = 0; p < params_.size(); ++p) has[p] = params_[p].grad().defined() ? 1 : 0;
  all_reduce_sum(has.data(), has.size());
  std::vector<Tensor> grads(params_.size());
  for (std::size_t p = 0; p < params_.size(); ++p) {
    if (has[p] == 0) continue;
    Tensor g = params_[p].grad();
    if (!g.defined()) {
      g = raw::zeros(params_[p].shape());
    } else if (!g.is_contiguous()) {
      g = raw::contiguous(g);
    }
    params_[p].set_grad(g);
    grads[p] = g;
  }
  for (const auto& bucket : buckets_) {
    std::size_t at = 0;
    for (const Slice& s : bucket) {
      if (has[s.param] == 0) continue;
      const float* src = grads[s.param].data<float>() + s.param_offset;
      std::copy(src, src + s.count, buffer_.data() + at);
      at += s.count;
    }
    if (at == 0) continue;
    all_reduce_sum(buffer_.data(), at);
    at = 0;
    for (const Slice& s : bucket) {
      if (has[s.param] == 0) continue;
      float* dst = grads[s.param].data<float>() + s.param_offset;
      const float* src = buffer_.data() + at;
      if (scale == 1.0f) {
        std::copy(src, src + s.count, dst);
      } else {
        for (std::size_t i = 0; i < s.count; ++i) dst[i] = src[i] * scale;
      }
      at += s.count;
    }
  }
}

}  // namespace tz::dist
