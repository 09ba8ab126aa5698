#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "formatting.hpp"
#include "text_table.hpp"

using namespace ckpt::tools;

TEST_CASE("sizes, times, modes and protections are spelled for people", "[tools][format]") {
  CHECK(human_size(0) == "0 B");
  CHECK(human_size(1023) == "1023 B");
  CHECK(human_size(1536) == "1.5 KiB");
  CHECK(human_size(12897484) == "12.3 MiB");
  CHECK(iso8601_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(iso8601_utc(1'700'000'000'123'456'789) == "2023-11-14T22:13:20Z");
  CHECK(octal_mode(0100644) == "0644");
  CHECK(protection_string(PROT_READ | PROT_EXEC) == "r-x");
  CHECK(protection_string(0) == "---");
  CHECK(hex_address(0x7f0000000000) == "0x7f0000000000");
}

TEST_CASE("page addresses fold into runs", "[tools][format]") {
  CHECK(describe_page_runs({}).empty());
  CHECK(describe_page_runs({0x1000, 0x2000, 0x3000, 0x8000}) ==
        std::vector<std::string>{"0x1000-0x4000 (3)", "0x8000-0x9000 (1)"});
}

TEST_CASE("argv and paths stay on one line", "[tools][format]") {
  CHECK(shell_words({"solver", "--in", "a b.dat", "it's"}) ==
        "solver --in 'a b.dat' 'it'\\''s'");
  CHECK(printable("two\nlines") == "two\\x0alines");
}

TEST_CASE("TextTable aligns columns", "[tools][format]") {
  TextTable table({{"PID", TextTable::Align::kRight}, {"EXE"}, {"NOTE"}});
  table.add_row({"7", "/bin/a", ""});
  table.add_row({"12345", "/usr/bin/longer", "x"});
  std::ostringstream out;
  table.print(out, "  ");
  CHECK(out.str() ==
        "    PID  EXE              NOTE\n"
        "      7  /bin/a\n"
        "  12345  /usr/bin/longer  x\n");
  CHECK_THROWS_AS(table.add_row({"1"}), std::logic_error);
}
