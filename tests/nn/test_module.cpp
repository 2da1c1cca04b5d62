// Module: PyTorch-style dotted names and their order, tied weights, buffers, state_dict /
// load_state_dict (including the one error that lists every bad key), train/eval, zero_grad.
#include <catch2/catch.hpp>

#include <map>

#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/module.h"

using namespace tz;
using namespace tz::nn;

namespace {

struct Block : Module {
  std::shared_ptr<Linear> dense;
  std::shared_ptr<LayerNorm> norm;
  Block() {
    dense = register_module("dense", std::make_shared<Linear>(4, 4));
    norm = register_module("LayerNorm", std::make_shared<LayerNorm>(4));  // HF spells it so
  }
};

// Registers a child before its own parameter on purpose: PyTorch lists a module's own
// parameters before its children's regardless of registration order.
struct Net : Module {
  std::shared_ptr<Embedding> emb;
  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<Linear> head;
  Tensor scale, position_ids, cache;
  explicit Net(int64_t n_layers = 2) {
    emb = register_module("emb", std::make_shared<Embedding>(10, 4, 0));
    layers = register_module("layers", std::make_shared<ModuleList>());
    for (int64_t i = 0; i < n_layers; ++i) layers->push_back(std::make_shared<Block>());
    head = register_module("head", std::make_shared<Linear>(4, 10));
    scale = register_parameter("scale", raw::ones({1}));
    position_ids = register_buffer("position_ids", raw::arange(6));
    cache = register_buffer("cache", raw::zeros({3}), /*persistent=*/false);
  }
};

std::vector<std::string> names_of(const NamedTensors& nt) {
  std::vector<std::string> out;
  for (const auto& [n, t] : nt) out.push_back(n);
  return out;
}

std::map<std::string, Tensor> as_map(const NamedTensors& nt) {
  std::map<std::string, Tensor> m;
  for (const auto& [n, t] : nt) m[n] = raw::clone(t);
  return m;
}

}  // namespace

TEST_CASE("named_parameters gives PyTorch's dotted names in PyTorch's order", "[nn][module]") {
  Net net;
  std::vector<std::string> expected{
      "scale",
      "emb.weight",
      "layers.0.dense.weight", "layers.0.dense.bias", "layers.0.LayerNorm.weight", "layers.0.LayerNorm.bias",
      "layers.1.dense.weight", "layers.1.dense.bias", "layers.1.LayerNorm.weight", "layers.1.LayerNorm.bias",
      "head.weight", "head.bias"};
  CHECK(names_of(net.named_parameters()) == expected);
  CHECK(net.parameters().size() == expected.size());
  auto np = net.named_parameters();
  CHECK(np[2].second.is_same(net.layers->get<Block>(0)->dense->weight));  // the registered handle itself
  CHECK(np[2].second.shape() == Shape{4, 4});
  for (const auto& [n, p] : np) CHECK(p.requires_grad());

  CHECK(names_of(net.named_buffers()) == std::vector<std::string>{"position_ids", "cache"});
  std::vector<std::string> modules;
  for (const auto& [n, m] : net.named_modules()) modules.push_back(n);
  CHECK(modules == std::vector<std::string>{"", "emb", "layers", "layers.0", "layers.0.dense",
                                            "layers.0.LayerNorm", "layers.1", "layers.1.dense",
                                            "layers.1.LayerNorm", "head"});
  CHECK(net.named_modules()[0].second.get() == &net);
  auto children = net.named_children();
  REQUIRE(children.size() == 3);
  CHECK(children[1].first == "layers");
  CHECK(net.layers->size() == 2);
  CHECK_THROWS_WITH(net.layers->get<Linear>(0), Catch::Contains("not of the requested type"));
  CHECK_THROWS_WITH((*net.layers)[2], Catch::Contains("index 2 out of range"));
}

TEST_CASE("tied weights appear once in parameters and under every name in state_dict", "[nn][module]") {
  Net net(1);
  Tensor old_head = net.head->weight;
  net.head->tie_weight(net.emb->weight);
  CHECK(net.head->weight.is_same(net.emb->weight));
  CHECK_FALSE(net.head->weight.is_same(old_head));
  auto names = names_of(net.named_parameters());
  CHECK(std::count(names.begin(), names.end(), "head.weight") == 0);
  CHECK(std::count(names.begin(), names.end(), "emb.weight") == 1);

  std::vector<std::string> sd{"scale", "position_ids", "emb.weight",
                              "layers.0.dense.weight", "layers.0.dense.bias",
                              "layers.0.LayerNorm.weight", "layers.0.LayerNorm.bias",
                              "head.weight", "head.bias"};
  CHECK(names_of(net.state_dict()) == sd);  // non-persistent "cache" left out
  // state_dict tensors share storage but carry no autograd history.
  auto state = net.state_dict();
  CHECK(state[2].second.storage() == net.emb->weight.storage());
  CHECK_FALSE(state[2].second.requires_grad());

  CHECK_THROWS_WITH(net.head->tie_weight(raw::zeros({3, 4})), Catch::Contains("does not match the weight [10,4]"));
}

TEST_CASE("load_state_dict copies into the registered storage and converts dtypes", "[nn][module]") {
  Net src, dst;
  auto state = as_map(src.state_dict());
  // position_ids saved as float32 must load into the int64 buffer.
  state["position_ids"] = raw::to_dtype(raw::from_vector(std::vector<int64_t>{5, 4, 3, 2, 1, 0}, {6}), DType::Float32);
  Tensor member = dst.layers->get<Block>(1)->dense->weight;
  const void* storage_before = member.storage()->data();
  auto report = dst.load_state_dict(state);
  CHECK(report.ok());
  CHECK(member.is_same(dst.layers->get<Block>(1)->dense->weight));   // not reseated
  CHECK(member.storage()->data() == storage_before);
  CHECK(raw::max_abs_diff(member, src.layers->get<Block>(1)->dense->weight) == 0.0);
  CHECK(raw::max_abs_diff(dst.emb->weight, src.emb->weight) == 0.0);
  CHECK(dst.position_ids.dtype() == DType::Int64);
  CHECK(dst.position_ids.to_vector<int64_t>() == std::vector<int64_t>{5, 4, 3, 2, 1, 0});
  CHECK(member.requires_grad());
}

TEST_CASE("load_state_dict strict: one error naming every missing, unexpected and mismatched key", "[nn][module]") {
  Net src, dst;
  auto state = as_map(src.state_dict());
  state.erase("layers.1.LayerNorm.bias");
  state.erase("scale");
  state["layers.7.dense.weight"] = raw::zeros({4, 4});
  state["head.bias"] = raw::zeros({11});
  Tensor before = raw::clone(dst.emb->weight);
  std::string msg;
  try {
    dst.load_state_dict(state);
  } catch (const Error& e) {
    msg = e.what();
  }
  INFO(msg);
  CHECK_THAT(msg, Catch::Contains("2 missing, 1 unexpected, 1 shape mismatches"));
  CHECK_THAT(msg, Catch::Contains("missing key 'layers.1.LayerNorm.bias' (module expects [4])"));
  CHECK_THAT(msg, Catch::Contains("missing key 'scale' (module expects [1])"));
  CHECK_THAT(msg, Catch::Contains("unexpected key 'layers.7.dense.weight' [4,4]"));
  CHECK_THAT(msg, Catch::Contains("shape mismatch for 'head.bias': state has [11], module expects [10]"));
  CHECK(raw::max_abs_diff(before, dst.emb->weight) == 0.0);  // nothing loaded

  SECTION("non-strict loads what fits and reports the rest") {
    auto r = dst.load_state_dict(state, /*strict=*/false);
    CHECK(r.missing == std::vector<std::string>{"scale", "layers.1.LayerNorm.bias"});
    CHECK(r.unexpected == std::vector<std::string>{"layers.7.dense.weight"});
    CHECK(r.mismatched == std::vector<std::string>{"head.bias"});
    CHECK(raw::max_abs_diff(src.emb->weight, dst.emb->weight) == 0.0);
    CHECK(raw::max_abs_diff(src.head->bias, dst.head->bias) > 0.0);  // left alone
  }
}

TEST_CASE("registration rejects bad names and clashes", "[nn][module]") {
  Module m;
  m.register_parameter("w", raw::zeros({2}));
  CHECK_THROWS_WITH(m.register_parameter("a.b", raw::zeros({2})), Catch::Contains("must not contain '.'"));
  CHECK_THROWS_WITH(m.register_parameter("", raw::zeros({2})), Catch::Contains("must not be empty"));
  CHECK_THROWS_WITH(m.register_buffer("w", raw::zeros({2})), Catch::Contains("already used by a parameter"));
  CHECK_THROWS_WITH(m.register_module("w", std::make_shared<Module>()), Catch::Contains("already used by a parameter"));
  CHECK_THROWS_WITH(m.register_parameter("ids", raw::arange(3)), Catch::Contains("only float32"));
  Tensor leaf = raw::ones({2});
  leaf.set_requires_grad(true);
  CHECK_THROWS_WITH(m.register_parameter("y", tz::mul(leaf, 2.0)), Catch::Contains("produced by an op"));
  // Re-registering replaces (weight tying) and keeps the order.
  Tensor w2 = m.register_parameter("w", raw::ones({3}));
  REQUIRE(m.named_parameters().size() == 1);
  CHECK(m.named_parameters()[0].second.is_same(w2));
  // A frozen parameter.
  Tensor frozen = m.register_parameter("frozen", raw::ones({2}), false);
  CHECK_FALSE(frozen.requires_grad());
}

TEST_CASE("train/eval reaches every descendant; zero_grad clears every grad", "[nn][module]") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  for (const auto& [n, m] : net.named_modules()) CHECK_FALSE(m->is_training());
  net.train();
  for (const auto& [n, m] : net.named_modules()) CHECK(m->is_training());

  Tensor ids = raw::from_vector(std::vector<int64_t>{1, 2, 3}, {3});
  Tensor h = net.emb->forward(ids);
  for (size_t i = 0; i < net.layers->size(); ++i) {
    auto b = net.layers->get<Block>(i);
    h = b->norm->forward(b->dense->forward(h));
  }
  tz::sum(net.head->forward(h) * net.scale).backward();
  int with_grad = 0;
  for (const Tensor& p : net.parameters()) with_grad += p.grad().defined();
  CHECK(with_grad == static_cast<int>(net.parameters().size()));
  net.zero_grad();
  for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
}
