// The restricted unpickler on its own (tensor/io/pickle.cpp): resource limits, Python semantics it
// must keep (repeated keys, negative LONG1, protocol-4 framing), and cycles that must neither leak
// nor recurse. Hostile pickles inside zips: the corpus (test_corpus.cpp).
#include <catch2/catch.hpp>

#include <string>

#include "core/error.h"
#include "tensor/io/pickle.h"

using namespace tz::io::detail;

using namespace std::string_literals;

namespace {

PickledStateDict unpickle(const std::string& s, const UnpickleLimits& limits = {}) {
  return unpickle_state_dict(reinterpret_cast<const uint8_t*>(s.data()), s.size(), limits);
}

// A tensor over storage `key` (2 floats) with shape (2,), as torch.save writes it. (Literals are
// split after \x escapes that a hex digit would otherwise extend.)
std::string tensor(const std::string& key, const std::string& offset = "K\x00"s) {
  return "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00" "storagectorch\nFloatStorage\nX"s +
         static_cast<char>(key.size()) + "\x00\x00\x00"s + key + "X\x03\x00\x00\x00" "cpuK\x02tQ"s + offset +
         "K\x02\x85K\x01\x85\x89}tR"s;
}

const std::string kHead = "\x80\x02}(X\x01\x00\x00\x00" "a"s;
std::string key(const char* k) { return "X\x01\x00\x00\x00"s + k; }

}  // namespace

TEST_CASE("unpickler: a minimal state_dict", "[io][pickle]") {
  auto sd = unpickle(kHead + tensor("0") + key("b") + tensor("0") + "u.");
  REQUIRE(sd.entries.size() == 2);
  CHECK(sd.entries[0].first == "a");
  CHECK(sd.storages.size() == 1);  // shared storage declared twice, stored once
  CHECK(sd.storages[0].numel == 2);
  CHECK(sd.tensors.size() == 2);
  CHECK(sd.tensors[0].shape == tz::Shape{2});
}

TEST_CASE("unpickler: repeated keys keep their first place and take the last value", "[io][pickle]") {
  auto sd = unpickle(kHead + tensor("0") + key("b") + tensor("1") + key("a") + tensor("2") + "u.");
  REQUIRE(sd.entries.size() == 2);
  CHECK(sd.entries[0].first == "a");
  CHECK(sd.storages[sd.tensors[sd.entries[0].second].storage].key == "2");
  CHECK(sd.entries[1].first == "b");
}

TEST_CASE("unpickler: protocol-4 framing, MEMOIZE and negative LONG1", "[io][pickle]") {
  // PROTO 4, FRAME, EMPTY_DICT, MEMOIZE, SHORT_BINUNICODE 'a', tensor with LONG1 offset -1 (refused as
  // negative, proving the sign extension), STOP.
  std::string p = "\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01" "a"s + tensor("0", "\x8a\x01\xff"s) + "u.";
  CHECK_THROWS_WITH(unpickle(p), Catch::Contains("(offset -1, size [2], stride [1]) has a negative entry"));
}

TEST_CASE("unpickler: cycles are harmless", "[io][pickle]") {
  // l = []; l.append(l); {'x': l} -> refused (not a tensor), without leaking or recursing.
  CHECK_THROWS_WITH(unpickle("\x80\x02}X\x01\x00\x00\x00" "x]q\x00h\x00" "as."s),
                    Catch::Contains("state_dict entry 'x' is a list"));
}

TEST_CASE("unpickler: resource limits", "[io][pickle]") {
  UnpickleLimits small;
  small.max_stack = 10;
  small.max_memo = 3;
  small.max_objects = 20;
  small.max_depth = 4;
  CHECK_THROWS_WITH(unpickle("\x80\x02" + std::string(11, 'N') + ".", small), Catch::Contains("stack exceeds 10 values"));
  CHECK_THROWS_WITH(unpickle("\x80\x02Nq\x00q\x01q\x02q\x03."s, small),
                    Catch::Contains("memo exceeds 3 entries"));
  CHECK_THROWS_WITH(unpickle("\x80\x02" + std::string(30, 'N') + ".", UnpickleLimits{100, 100, 20, 100}),
                    Catch::Contains("more than 20 objects"));
  CHECK_THROWS_WITH(unpickle("\x80\x02" + std::string(5, '(') + ".", small), Catch::Contains("MARKs nest deeper than 4"));
  CHECK_THROWS_WITH(unpickle("\x80\x02)" + std::string(4, '\x85') + ".", small),
                    Catch::Contains("objects nest deeper than 4"));
  // Overwriting a memo slot does not count twice.
  CHECK_THROWS_WITH(unpickle("\x80\x02Nq\x00q\x00q\x00q\x00q\x00."s, small),
                    Catch::Contains("the pickled object is a None"));
}
