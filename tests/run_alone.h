// What the pipeline tests compare with, written out without the pipelines: one encoding through a
// model on its own ([1, T], nothing padded, as the pipelines and HF's default batch_size=1 run it),
// and a softmax in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "models/model.h"
#include "tensor/ops.h"
#include "tokenizer/encoding.h"

namespace tz::test {

inline models::Output run_alone(models::PreTrainedModel& model, const tokenizer::Encoding& e) {
  const int64_t T = static_cast<int64_t>(e.size());
  models::Inputs in;
  in.input_ids = raw::from_vector(e.ids, {1, T});
  in.attention_mask = raw::from_vector(e.attention_mask, {1, T});
  in.token_type_ids = raw::from_vector(e.type_ids, {1, T});
  NoGradGuard no_grad;
  return model.forward(in);
}

inline std::vector<double> softmax_by_hand(const float* z, std::size_t n) {
  double m = z[0], s = 0;
  for (std::size_t i = 1; i < n; ++i) m = std::max<double>(m, z[i]);
  std::vector<double> p(n);
  for (std::size_t i = 0; i < n; ++i) s += p[i] = std::exp(z[i] - m);
  for (double& v : p) v /= s;
  return p;
}

}  // namespace tz::test
