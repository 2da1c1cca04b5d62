// SHA-256 against the FIPS 180-4 example vectors and against Python's hashlib on data of every
// length around the block and padding boundaries, fed in uneven pieces, and on files larger than
// the reading chunk.
#include <catch2/catch.hpp>

#include <random>

#include "hub/sha256.h"
#include "tests/hub/fake_hub.h"

using tz::hub::Sha256;
using tz::hub::sha256_hex;

TEST_CASE("sha256 matches the FIPS 180-4 vectors", "[hub][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopq"
                   "rsmnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 agrees with Python's hashlib for every length up to 200 and for large files", "[hub][sha256]") {
  tz::test::TempDir dir("sha");
  std::mt19937 rng(7);
  std::vector<std::string> files, ours;
  auto add = [&](size_t n) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    const auto path = dir.path / std::to_string(files.size());
    tz::test::write_file(path, data);
    files.push_back(path.string());
    // Uneven pieces: 1, 2, 3, ... bytes, so every split of the buffered block is exercised.
    Sha256 h;
    for (size_t at = 0, step = 1; at < n; at += step, ++step) h.update(data.data() + at, std::min(step, n - at));
    ours.push_back(h.hex_digest());
  };
  for (size_t n = 0; n <= 200; ++n) add(n);
  add((3u << 20) + 7);  // crosses the 1 MiB reading chunk of sha256_file_hex
  std::string args;
  for (const auto& f : files) args += " " + f;
  int code = 0;
  const std::string out = tz::test::capture_command(
      "/usr/bin/python3 -c 'import hashlib,sys\nfor p in sys.argv[1:]: print(hashlib.sha256(open(p,\"rb\").read()).hexdigest())'" +
          args, &code);
  REQUIRE(code == 0);
  std::istringstream lines(out);
  for (size_t i = 0; i < files.size(); ++i) {
    std::string expected;
    std::getline(lines, expected);
    INFO("length index " << i);
    CHECK(ours[i] == expected);
    CHECK(tz::hub::sha256_file_hex(files[i]) == expected);
  }
}

TEST_CASE("sha256_file_hex names a file it cannot read", "[hub][sha256]") {
  CHECK_THROWS_WITH(tz::hub::sha256_file_hex("/nonexistent/blob"), Catch::Contains("/nonexistent/blob"));
}
