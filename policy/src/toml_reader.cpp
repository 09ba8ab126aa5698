#include "toml_reader.hpp"

#include <algorithm>
#include <limits>

#include "value_checks.hpp"

namespace ckpt::policy::detail {

void ErrorReporter::fail_at(const toml::source_position& where, std::string_view message) const {
  std::string line = source_name_ + ':' + std::to_string(where.line) + ':' +
                     std::to_string(where.column) + ": " + std::string(message);
  // The contract is one line per error, whatever a message quotes.
  std::replace(line.begin(), line.end(), '\n', ' ');
  throw PolicyError(line);
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

void Field::fail(std::string_view message) const {
  errors_->fail_at(node_->source().begin, path_ + ": " + std::string(message));
}

void Field::fail_type(std::string_view expectation) const {
  fail("expected " + std::string(expectation) + ", got " + std::string(type_name(node_->type())));
}

std::string Field::string(std::string_view expectation) const {
  const auto* value = node_->as_string();
  if (value == nullptr) fail_type(expectation);
  checked([&] { check_no_nul(value->get()); });
  return value->get();
}

std::int64_t Field::integer(std::int64_t lowest, std::int64_t highest) const {
  const auto* value = node_->as_integer();
  if (value == nullptr) fail_type("an integer");
  const std::int64_t number = value->get();
  if (number < lowest || number > highest) {
    if (highest == std::numeric_limits<std::int64_t>::max()) {
      fail("must be at least " + std::to_string(lowest) + ", got " + std::to_string(number));
    }
    fail("must be from " + std::to_string(lowest) + " to " + std::to_string(highest) + ", got " +
         std::to_string(number));
  }
  return number;
}

TableReader Field::table(std::string heading) const {
  const auto* value = node_->as_table();
  if (value == nullptr) fail_type("a table");
  return TableReader(*value, path_, std::move(heading), *errors_);
}

std::vector<Field> Field::array_elements(std::string_view expectation) const {
  const auto* array = node_->as_array();
  if (array == nullptr) fail_type(expectation);
  std::vector<Field> elements;
  elements.reserve(array->size());
  for (std::size_t index = 0; index < array->size(); ++index) {
    elements.emplace_back((*array)[index], path_ + '[' + std::to_string(index) + ']', *errors_);
  }
  return elements;
}

std::vector<std::string> Field::strings() const {
  std::vector<std::string> values;
  for (const auto& element : array_elements("an array of strings")) {
    values.push_back(element.string());
  }
  return values;
}

std::string TableReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + '.' + std::string(key);
}

std::string TableReader::placement() const {
  return heading_.starts_with('[') ? "in " + heading_ : heading_;
}

std::vector<const toml::key*> TableReader::keys_in_file_order() const {
  std::vector<const toml::key*> keys;
  for (const auto& entry : *table_) keys.push_back(&entry.first);
  std::stable_sort(keys.begin(), keys.end(), [](const toml::key* a, const toml::key* b) {
    const auto& left = a->source().begin;
    const auto& right = b->source().begin;
    return left.line != right.line ? left.line < right.line : left.column < right.column;
  });
  return keys;
}

void TableReader::reject_unknown_keys(std::span<const std::string_view> known) const {
  for (const toml::key* key : keys_in_file_order()) {
    const std::string_view name = key->str();
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string message = "unknown key '" + std::string(name) + "' " + placement();
    if (const auto suggestion = closest_match(name, known)) {
      message += "; did you mean '" + std::string(*suggestion) + "'?";
    }
    errors_->fail_at(key->source().begin, message);
  }
}

std::optional<Field> TableReader::field(std::string_view key) const {
  const toml::node* node = table_->get(key);
  if (node == nullptr) return std::nullopt;
  return Field(*node, path_of(key), *errors_);
}

Field TableReader::required(std::string_view key, std::string_view hint) const {
  if (auto found = field(key)) return *std::move(found);
  std::string message = "missing required key '" + std::string(key) + "' " + placement();
  if (!hint.empty()) message += " " + std::string(hint);
  errors_->fail_at(table_->source().begin, message);
}

void TableReader::for_each_entry(
    const std::function<void(const toml::source_position&, const std::string&, const Field&)>&
        visit) const {
  for (const toml::key* key : keys_in_file_order()) {
    const Field value(*table_->get(key->str()), path_of(key->str()), *errors_);
    visit(key->source().begin, std::string(key->str()), value);
  }
}

void TableReader::fail(std::string_view message) const {
  errors_->fail_at(table_->source().begin, path_ + ": " + std::string(message));
}

}  // namespace ckpt::policy::detail
