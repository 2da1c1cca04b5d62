// Bf16-weight GEMM for a Linear layer at inference:
//   Y[M, N] = act(X[M, K] W[N, K]^T + bias[N])
// with W rounded once to bfloat16 (round to nearest even, as PyTorch's .to(torch.bfloat16)), X in
// float32, float accumulation, and the bias and activation applied as Y is written. Half the
// weight bytes of float32, and on CPUs with AVX-512 BF16 twice the multiply throughput.
// Kernels: a scalar reference (the definition: double sums of x * bf16(w)); AVX2 and AVX-512
// kernels that widen the bf16 weights to float as they load them (exact: a bfloat16 is the top
// half of a float) and use FMA; and two kernels that also round each row of X to bfloat16 on the
// way in, as PyTorch's bf16 matmuls do (a further relative error of at most 2^-8 per activation):
// AMX (tdpbf16ps, Sapphire Rapids on) and AVX-512 BF16 (vdpbf16ps). Chosen at run time from the CPU
// (cpu_features.h): AMX first, then the widening kernels. The vdpbf16ps kernel runs only when asked
// for by name: on Sapphire Rapids vdpbf16ps issues once per two cycles (16 multiply-adds a cycle
// against two FMAs' 32), and it took 1.2-1.6x the widening kernel's time. TZ_KERNELS=reference
// selects the scalar kernel. Not here: float
// GEMM (gemm.h), int8 (gemm_int8.h), the activations (fused.h); docs/02-kernels.md explains the
// layouts and the error bounds.
#pragma once

#include <cstdint>

#include "tensor/kernels/aligned_vector.h"
#include "tensor/kernels/fused.h"

namespace tz::kernels {

/// float -> bfloat16, round to nearest even (NaN -> 0x7FC0), as PyTorch's c10::BFloat16.
uint16_t float_to_bf16(float x);
/// bfloat16 -> float, exact.
float bf16_to_float(uint16_t b);

/// The bf16 kernels, from the definition to the widest.
enum class Bf16Kernel { Reference, Avx2, Avx512, Avx512Bf16, Amx };

/// "reference", "avx2", "avx512", "avx512-bf16", "amx".
const char* bf16_kernel_name(Bf16Kernel kernel);
/// Whether this CPU can run the kernel (Reference: always).
bool bf16_kernel_available(Bf16Kernel kernel);
/// The kernel linear_bf16 runs: Amx where the CPU has it, else Avx512, else Avx2, else Reference
/// (also under TZ_KERNELS=reference). Avx512Bf16 runs only when passed by name.
Bf16Kernel bf16_kernel();

/// A weight W [N, K] in bfloat16, packed for the kernels. Packed layout: blocks of 16 output rows
/// (the last padded with zero rows); block b holds, for each pair p of columns (K padded with zero
/// columns to a multiple of 32), 32 values (64 bytes)
///   packed[(b * pairs() + p) * 32 + 2 j + i] = bf16(W[16 b + j][2 p + i]),   j < 16, i < 2,
/// the operand vdpbf16ps takes for 16 outputs and 2 columns of K; 16 consecutive pairs are an AMX
/// B tile. The FMA kernels read the same bytes: the low halves of the 32-bit lanes are column 2p,
/// the high halves column 2p + 1. A pure
/// function of the bf16 values, so packing is reproducible from the plain row-major form the
/// model directory stores (pack_bf16_weight / unpack_bf16_weight).
struct Bf16Weight {
  int64_t N = 0, K = 0;
  AlignedVector<uint16_t> packed;  // blocks() * pairs() * 32 values

  int64_t pairs() const { return (K + 31) / 32 * 16; }
  int64_t blocks() const { return (N + 15) / 16; }
  /// bf16(W[n, k])
  uint16_t at(int64_t n, int64_t k) const;
};

/// Rounds W [N, K] to bfloat16, element (n, k) at W[n * stride_n + k * stride_k] (a Linear weight
/// [out, in]: strides (K, 1); group g of a GroupedLinear weight [G, in/G, out/G]: W + g (in/G)(out/G),
/// N = out/G, K = in/G, strides (1, out/G)).
Bf16Weight convert_bf16_weight(int64_t N, int64_t K, const float* W, int64_t stride_n, int64_t stride_k);

/// Packs bfloat16 values w [N, K] row-major with leading dim ldw (as stored on disk).
Bf16Weight pack_bf16_weight(int64_t N, int64_t K, const uint16_t* w, int64_t ldw);

/// The inverse: w [N, K] (leading dim ldw), ready to be saved.
void unpack_bf16_weight(const Bf16Weight& w, uint16_t* out, int64_t ldw);

/// Y[m, n] = act(sum_k X[m, k] bf16(W[n, k]) + bias[n]) for all M rows of X [M, w.K] (leading dim
/// ldx) and the columns n0 <= n < n1 only (n1 < 0: N). Y and bias are indexed by absolute column:
/// Y[m * ldy + n], bias[n] (bias may be null). Single-threaded; callers split rows or columns between
/// threads (the AMX and AVX-512 BF16 kernels then convert the rows they are given, per call, into
/// per-thread scratch). Every element is the same whichever split computed it.
void linear_bf16(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias, FusedAct act,
                 float* Y, int64_t ldy, int64_t n0 = 0, int64_t n1 = -1);
void linear_bf16(Bf16Kernel kernel, int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias,
                 FusedAct act, float* Y, int64_t ldy, int64_t n0 = 0, int64_t n1 = -1);

/// linear_bf16 for all columns over our thread pool: bands of rows, or of columns when Y is
/// short. Runs on the calling thread alone for small products and inside a parallel_for chunk.
void linear_bf16_parallel(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias,
                          FusedAct act, float* Y, int64_t ldy);

}  // namespace tz::kernels
