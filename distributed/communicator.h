// Data-parallel training over MPI: the process group, collective operations on float buffers,
// and the bucketed all-reduce of gradients that makes N processes take the step one would.
//
// Layering: distributed/ sits on nn's level (it sees parameters and their gradients, nothing of
// models); the training loop (train/) calls it. When the library is built without MPI
// (TZ_MPI=OFF or no MPI found), every function works for a world of one process, so callers
// never need #ifdefs: rank() == 0, world_size() == 1, reductions are identities.
//
// A failed MPI call throws tz::Error naming the rank and the call; the library never ends the
// process. A program that catches such an error (or any other) on one rank of a multi-process job
// must stop every rank itself, or the others wait forever in their next collective: the
// `tensorzoo` command does this in its main().
//
//   tz::dist::init();                                  // once, before any other call
//   tz::dist::GradientReducer reducer(model.parameters());
//   ... loss.backward();  reducer.all_reduce();        // gradients now summed over ranks
//   tz::dist::finalize();
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tz::dist {

/// True when this build of the library can talk MPI.
bool mpi_available();
/// True when the process was started by mpirun/mpiexec (Open MPI, MPICH and PMIx set
/// environment variables we recognise), whether or not init() has been called.
bool launched_by_mpi();

/// Initialises MPI (thread level FUNNELED: only the calling thread talks MPI) when the process
/// was launched by mpirun or `force` is set; otherwise sets up a world of one. Idempotent.
/// Throws tz::Error when `force` is set but the build has no MPI.
void init(bool force = false);
/// Finalises MPI when init() started it. Idempotent; safe without init().
void finalize();
/// True between init() and finalize() when running with MPI (even a world of one under mpirun).
bool is_initialized();

int rank();
int world_size();
inline bool is_main_process() { return rank() == 0; }

/// Sums `data[0..n)` element-wise over all ranks, in place, the same result on every rank.
void all_reduce_sum(float* data, std::size_t n);
void all_reduce_sum(double* data, std::size_t n);
void all_reduce_sum(int64_t* data, std::size_t n);
double all_reduce_sum(double value);
int64_t all_reduce_sum(int64_t value);
/// The largest `value` over all ranks (used to agree on error flags and padded lengths).
int64_t all_reduce_max(int64_t value);
/// Copies rank `root`'s `data[0..n)` to every rank.
void broadcast(float* data, std::size_t n, int root = 0);
void broadcast(std::string& text, int root = 0);
void barrier();

/// Copies rank 0's values of `tensors` (float32) to every rank: start-of-training agreement.
void broadcast_tensors(const std::vector<Tensor>& tensors, int root = 0);

/// Sums the gradients of a fixed parameter list over all ranks. Gradients are packed into
/// contiguous buckets of about `bucket_bytes` (small tensors share one MPI call instead of each
/// paying the latency; big ones are split across calls), reduced in place, and unpacked. A
/// parameter that has no gradient on any rank keeps none; one that has a gradient on some ranks
/// only gets the sum with zeros for the others. `scale` multiplies the result (1/world for a mean).
class GradientReducer {
 public:
  explicit GradientReducer(std::vector<Tensor> params, std::size_t bucket_bytes = 4u << 20);
  void all_reduce(float scale = 1.0f);
  /// Bytes of gradient data one all_reduce() moves per rank (before MPI's own algorithm).
  std::size_t bytes_per_step() const;
  std::size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Slice { std::size_t param, param_offset, count; };
  std::vector<Tensor> params_;
  std::vector<std::vector<Slice>> buckets_;
  std::vector<float> buffer_;
};

}  // namespace tz::dist
