#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sha256.hpp"

namespace {

std::string sha256_of(const std::string& text) {
  ckpt::tools::Sha256 digest;
  digest.update(std::as_bytes(std::span(text.data(), text.size())));
  return digest.finish_hex();
}

}  // namespace

TEST_CASE("SHA-256 matches the FIPS 180-4 examples", "[tools][sha256]") {
  CHECK(sha256_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_of(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 gives the same digest however the input is split", "[tools][sha256]") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>(i * 7);
  const std::string whole = sha256_of(text);
  for (const std::size_t piece : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 200u}) {
    ckpt::tools::Sha256 digest;
    for (std::size_t at = 0; at < text.size(); at += piece) {
      const std::size_t take = std::min(piece, text.size() - at);
      digest.update(std::as_bytes(std::span(text.data() + at, take)));
    }
    CHECK(digest.finish_hex() == whole);
  }
}

TEST_CASE("update_u64_le hashes eight little-endian bytes", "[tools][sha256]") {
  ckpt::tools::Sha256 digest;
  digest.update_u64_le(0x0807060504030201ull);
  CHECK(digest.finish_hex() == sha256_of(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8)));
}
