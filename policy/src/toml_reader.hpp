#pragma once
// Typed, located access to a parsed TOML document. Every problem becomes a
// PolicyError reading "SOURCE:LINE:COLUMN: key.path: message".

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/policy/enum_names.hpp"
#include "ckpt/policy/policy.hpp"
#include "ckpt/policy/suggest.hpp"

namespace ckpt::policy::detail {

// Formats and throws errors for one source (a file name, or another label).
class ErrorReporter {
 public:
  explicit ErrorReporter(std::string_view source_name) : source_name_(source_name) {}

  [[noreturn]] void fail_at(const toml::source_position& where, std::string_view message) const;

 private:
  std::string source_name_;
};

// The TOML type of a node as messages name it: "integer", "table", ...
std::string_view type_name(toml::node_type type);

class TableReader;

// One value of the document with its key path ("checkpoint.interval",
// "group[0].app[1].args[2]").
class Field {
 public:
  Field(const toml::node& node, std::string path, const ErrorReporter& errors)
      : node_(&node), path_(std::move(path)), errors_(&errors) {}

  const std::string& path() const { return path_; }

  // Each throws PolicyError "expected <expectation>, got <type>" on a wrong type.
  std::string string(std::string_view expectation = "a string") const;
  std::int64_t integer(std::int64_t lowest, std::int64_t highest) const;
  TableReader table(std::string heading) const;
  std::vector<Field> array_elements(std::string_view expectation) const;
  std::vector<std::string> strings() const;  // an array of strings

  // One of the enumerator names of enum_names.hpp.
  template <typename Enum>
  Enum enumeration() const;

  // Returns check(); a std::invalid_argument it throws becomes an error here.
  template <typename Check>
  auto checked(Check&& check) const -> decltype(check());

  [[noreturn]] void fail(std::string_view message) const;

 private:
  [[noreturn]] void fail_type(std::string_view expectation) const;

  const toml::node* node_;
  std::string path_;
  const ErrorReporter* errors_;
};

class TableReader {
 public:
  // heading names the table in messages: "[checkpoint]", "[[group.app]]", "the top level".
  TableReader(const toml::table& table, std::string path, std::string heading,
              const ErrorReporter& errors)
      : table_(&table), path_(std::move(path)), heading_(std::move(heading)), errors_(&errors) {}

  // The first key in file order that is not in known is an error, with a
  // suggestion when it looks like a misspelt known key.
  void reject_unknown_keys(std::span<const std::string_view> known) const;

  std::optional<Field> field(std::string_view key) const;

  // A missing key is an error at the table; hint is appended to the message.
  Field required(std::string_view key, std::string_view hint = {}) const;

  // Calls visit(key_position, key, field) for every entry, in file order.
  void for_each_entry(const std::function<void(const toml::source_position&, const std::string&,
                                               const Field&)>& visit) const;

  // An error at the table itself: "path: message".
  [[noreturn]] void fail(std::string_view message) const;

 private:
  std::string path_of(std::string_view key) const;
  std::string placement() const;  // "in [checkpoint]", "at the top level"
  std::vector<const toml::key*> keys_in_file_order() const;

  const toml::table* table_;
  std::string path_;
  std::string heading_;
  const ErrorReporter* errors_;
};

template <typename Enum>
Enum Field::enumeration() const {
  const std::string text = string();
  if (const auto value = enum_from_string<Enum>(text)) return *value;

  std::string choices;
  std::vector<std::string_view> names;
  for (const auto& named : names_of(Enum{})) {
    if (!choices.empty()) choices += ", ";
    choices += '"' + std::string(named.name) + '"';
    names.push_back(named.name);
  }
  std::string message = '"' + text + "\" is not one of " + choices;
  if (const auto suggestion = closest_match(text, names)) {
    message += "; did you mean \"" + std::string(*suggestion) + "\"?";
  }
  fail(message);
}

template <typename Check>
auto Field::checked(Check&& check) const -> decltype(check()) {
  try {
    return check();
  } catch (const std::invalid_argument& error) {
    fail(error.what());
  }
}

}  // namespace ckpt::policy::detail
