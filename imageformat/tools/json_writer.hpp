// A small streaming JSON writer: objects, arrays, strings, integers and
// booleans, pretty-printed with two-space indentation. Strings are escaped
// per RFC 8259; bytes that are not valid UTF-8 (file names may hold any
// bytes) become U+FFFD so the output is always valid JSON.
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::tools {

// `text` as a quoted, escaped JSON string.
std::string json_quote(std::string_view text);

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  // Names the next value; only inside an object.
  void key(std::string_view name);

  void value(std::string_view text);
  void value(const char* text) { value(std::string_view(text)); }
  void value(const std::string& text) { value(std::string_view(text)); }
  void value(bool flag);
  template <std::integral Integer>
    requires(!std::same_as<Integer, bool>)
  void value(Integer number) {
    if constexpr (std::signed_integral<Integer>) {
      write_number(std::to_string(static_cast<std::int64_t>(number)));
    } else {
      write_number(std::to_string(static_cast<std::uint64_t>(number)));
    }
  }
  void null();

  // key(name) followed by value(v).
  template <class Value>
  void member(std::string_view name, const Value& v) {
    key(name);
    value(v);
  }

  // Ends the document with a newline; every container must be closed.
  void finish();

 private:
  struct Level {
    bool object = false;
    std::size_t items = 0;
  };
  void before_value();
  void write_number(const std::string& digits);
  void newline_and_indent();

  std::ostream& out_;
  std::vector<Level> levels_;
  bool key_pending_ = false;
};

}  // namespace ckpt::tools
