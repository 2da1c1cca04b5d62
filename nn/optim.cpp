// SGD and AdamW updates and their state save/load. Declarations: nn/optim.h.
//
// Numerics. torch 1.13 runs each optimizer as a chain of in-place tensor ops (non-foreach path),
// each rounding to float32; hyperparameter expressions (1 - lr*wd, lr / (1 - b1^t), ...) are
// Python doubles that the kernel casts to float. We keep that chain per element. ATen's
// `add_(x, alpha=a)` computes `self + a*x` with a fused multiply-add (vec::fmadd), so we use one
// exactly there (kernels::fma: rounded once on AVX2 and AVX-512 alike); every other step is a
// separately rounded operation, and this file is compiled without floating-point contraction (the
// pragma below, placed before any include so every function here carries it) so the compiler
// cannot fuse any other multiply-add pair.
// The update is written once as a template and run on xsimd batches plus a scalar tail.
#pragma GCC optimize("fp-contract=off")

#include "nn/optim.h"

#include <cmath>
#include <set>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "nn/layers.h"
#include "tensor/kernels/fma.h"
#include "tensor/kernels/xsimd.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"


namespace tz::optim {

namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per parallel chunk: big enough to amortise a task

std::string slot_key(size_t i, const char* slot) { return "state." + std::to_string(i) + "." + slot; }

// Reads a number from the scalars JSON with a clear error instead of nlohmann's generic one.
double json_number(const nlohmann::json& j, const char* key, const char* op) {
  TZ_CHECK(j.is_object() && j.contains(key) && j[key].is_number(), op, ": state scalars lack the number '",
           key, "'");
  return j[key].get<double>();
}

std::vector<double> json_numbers(const nlohmann::json& j, const char* key, size_t n, const char* op) {
  TZ_CHECK(j.is_object() && j.contains(key) && j[key].is_array() && j[key].size() == n, op,
           ": state scalars need '", key, "' as an array of ", n, " numbers (one per parameter)");
  std::vector<double> out;
  for (const auto& v : j[key]) {
    TZ_CHECK(v.is_number(), op, ": '", key, "' holds a non-number");
    out.push_back(v.get<double>());
  }
  return out;
}

void check_kind(const nlohmann::json& j, const char* kind, size_t num_params, const char* op) {
  TZ_CHECK(j.is_object() && j.contains("optimizer") && j["optimizer"].is_string() &&
               j["optimizer"].get<std::string>() == kind,
           op, ": state scalars are not from a ", kind, " optimizer");
  const double n = json_number(j, "num_params", op);
  TZ_CHECK(n == static_cast<double>(num_params), op, ": state is for ", n,
           " parameters, this optimizer has ", num_params);
}

// Finds `key` in the saved tensors and checks it fits parameter p; returns a private copy.
Tensor take_slot(const std::map<std::string, Tensor>& tensors, const std::string& key, const Tensor& p,
                 std::set<std::string>& used, const char* op) {
  auto it = tensors.find(key);
  TZ_CHECK(it != tensors.end(), op, ": state tensor '", key, "' is missing");
  const Tensor& t = it->second;
  TZ_CHECK(t.defined() && t.dtype() == DType::Float32 && t.shape() == p.shape(), op, ": state tensor '",
           key, "' is ", t.defined() ? shape_str(t.shape()) : "undefined", " ",
           t.defined() ? dtype_name(t.dtype()) : "", ", expected float32 ", shape_str(p.shape()));
  used.insert(key);
  return raw::clone(t);
}

void check_no_extra(const std::map<std::string, Tensor>& tensors, const std::set<std::string>& used,
                    const char* op) {
  for (const auto& [key, t] : tensors)
    TZ_CHECK(used.count(key), op, ": unexpected state tensor '", key, "'");
}

// ---- the update kernels ----
// Each line is one torch op of the non-foreach path (named on the right), rounded to float32.
// T is float or xsimd::batch<float>; both paths run the same expressions.

using Batch = xsimd::batch<float>;

// Runs update(T&...) over [0, n): full batches, then the scalar tail.
template <class Update>
void for_each_element(int64_t n, float* const* rw, int n_rw, const float* ro, Update update) {
  constexpr int64_t W = static_cast<int64_t>(Batch::size);
  int64_t k = 0;
  for (; k + W <= n; k += W) {
    Batch x[3] = {Batch(0.f), Batch(0.f), Batch(0.f)};  // slots beyond n_rw stay unused
    for (int j = 0; j < n_rw; ++j) x[j] = Batch::load_unaligned(rw[j] + k);
    update(Batch::load_unaligned(ro + k), x);
    for (int j = 0; j < n_rw; ++j) x[j].store_unaligned(rw[j] + k);
  }
  for (; k < n; ++k) {
    float x[3] = {0.f, 0.f, 0.f};
    for (int j = 0; j < n_rw; ++j) x[j] = rw[j][k];
    update(ro[k], x);
    for (int j = 0; j < n_rw; ++j) rw[j][k] = x[j];
  }
}

struct SGDScalars {
  float wd, momentum, one_minus_dampening, neg_lr;
  bool decay, use_momentum, first_step, nesterov;
};

// p = x[0], buf = x[1] (with momentum)
template <class T>
void sgd_update(const T& g, T* x, const SGDScalars& s) {
  T& p = x[0];
  T d = g;
  if (s.decay) d = kernels::fma(p, T(s.wd), d);  // d_p = d_p.add(param, alpha=wd)
  if (s.use_momentum) {
    T& buf = x[1];
    if (s.first_step)
      buf = d;  // buf = clone(d_p)
    else
      buf = kernels::fma(d, T(s.one_minus_dampening), buf * T(s.momentum));  // buf.mul_(mom).add_(d_p, alpha=1-damp)
    d = s.nesterov ? kernels::fma(buf, T(s.momentum), d) : buf;  // d_p.add(buf, alpha=mom) or buf
  }
  p = kernels::fma(d, T(s.neg_lr), p);  // param.add_(d_p, alpha=-lr)
}

struct AdamWScalars {
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size;
};

// p = x[0], m = x[1] (exp_avg), v = x[2] (exp_avg_sq)
template <class T>
void adamw_update(const T& g, T* x, const AdamWScalars& s) {
  T& p = x[0];
  T& m = x[1];
  T& v = x[2];
  p = p * T(s.decay);                                                 // param.mul_(1 - lr*wd)
  m = kernels::fma(g, T(s.one_minus_beta1), m * T(s.beta1));            // exp_avg.mul_(b1).add_(g, alpha=1-b1)
  v = v * T(s.beta2) + (T(s.one_minus_beta2) * g) * g;                // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
  const T denom = xsimd::sqrt(v) / T(s.bias_correction2_sqrt) + T(s.eps);  // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
  p = p + (T(s.neg_step_size) * m) / denom;                           // param.addcdiv_(exp_avg, denom, value=-step_size)
}

}  // namespace

// ---- Optimizer -----------------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<ParamGroup> groups, double lr, const char* name) : lr_(lr), name_(name) {
  TZ_CHECK(lr >= 0 && std::isfinite(lr), name, ": learning rate must be finite and >= 0, got ", lr);
  std::unordered_set<const TensorImpl*> seen;
  for (auto& g : groups) {
    TZ_CHECK(g.weight_decay >= 0, name, ": weight_decay must be >= 0, got ", g.weight_decay);
    for (auto& p : g.params) {
      const size_t i = params_.size();
      TZ_CHECK(p.defined(), name, ": parameter ", i, " is undefined");
      TZ_CHECK(p.dtype() == DType::Float32 && p.is_contiguous(), name, ": parameter ", i,
               " must be a contiguous float32 tensor, got ", dtype_name(p.dtype()), " ", shape_str(p.shape()),
               p.is_contiguous() ? "" : " (strided view)");
      TZ_CHECK(p.is_leaf(), name, ": parameter ", i, " is not a leaf tensor");
      TZ_CHECK(seen.insert(p.impl_ptr()).second, name, ": parameter ", i,
               " appears twice (tied weights are passed once)");
      params_.push_back(p);
      weight_decay_.push_back(g.weight_decay);
    }
  }
}

void Optimizer::set_lr(double lr) {
  TZ_CHECK(lr >= 0 && std::isfinite(lr), name_, ": learning rate must be finite and >= 0, got ", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (const Tensor& p : params_)
    if (p.grad().defined()) p.set_grad(Tensor());
}

Tensor Optimizer::grad_for_step(size_t i) const {
  Tensor g = params_[i].grad();
  if (!g.defined()) return g;
  TZ_CHECK(g.dtype() == DType::Float32 && g.shape() == params_[i].shape(), name_, ": gradient of parameter ",
           i, " is ", dtype_name(g.dtype()), " ", shape_str(g.shape()), ", expected float32 ",
           shape_str(params_[i].shape()));
  return raw::contiguous(g);
}

std::vector<ParamGroup> param_groups_like_hf(const nn::Module& model, double weight_decay) {
  std::unordered_set<const TensorImpl*> in_layer_norm;
  for (const auto& [name, m] : model.named_modules())
    if (dynamic_cast<const nn::LayerNorm*>(m.get()))
      for (const Tensor& p : m->parameters()) in_layer_norm.insert(p.impl_ptr());
  ParamGroup decay{{}, weight_decay}, no_decay{{}, 0.0};
  for (const auto& [name, p] : model.named_parameters()) {
    const bool exempt = in_layer_norm.count(p.impl_ptr()) || name.find("bias") != std::string::npos;
    (exempt ? no_decay : decay).params.push_back(p);
  }
  return {decay, no_decay};
}

// ---- SGD -----------------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, SGDOptions o) : SGD(std::vector<ParamGroup>{{std::move(params), o.weight_decay}}, o) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions o) : Optimizer(std::move(groups), o.lr, "SGD"), o_(o) {
  TZ_CHECK(o.momentum >= 0, "SGD: momentum must be >= 0, got ", o.momentum);
  TZ_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
           "SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum ", o.momentum,
           " and dampening ", o.dampening);
  momentum_buffer_.resize(params_.size());
}

void SGD::step() {
  NoGradGuard no_grad;
  const double momentum = o_.momentum;
  const float lr_neg = static_cast<float>(-lr_);
  const float mom = static_cast<float>(momentum);
  const float one_minus_damp = static_cast<float>(1.0 - o_.dampening);
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor grad = grad_for_step(i);
    if (!grad.defined()) continue;
    const double wd = weight_decay_[i];
    const float wdf = static_cast<float>(wd);
    const bool first = momentum != 0 && !momentum_buffer_[i].defined();
    if (first) momentum_buffer_[i] = Tensor::empty(params_[i].shape());
    SGDScalars sc{wdf, mom, one_minus_damp, lr_neg, wd != 0, momentum != 0, first, o_.nesterov};
    float* p = params_[i].data<float>();
    const float* g = grad.data<float>();
    float* buf = momentum != 0 ? momentum_buffer_[i].data<float>() : nullptr;
    parallel_for(0, params_[i].numel(), kGrain, [&](int64_t begin, int64_t end) {
      float* rw[2] = {p + begin, buf ? buf + begin : nullptr};
      for_each_element(end - begin, rw, buf ? 2 : 1, g + begin,
                       [&](const auto& gk, auto* x) { sgd_update(gk, x, sc); });
    });
  }
}

nn::NamedTensors SGD::state_tensors() const {
  nn::NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i)
    if (momentum_buffer_[i].defined()) out.emplace_back(slot_key(i, "momentum_buffer"), momentum_buffer_[i]);
  return out;
}

nlohmann::json SGD::state_scalars() const {
  return {{"optimizer", "SGD"}, {"num_params", params_.size()}, {"lr", lr_}, {"momentum", o_.momentum},
          {"dampening", o_.dampening}, {"nesterov", o_.nesterov}, {"weight_decay", weight_decay_}};
}

void SGD::load_state(const std::map<std::string, Tensor>& tensors, const nlohmann::json& j) {
  const char* op = "SGD::load_state";
  check_kind(j, "SGD", params_.size(), op);
  SGDOptions o = o_;
  o.lr = json_number(j, "lr", op);
  o.momentum = json_number(j, "momentum", op);
  o.dampening = json_number(j, "dampening", op);
  TZ_CHECK(j.contains("nesterov") && j["nesterov"].is_boolean(), op, ": state scalars lack 'nesterov'");
  o.nesterov = j["nesterov"].get<bool>();
  std::vector<double> wd = json_numbers(j, "weight_decay", params_.size(), op);
  std::set<std::string> used;
  std::vector<Tensor> bufs(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string key = slot_key(i, "momentum_buffer");
    if (tensors.count(key)) bufs[i] = take_slot(tensors, key, params_[i], used, op);
  }
  check_no_extra(tensors, used, op);
  TZ_CHECK(o.lr >= 0 && std::isfinite(o.lr), op, ": bad learning rate ", o.lr);
  o_ = o;
  lr_ = o.lr;
  weight_decay_ = std::move(wd);
  momentum_buffer_ = std::move(bufs);
}

// ---- AdamW ---------------------------------------------------------------------------------------

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions o)
    : AdamW(std::vector<ParamGroup>{{std::move(params), o.weight_decay}}, o) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions o) : Optimizer(std::move(groups), o.lr, "AdamW"), o_(o) {
  TZ_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "AdamW: betas must be in [0, 1), got ",
           o.beta1, " and ", o.beta2);
  TZ_CHECK(o.eps >= 0, "AdamW: eps must be >= 0, got ", o.eps);
  step_.assign(params_.size(), 0);
  exp_avg_.resize(params_.size());
  exp_avg_sq_.resize(params_.size());
}

void AdamW::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor grad = grad_for_step(i);
    if (!grad.defined()) continue;
    if (!exp_avg_[i].defined()) {
      exp_avg_[i] = raw::zeros(params_[i].shape());
      exp_avg_sq_[i] = raw::zeros(params_[i].shape());
    }
    const double t = static_cast<double>(++step_[i]);
    // Python-side scalars, in double, as torch computes them.
    const double bias_correction1 = 1.0 - std::pow(o_.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(o_.beta2, t);
    const double step_size = lr_ / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    // ...and the float32 values the kernels see.
    const float decay = static_cast<float>(1.0 - lr_ * weight_decay_[i]);
    const float b1 = static_cast<float>(o_.beta1), one_minus_b1 = static_cast<float>(1.0 - o_.beta1);
    const float b2 = static_cast<float>(o_.beta2), one_minus_b2 = static_cast<float>(1.0 - o_.beta2);
    const float bc2_sqrt = static_cast<float>(bias_correction2_sqrt);
    const float eps = static_cast<float>(o_.eps);
    const float neg_step_size = static_cast<float>(-step_size);

    AdamWScalars sc{decay, b1, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, neg_step_size};
    float* p = params_[i].data<float>();
    const float* g = grad.data<float>();
    float* m = exp_avg_[i].data<float>();
    float* v = exp_avg_sq_[i].data<float>();
    parallel_for(0, params_[i].numel(), kGrain, [&](int64_t begin, int64_t end) {
      float* rw[3] = {p + begin, m + begin, v + begin};
      for_each_element(end - begin, rw, 3, g + begin, [&](const auto& gk, auto* x) { adamw_update(gk, x, sc); });
    });
  }
}

nn::NamedTensors AdamW::state_tensors() const {
  nn::NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!exp_avg_[i].defined()) continue;
    out.emplace_back(slot_key(i, "exp_avg"), exp_avg_[i]);
    out.emplace_back(slot_key(i, "exp_avg_sq"), exp_avg_sq_[i]);
  }
  return out;
}

nlohmann::json AdamW::state_scalars() const {
  return {{"optimizer", "AdamW"}, {"num_params", params_.size()}, {"lr", lr_},
          {"beta1", o_.beta1},     {"beta2", o_.beta2},             {"eps", o_.eps},
          {"weight_decay", weight_decay_}, {"step", step_}};
}

void AdamW::load_state(const std::map<std::string, Tensor>& tensors, const nlohmann::json& j) {
  const char* op = "AdamW::load_state";
  check_kind(j, "AdamW", params_.size(), op);
  AdamWOptions o = o_;
  o.lr = json_number(j, "lr", op);
  o.beta1 = json_number(j, "beta1", op);
  o.beta2 = json_number(j, "beta2", op);
  o.eps = json_number(j, "eps", op);
  TZ_CHECK(o.lr >= 0 && std::isfinite(o.lr) && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 &&
               o.eps >= 0,
           op, ": hyperparameters out of range (lr ", o.lr, ", betas ", o.beta1, ", ", o.beta2, ", eps ", o.eps, ")");
  std::vector<double> wd = json_numbers(j, "weight_decay", params_.size(), op);
  std::vector<double> steps_d = json_numbers(j, "step", params_.size(), op);
  std::vector<int64_t> steps;
  std::set<std::string> used;
  std::vector<Tensor> m(params_.size()), v(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const double s = steps_d[i];
    TZ_CHECK(s >= 0 && s < 9.0e15 && s == std::floor(s), op, ": step of parameter ", i,
             " must be a non-negative integer, got ", s);
    steps.push_back(static_cast<int64_t>(s));
    if (steps.back() == 0) continue;  // never stepped: no moments were saved
    m[i] = take_slot(tensors, slot_key(i, "exp_avg"), params_[i], used, op);
    v[i] = take_slot(tensors, slot_key(i, "exp_avg_sq"), params_[i], used, op);
  }
  check_no_extra(tensors, used, op);
  o_ = o;
  lr_ = o.lr;
  weight_decay_ = std::move(wd);
  step_ = std::move(steps);
  exp_avg_ = std::move(m);
  exp_avg_sq_ = std::move(v);
}

}  // namespace tz::optim
