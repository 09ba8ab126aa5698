#include <catch2/catch.hpp>
#include <sstream>

#include "json_writer.hpp"

using ckpt::tools::json_quote;
using ckpt::tools::JsonWriter;

TEST_CASE("json_quote escapes quotes, backslashes and control characters", "[tools][json]") {
  CHECK(json_quote("plain") == "\"plain\"");
  CHECK(json_quote("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(json_quote("C:\\dir") == "\"C:\\\\dir\"");
  CHECK(json_quote("a\nb\tc\rd\be\ff") == "\"a\\nb\\tc\\rd\\be\\ff\"");
  CHECK(json_quote(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(json_quote("\x1f\x7f") == "\"\\u001f\x7f\"");
}

TEST_CASE("json_quote keeps valid UTF-8 and replaces invalid bytes", "[tools][json]") {
  CHECK(json_quote("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80") ==
        "\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(json_quote("bad \xff byte") == "\"bad \\ufffd byte\"");
  CHECK(json_quote("truncated \xe2\x82") == "\"truncated \\ufffd\\ufffd\"");
  CHECK(json_quote("overlong \xc0\xaf") == "\"overlong \\ufffd\\ufffd\"");
  CHECK(json_quote("surrogate \xed\xa0\x80") == "\"surrogate \\ufffd\\ufffd\\ufffd\"");
}

TEST_CASE("JsonWriter nests objects and arrays with commas in the right places",
          "[tools][json]") {
  std::ostringstream out;
  JsonWriter json(out);
  json.begin_object();
  json.member("name", "ckpt");
  json.member("count", std::uint64_t{3});
  json.member("negative", std::int64_t{-7});
  json.member("ok", true);
  json.key("list");
  json.begin_array();
  json.value(1);
  json.begin_object();
  json.end_object();
  json.begin_array();
  json.end_array();
  json.null();
  json.end_array();
  json.end_object();
  json.finish();
  CHECK(out.str() ==
        "{\n"
        "  \"name\": \"ckpt\",\n"
        "  \"count\": 3,\n"
        "  \"negative\": -7,\n"
        "  \"ok\": true,\n"
        "  \"list\": [\n"
        "    1,\n"
        "    {},\n"
        "    [],\n"
        "    null\n"
        "  ]\n"
        "}\n");
}

TEST_CASE("JsonWriter refuses malformed documents", "[tools][json]") {
  std::ostringstream out;
  JsonWriter json(out);
  json.begin_object();
  CHECK_THROWS_AS(json.value(1), std::logic_error);  // no key
  json.key("a");
  CHECK_THROWS_AS(json.end_object(), std::logic_error);  // key without value
  json.value(1);
  CHECK_THROWS_AS(json.end_array(), std::logic_error);
  CHECK_THROWS_AS(json.finish(), std::logic_error);  // still open
}
