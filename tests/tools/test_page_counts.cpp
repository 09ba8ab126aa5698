// ckpt-inspect's page counts (issue 6): per generation and per process, the
// pages stored, the pages listed as zeroed and, for an incremental
// generation, the dirty pages (stored + zeroed), in text and JSON, checked
// against an image written page by page with known content.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <vector>

#include "image.hpp"
#include "inspect_command.hpp"

namespace {

namespace fs = std::filesystem;
using namespace ckpt::image;

class TemporaryFolder {
 public:
  TemporaryFolder() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/ckpt-counts-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

constexpr std::uint64_t kBase = 0x10000000;

// One process: `pages` pages from kBase; page p is written when `written`
// says so, as zeros if `zero` says so, else with non-zero bytes.
struct ProcessPages {
  std::int64_t pid;
  std::vector<bool> written;
  std::vector<bool> zero;
};

void write_process(GenerationWriter& writer, const ProcessPages& process, std::uint8_t fill) {
  ProcessTables tables;
  tables.info.pid = process.pid;
  tables.info.ppid = 1;
  tables.info.pgid = process.pid;
  tables.info.sid = process.pid;
  tables.info.exe = "/usr/bin/counted";
  Region region;
  region.start = kBase;
  region.end = kBase + process.written.size() * kPageSize;
  region.prot = 3;
  tables.regions.push_back(region);
  tables.threads.push_back({static_cast<std::uint32_t>(process.pid), 0, 0, 0});
  writer.begin_process(tables.info);
  std::vector<std::byte> page(kPageSize);
  for (std::size_t p = 0; p < process.written.size(); ++p) {
    if (!process.written[p]) continue;
    std::fill(page.begin(), page.end(), std::byte{process.zero[p] ? std::uint8_t{0} : fill});
    writer.add_page(kBase + p * kPageSize, page.data());
  }
  writer.end_process(tables);
}

std::vector<bool> flags(std::size_t count, std::initializer_list<std::size_t> set) {
  std::vector<bool> result(count, false);
  for (const auto index : set) result.at(index) = true;
  return result;
}

// Generation 1 (full, engine "none"): process 100 has 10 pages, 3 of them
// zero (stored 7); process 200 has 5 non-zero pages (stored 5).
// Generation 2 (incremental, engine "uffd-wp"): process 100 wrote pages
// 1, 2, 5, 9, and page 5 became zero (stored 3, zeroed 1, dirty 4); process
// 200 wrote pages 0 and 4 (stored 2, dirty 2). Totals: 5 stored, 1 zeroed,
// 6 dirty. With codec none each process's pages fill one whole 1 MiB chunk.
void write_counted_image(const std::string& path) {
  Image image = Image::open_or_create(path, {"counted", "[checkpoint]\n"});
  {
    GenerationOptions options;
    options.kind = GenerationKind::kFull;
    options.codec = Codec::kNone;
    options.workers = 1;
    options.dirty_engine = "none";
    auto pending = image.begin_generation(options);
    write_process(pending.writer(), {100, std::vector<bool>(10, true), flags(10, {0, 4, 8})}, 0x11);
    write_process(pending.writer(), {200, std::vector<bool>(5, true), flags(5, {})}, 0x22);
    image.commit(std::move(pending));
  }
  {
    GenerationOptions options;
    options.kind = GenerationKind::kIncremental;
    options.codec = Codec::kNone;
    options.workers = 1;
    options.dirty_engine = "uffd-wp";
    auto pending = image.begin_generation(options);
    write_process(pending.writer(), {100, flags(10, {1, 2, 5, 9}), flags(10, {5})}, 0x33);
    write_process(pending.writer(), {200, flags(5, {0, 4}), flags(5, {})}, 0x44);
    image.commit(std::move(pending));
  }
}

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome inspect(const std::vector<std::string>& arguments) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = ckpt::tools::run_inspect(arguments, out, err);
  return {code, out.str(), err.str()};
}

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex("(^|\n)" + pattern + "(\n|$)"));
}

}  // namespace

TEST_CASE("the generation table counts stored, zeroed and dirty pages", "[tools][page-counts]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_counted_image(path);
  const auto text = inspect({path});
  REQUIRE(text.exit_code == 0);
  INFO(text.out);
  CHECK(has_line(text.out,
                 " +SEQ +KIND +COMMITTED \\(UTC\\) +SIZE +PARENT +CODEC +ENGINE +PROCS +STORED "
                 "+ZEROED +DIRTY +FILES +NOTE *"));
  // SEQ KIND TIME SIZE PARENT CODEC ENGINE PROCS STORED ZEROED DIRTY FILES
  CHECK(
      has_line(text.out, " +1 +full +[0-9T:-]+Z +[0-9.]+ [KM]iB +- +none +none +2 +12 +0 +- +0 *"));
  CHECK(has_line(
      text.out, " +2 +incremental +[0-9T:-]+Z +[0-9.]+ [KM]iB +1 +none +uffd-wp +2 +5 +1 +6 +0 *"));
}

TEST_CASE("each generation and process shows its page counts", "[tools][page-counts]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_counted_image(path);
  const auto text = inspect({path});
  REQUIRE(text.exit_code == 0);
  INFO(text.out);
  CHECK(has_line(text.out,
                 "  pages    12 stored, 0 zeroed in 2 processes \\(dirty tracking: none\\)"));
  CHECK(has_line(
      text.out,
      "  pages    5 stored, 1 zeroed, 6 dirty in 2 processes \\(dirty tracking: uffd-wp\\)"));
  CHECK(has_line(text.out,
                 "    pages    7 stored in 1 chunk \\(1.0 MiB\\), 0 zeroed \\(full: every "
                 "non-zero page\\)"));
  CHECK(has_line(text.out,
                 "    pages    5 stored in 1 chunk \\(1.0 MiB\\), 0 zeroed \\(full: every "
                 "non-zero page\\)"));
  CHECK(has_line(text.out,
                 "    pages    3 stored in 1 chunk \\(1.0 MiB\\), 1 zeroed: 4 dirty since "
                 "generation 1"));
  CHECK(has_line(
      text.out,
      "    pages    2 stored in 1 chunk \\(1.0 MiB\\), 0 zeroed: 2 dirty since generation 1"));
}

TEST_CASE("the JSON output has the page counts of every generation and process", "[tools][page-counts]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_counted_image(path);
  const auto json = inspect({path, "--json"});
  REQUIRE(json.exit_code == 0);
  // Members in document order: generation totals come before its processes,
  // each process's counts after its identity.
  const std::string number = "[0-9]+";
  const std::string any = "[\\s\\S]*?";
  const std::string gen1 =
      "\"seq\": 1," + any + "\"dirty_engine\": \"none\"" + any +
      "\"stored_pages\": 12,\\s*\"zero_pages\": 0,\\s*\"dirty_pages\": null,\\s*"
      "\"stored_bytes\": 2097152,";
  const std::string gen1_processes =
      "\"pid\": 100," + any +
      "\"stored_pages\": 7,\\s*\"zero_pages\": 0,\\s*\"dirty_pages\": "
      "null,\\s*\"chunks\": 1,\\s*\"stored_bytes\": 1048576," +
      any + "\"pid\": 200," + any +
      "\"stored_pages\": 5,\\s*\"zero_pages\": 0,\\s*\"dirty_pages\": "
      "null,\\s*\"chunks\": 1,\\s*\"stored_bytes\": 1048576,";
  const std::string gen2 = "\"seq\": 2," + any + "\"dirty_engine\": \"uffd-wp\"" + any +
                           "\"stored_pages\": 5,\\s*\"zero_pages\": 1,\\s*\"dirty_pages\": 6,\\s*"
                           "\"stored_bytes\": 2097152,";
  const std::string gen2_processes =
      "\"pid\": 100," + any +
      "\"stored_pages\": 3,\\s*\"zero_pages\": 1,\\s*\"dirty_pages\": "
      "4,\\s*\"chunks\": 1," +
      any + "\"pid\": 200," + any +
      "\"stored_pages\": 2,\\s*\"zero_pages\": 0,\\s*\"dirty_pages\": "
      "2,\\s*\"chunks\": " +
      number;
  INFO(json.out);
  CHECK(std::regex_search(
      json.out, std::regex(gen1 + any + gen1_processes + any + gen2 + any + gen2_processes)));
}

TEST_CASE("inspecting one generation shows the counts of that generation only", "[tools][page-counts]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_counted_image(path);
  const auto text = inspect({path, "--generation", "2"});
  REQUIRE(text.exit_code == 0);
  INFO(text.out);
  CHECK(has_line(
      text.out, " +2 +incremental +[0-9T:-]+Z +[0-9.]+ [KM]iB +1 +none +uffd-wp +2 +5 +1 +6 +0 *"));
  CHECK_FALSE(has_line(text.out, " +1 +full .*"));
}
