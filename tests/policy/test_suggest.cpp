#include <catch2/catch.hpp>

#include "ckpt/policy/suggest.hpp"

using namespace ckpt::policy;

TEST_CASE("edit distance counts each kind of edit once", "[suggest]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("interval", "interval") == 0);
  CHECK(edit_distance("intervall", "interval") == 1);  // insertion
  CHECK(edit_distance("inteval", "interval") == 1);    // deletion
  CHECK(edit_distance("intarval", "interval") == 1);   // substitution
  CHECK(edit_distance("itnerval", "interval") == 1);   // swapped neighbours
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest match suggests likely typos only", "[suggest]") {
  const std::string_view keys[] = {"interval", "timeout", "incremental_depth", "compression",
                                   "compression_level"};
  CHECK(closest_match("intervall", keys) == "interval");
  CHECK(closest_match("timout", keys) == "timeout");
  CHECK(closest_match("compresion", keys) == "compression");
  CHECK(closest_match("compression_levle", keys) == "compression_level");
  CHECK(closest_match("colour", keys) == std::nullopt);
  CHECK(closest_match("", keys) == std::nullopt);
  const std::string_view short_keys[] = {"job", "ab"};
  CHECK(closest_match("x", short_keys) == std::nullopt);  // as many edits as characters
}
