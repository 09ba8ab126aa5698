#include "json_writer.hpp"

#include <stdexcept>

namespace ckpt::tools {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_unicode_escape(std::string& out, unsigned code_unit) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHexDigits[(code_unit >> shift) & 0xf];
}

// Length of the valid UTF-8 sequence starting at text[at], or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned lead = byte(at);
  std::size_t length = 0;
  unsigned code_point = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(at + i) & 0x3f);
  }
  const bool overlong = (length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000);
  const bool surrogate = code_point >= 0xd800 && code_point <= 0xdfff;
  if (overlong || surrogate || code_point > 0x10ffff) return 0;
  return length;
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  std::size_t at = 0;
  while (at < text.size()) {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, at);
      if (length == 0) {
        out += "\\ufffd";
        ++at;
      } else {
        out.append(text.substr(at, length));
        at += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          append_unicode_escape(out, c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++at;
  }
  out += '"';
  return out;
}

void JsonWriter::newline_and_indent() {
  out_ << '\n';
  for (std::size_t i = 0; i < levels_.size(); ++i) out_ << "  ";
}

void JsonWriter::before_value() {
  if (key_pending_) {
    key_pending_ = false;
    return;
  }
  if (levels_.empty()) return;
  Level& level = levels_.back();
  if (level.object) throw std::logic_error("JsonWriter: value in an object needs a key");
  if (level.items++ > 0) out_ << ',';
  newline_and_indent();
}

void JsonWriter::key(std::string_view name) {
  if (levels_.empty() || !levels_.back().object || key_pending_) {
    throw std::logic_error("JsonWriter: key outside an object");
  }
  if (levels_.back().items++ > 0) out_ << ',';
  newline_and_indent();
  out_ << json_quote(name) << ": ";
  key_pending_ = true;
}

void JsonWriter::begin_object() {
  before_value();
  out_ << '{';
  levels_.push_back({true, 0});
}

void JsonWriter::begin_array() {
  before_value();
  out_ << '[';
  levels_.push_back({false, 0});
}

void JsonWriter::end_object() {
  if (levels_.empty() || !levels_.back().object || key_pending_) {
    throw std::logic_error("JsonWriter: end_object without an open object");
  }
  const bool had_items = levels_.back().items > 0;
  levels_.pop_back();
  if (had_items) newline_and_indent();
  out_ << '}';
}

void JsonWriter::end_array() {
  if (levels_.empty() || levels_.back().object) {
    throw std::logic_error("JsonWriter: end_array without an open array");
  }
  const bool had_items = levels_.back().items > 0;
  levels_.pop_back();
  if (had_items) newline_and_indent();
  out_ << ']';
}

void JsonWriter::value(std::string_view text) {
  before_value();
  out_ << json_quote(text);
}

void JsonWriter::value(bool flag) {
  before_value();
  out_ << (flag ? "true" : "false");
}

void JsonWriter::null() {
  before_value();
  out_ << "null";
}

void JsonWriter::write_number(const std::string& digits) {
  before_value();
  out_ << digits;
}

void JsonWriter::finish() {
  if (!levels_.empty() || key_pending_) throw std::logic_error("JsonWriter: unclosed container");
  out_ << '\n';
}

}  // namespace ckpt::tools
