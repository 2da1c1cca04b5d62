// Grad mode: whether differentiable ops record graph nodes. Thread-local, on by default.
// NoGradGuard turns it off for a scope (the inference path); EnableGradGuard turns it back on.
#pragma once

namespace tz {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);

/// Disables recording for its lifetime, then restores the previous mode.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

/// Enables recording for its lifetime (e.g. inside a NoGradGuard), then restores the previous mode.
class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(is_grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace tz
