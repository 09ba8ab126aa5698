#include "text_table.hpp"

#include <algorithm>
#include <stdexcept>

namespace ckpt::tools {
namespace {

// Display width: UTF-8 continuation bytes take no column.
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

}  // namespace

TextTable::TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

void TextTable::add_row(std::vector<std::string> cells) {
  if (cells.size() != columns_.size()) throw std::logic_error("TextTable: wrong number of cells");
  rows_.push_back(std::move(cells));
}

void TextTable::print_line(std::ostream& out, const std::string& indent,
                           const std::vector<std::string>& cells,
                           const std::vector<std::size_t>& widths) const {
  std::string line = indent;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    const std::size_t padding = widths[c] - display_width(cells[c]);
    const bool last = c + 1 == cells.size();
    if (c > 0) line += "  ";
    if (columns_[c].align == Align::kRight) {
      line.append(padding, ' ');
      line += cells[c];
    } else {
      line += cells[c];
      if (!last) line.append(padding, ' ');
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out << line << '\n';
}

void TextTable::print(std::ostream& out, const std::string& indent) const {
  std::vector<std::size_t> widths(columns_.size());
  std::vector<std::string> titles;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    titles.push_back(columns_[c].title);
    widths[c] = display_width(columns_[c].title);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  print_line(out, indent, titles, widths);
  for (const auto& row : rows_) print_line(out, indent, row, widths);
}

}  // namespace ckpt::tools
