// Aligned plain-text tables: a header row and data rows, columns separated
// by two spaces, numbers right-aligned, the last column never padded.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ckpt::tools {

class TextTable {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string title;
    Align align = Align::kLeft;
  };

  explicit TextTable(std::vector<Column> columns);
  // A row must have one cell per column.
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  // Prints the header and all rows, each line prefixed by `indent`.
  void print(std::ostream& out, const std::string& indent) const;

 private:
  void print_line(std::ostream& out, const std::string& indent,
                  const std::vector<std::string>& cells, const std::vector<std::size_t>& widths) const;

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ckpt::tools
