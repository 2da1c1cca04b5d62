// In-place initialisers and HF's _init_weights walk. Declarations: nn/init.h.
// Every fill draws a fresh contiguous tensor with the tz::raw creators and copies it in, so
// strided views get the same values (in logical row-major order) as contiguous tensors.
#include "nn/init.h"

#include "autograd/grad_mode.h"
#include "nn/layers.h"
#include "tensor/ops.h"

namespace tz::nn {

namespace {
void check_float(const Tensor& t, const char* op) {
  TZ_CHECK(t.defined(), op, ": undefined tensor");
  TZ_CHECK(t.dtype() == DType::Float32, op, ": expects a float32 tensor, got ", dtype_name(t.dtype()));
}
}  // namespace

void init_normal_(const Tensor& t, double std, Generator& gen) {
  check_float(t, "init_normal_");
  TZ_CHECK(std >= 0, "init_normal_: std must be >= 0, got ", std);
  NoGradGuard no_grad;
  raw::normal_(t, gen, 0.f, static_cast<float>(std));
}

void init_uniform_(const Tensor& t, double low, double high, Generator& gen) {
  check_float(t, "init_uniform_");
  TZ_CHECK(low <= high, "init_uniform_: low ", low, " exceeds high ", high);
  NoGradGuard no_grad;
  raw::uniform_(t, gen, static_cast<float>(low), static_cast<float>(high));
}

void init_constant_(const Tensor& t, double value) {
  TZ_CHECK(t.defined(), "init_constant_: undefined tensor");
  NoGradGuard no_grad;
  raw::fill_(t, value);
}

void init_zeros_(const Tensor& t) { init_constant_(t, 0.0); }
void init_ones_(const Tensor& t) { init_constant_(t, 1.0); }

void init_zero_row_(const Tensor& t, int64_t row) {
  TZ_CHECK(t.defined() && t.dim() == 2, "init_zero_row_: expects a 2-D tensor");
  TZ_CHECK(row >= 0 && row < t.size(0), "init_zero_row_: row ", row, " out of range [0, ", t.size(0), ")");
  NoGradGuard no_grad;
  raw::fill_(raw::select(t, 0, row), 0.0);
}

namespace {
void init_one_hf(Module& m, double range, Generator& gen) {
  if (auto* lin = dynamic_cast<Linear*>(&m)) {
    init_normal_(lin->weight, range, gen);
    if (lin->bias.defined()) init_zeros_(lin->bias);
  } else if (auto* emb = dynamic_cast<Embedding*>(&m)) {
    init_normal_(emb->weight, range, gen);
    if (emb->padding_idx >= 0) init_zero_row_(emb->weight, emb->padding_idx);
  } else if (auto* ln = dynamic_cast<LayerNorm*>(&m)) {
    init_ones_(ln->weight);
    init_zeros_(ln->bias);
  }
}

// torch's Module.apply order: children first (in registration order), then the module itself.
void apply_post_order(Module& m, const std::string& path, double range, Generator& gen,
                      const std::function<bool(const std::string&)>* select) {
  for (const auto& [name, child] : m.named_children())
    apply_post_order(*child, path.empty() ? name : path + "." + name, range, gen, select);
  if (!select || (*select)(path)) init_one_hf(m, range, gen);
}

thread_local bool t_skip_init = false;
}  // namespace

SkipInitGuard::SkipInitGuard() : previous_(t_skip_init) { t_skip_init = true; }
SkipInitGuard::~SkipInitGuard() { t_skip_init = previous_; }
bool init_skipped() { return t_skip_init; }

void init_weights_like_hf(Module& root, double initializer_range, Generator& gen) {
  TZ_CHECK(initializer_range >= 0, "init_weights_like_hf: initializer_range must be >= 0, got ",
           initializer_range);
  apply_post_order(root, "", initializer_range, gen, nullptr);
}

void init_weights_like_hf(Module& root, double initializer_range, Generator& gen,
                          const std::function<bool(const std::string&)>& select) {
  TZ_CHECK(initializer_range >= 0, "init_weights_like_hf: initializer_range must be >= 0, got ",
           initializer_range);
  apply_post_order(root, "", initializer_range, gen, &select);
}

}  // namespace tz::nn
