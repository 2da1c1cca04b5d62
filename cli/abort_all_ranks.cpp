// MPI_Abort for the `tensorzoo` command; see abort_all_ranks.h.
#include "cli/abort_all_ranks.h"

#include <cstdlib>
#include <iostream>

#include "distributed/communicator.h"

#if TZ_HAVE_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace tz::cli {

void abort_all_ranks(const std::string& message, int code) {
  std::cerr << "error: rank " << dist::rank() << "/" << dist::world_size() << ": " << message << std::endl;
#if TZ_HAVE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

}  // namespace tz::cli
