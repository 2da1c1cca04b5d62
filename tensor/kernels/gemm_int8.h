// Int8 GEMM with dynamic quantization, for a Linear layer at inference:
//   Y[M, N] = act(X[M, K] W[N, K]^T + bias[N])
// with W quantized once (int8, symmetric, one scale per output row), X quantized on every call
// (uint8, asymmetric, one scale and zero point per row), the products summed exactly in int32,
// and the dequantization, bias and activation applied as Y is written.
// Kernels: a scalar reference (the definition and the test oracle) and x86 kernels for AMX,
// AVX-512 VNNI, AVX-VNNI and AVX2, compiled with function-level target attributes and chosen at
// run time from the CPU (cpu_features.h), so a portable build uses them too. All of them compute
// the same int32 sums bit for bit. Not here: float GEMM (gemm.h), bf16 weights (gemm_bf16.h), the
// activation functions (fused.h); the scheme is explained in docs/02-kernels.md.
//
// The scheme (all roundings to nearest, ties to even):
//   weights      s_w[n] = max_k |W[n,k]| / 127,   q_w[n,k] = round(W[n,k] / s_w[n])  in [-127, 127]
//   activations  lo = min(0, min_k X[m,k]), hi = max(0, max_k X[m,k]),
//                s_x[m] = (hi - lo) / 255,  z[m] = round(-lo / s_x[m])  in [0, 255],
//                q_x[m,k] = clamp(round(X[m,k] / s_x[m]) + z[m], 0, 255)
//   product      D[m,n] = sum_k (q_x[m,k] - z[m]) q_w[n,k]          (exact in int32: K <= 65536)
//   output       Y[m,n] = act(fma(float(D[m,n]), s_w[n] * s_x[m], bias[n]))
// Asymmetric uint8 activations give one-sided inputs (after GELU) the full 256 levels, as ONNX
// Runtime's and PyTorch's dynamic quantization do. Weights stay within [-127, 127] (never -128):
// that is what lets the AVX2 kernel's vpmaddubsw run on q_x - 128 without ever saturating.
#pragma once

#include <cstdint>

#include "tensor/kernels/aligned_vector.h"
#include "tensor/kernels/fused.h"

namespace tz::kernels {

/// The int8 kernels, from the definition to the widest.
enum class Int8Kernel { Reference, Avx2, AvxVnni, Avx512Vnni, Amx };

/// "reference", "avx2", "avx-vnni", "avx512-vnni", "amx".
const char* int8_kernel_name(Int8Kernel kernel);
/// Whether this CPU can run the kernel (Reference: always).
bool int8_kernel_available(Int8Kernel kernel);
/// The kernel gemm_int8 runs: the widest available one, or Reference under TZ_KERNELS=reference
/// (kernel_mode.h).
Int8Kernel int8_kernel();

/// A weight W [N, K] quantized as above and packed for the kernels. Packed layout: blocks of 16
/// output rows (the last padded with zero rows); block b holds, for each group g of 4 columns
/// (K padded with zero columns to a multiple of 64), 64 bytes
///   packed[(b * groups() + g) * 64 + 4 j + i] = q_w[16 b + j][4 g + i],   j < 16, i < 4,
/// the operand vpdpbusd takes for 16 outputs and 4 columns of K, so the kernels read each block
/// as one stream; 16 consecutive groups are one AMX B tile. Everything is a pure function of q_w
/// and s_w, so packing is reproducible from the plain row-major form that the model directory
/// stores (pack_int8_weight / unpack_int8_weight).
struct Int8Weight {
  int64_t N = 0, K = 0;
  AlignedVector<int8_t> packed;  // blocks() * groups() * 64 bytes
  AlignedVector<float> scale;    // s_w, [blocks() * 16], 0 past N
  AlignedVector<int32_t> row_sum;  // sum_k q_w[n, k], [blocks() * 16], 0 past N

  int64_t groups() const { return (K + 63) / 64 * 16; }
  int64_t blocks() const { return (N + 15) / 16; }
  /// q_w[n, k]
  int8_t at(int64_t n, int64_t k) const;
};

/// Quantizes W [N, K], element (n, k) at W[n * stride_n + k * stride_k]: a Linear weight [out, in]
/// is (stride_n, stride_k) = (K, 1); group g of a GroupedLinear weight [G, in/G, out/G] is the
/// product X[:, g in/G ...] Wg with Wg at W + g (in/G)(out/G), so N = out/G, K = in/G and strides
/// (1, out/G). Throws tz::Error for K > 65536 or a weight that is not finite.
Int8Weight quantize_int8_weight(int64_t N, int64_t K, const float* W, int64_t stride_n, int64_t stride_k);

/// Packs an already quantized weight: q [N, K] row-major with leading dim ldq, scale [N] (as
/// stored on disk: I8 values and F32 per-row scales). Throws tz::Error for -128 (outside the
/// symmetric range), a scale that is negative or not finite, or K > 65536.
Int8Weight pack_int8_weight(int64_t N, int64_t K, const int8_t* q, int64_t ldq, const float* scale);

/// The inverse: q [N, K] (leading dim ldq) and scale [N], ready to be saved.
void unpack_int8_weight(const Int8Weight& w, int8_t* q, int64_t ldq, float* scale);

/// Bytes per quantized activation row: K rounded up to a multiple of 64 (the AMX kernel reads 64
/// at a time, the others 4).
inline int64_t int8_row_bytes(int64_t K) { return (K + 63) / 64 * 64; }

/// Quantizes X [M, K] (leading dim ldx) row by row: q [M, ldq] with ldq >= int8_row_bytes(K) (the
/// padding bytes are written as 0), scale [M] = s_x, zero [M] = z. Rows whose range is below 1e-30
/// (all zeros) get s_x = 1, z = 0. NaN inputs are quantized as 0 (q = 0). Runs with the widest
/// instruction set available; every variant gives the same bytes.
void quantize_int8_rows(int64_t M, int64_t K, const float* X, int64_t ldx, uint8_t* q, int64_t ldq, float* scale,
                        int32_t* zero);
void quantize_int8_rows(Int8Kernel kernel, int64_t M, int64_t K, const float* X, int64_t ldx, uint8_t* q, int64_t ldq,
                        float* scale, int32_t* zero);

/// Quantized activations, as quantize_int8_rows wrote them: M rows of the weight's K columns.
struct Int8Rows {
  int64_t M = 0;
  const uint8_t* q = nullptr;
  int64_t ldq = 0;
  const float* scale = nullptr;
  const int32_t* zero = nullptr;
};

/// Y[m, n] = act(fma(float(D[m, n]), s_w[n] s_x[m], bias[n])) for all M rows and the columns
/// n0 <= n < n1 only (0 <= n0 <= n1 <= N). Y and bias are indexed by absolute column: Y[m * ldy + n],
/// bias[n] (bias may be null: 0). Single-threaded; callers split rows (a row band is x with q,
/// scale and zero advanced) or columns (n0, n1; any split is fine, multiples of 64 waste nothing)
/// between threads, and every element comes out the same whichever split ran it.
void gemm_int8(const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias, FusedAct act,
               float* Y, int64_t ldy);
void gemm_int8(Int8Kernel kernel, const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias,
               FusedAct act, float* Y, int64_t ldy);

/// The integer sums alone: D[m * ldd + n] = D[m, n] for n0 <= n < n1 (for tests and inspection).
void gemm_int8_sums(Int8Kernel kernel, const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, int32_t* D,
                    int64_t ldd);

/// quantize_int8_rows into per-thread scratch, then gemm_int8 on columns [n0, n1) (n1 < 0: N).
/// X [M, w.K] with leading dim ldx. Single-threaded.
void linear_int8(int64_t M, const float* X, int64_t ldx, const Int8Weight& w, const float* bias, FusedAct act, float* Y,
                 int64_t ldy, int64_t n0 = 0, int64_t n1 = -1);

/// linear_int8 for all columns over our thread pool (tensor/parallel.h): the rows are quantized in
/// parallel, then the product is split into bands of rows, or of columns when Y is short. Runs
/// on the calling thread alone for small products and inside a parallel_for chunk.
void linear_int8_parallel(int64_t M, const float* X, int64_t ldx, const Int8Weight& w, const float* bias,
                          FusedAct act, float* Y, int64_t ldy);

}  // namespace tz::kernels
