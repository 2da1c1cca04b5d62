// Ending a multi-process (mpirun) job from the `tensorzoo` command when one rank fails. This is a
// program's decision, so it lives here and not in the library: distributed/ only throws.
// Used by main.cpp; the collectives are in distributed/communicator.h.
#pragma once

#include <string>

namespace tz::cli {

/// Prints "error: rank R/N: message" to stderr and stops every rank of the MPI job
/// (MPI_Abort), so the others never wait forever in a collective. Without a running MPI job it
/// prints the same line and exits the process with `code`.
[[noreturn]] void abort_all_ranks(const std::string& message, int code = 1);

}  // namespace tz::cli
