// ckpt-inspect and ckpt-merge run in-process on images written with the
// library: exit codes and the one-line error contract.
#include <hdf5.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "generation_reader.hpp"
#include "h5_handle.hpp"
#include "image.hpp"
#include "inspect_command.hpp"
#include "merge_command.hpp"
#include "synthetic.hpp"

namespace {

namespace fs = std::filesystem;
using namespace ckpt::image;

// A private temporary folder, removed with its content.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/ckpt-tools-XXXXXX";
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

// A full generation and `incrementals` incremental ones, one process.
void write_image(const std::string& path, int incrementals) {
  Image image = Image::open_or_create(path, {"unit-test", "[checkpoint]\n"});
  testing::SimulatedProcess process(4242, 9);
  process.map_region(0x10000000, 40, 0.25, 0.25);
  for (int g = 0; g <= incrementals; ++g) {
    GenerationOptions options;
    options.kind = g == 0 ? GenerationKind::kFull : GenerationKind::kIncremental;
    options.workers = 1;
    auto pending = image.begin_generation(options);
    if (g > 0) process.write_random_pages(10);
    process.write_to(pending.writer(), g > 0);
    image.commit(std::move(pending));
  }
}

void set_format_version(const std::string& path, std::uint64_t version) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t attribute = H5Aopen(file, "format_version", H5P_DEFAULT);
  REQUIRE(attribute >= 0);
  CHECK(H5Awrite(attribute, H5T_NATIVE_UINT64, &version) >= 0);
  H5Aclose(attribute);
  H5Fclose(file);
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

Outcome merge(const std::vector<std::string>& arguments) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = ckpt::tools::run_merge(arguments, out, err);
  return {code, out.str(), err.str()};
}

// The path of generation `seq` of the image at `path`.
std::string generation_file(const std::string& path, std::uint64_t seq) {
  const Image image = Image::open(path);
  for (const auto& entry : image.generations()) {
    if (entry.seq == seq) return image.generation_path(entry);
  }
  FAIL("no generation " << seq);
  return {};
}

bool one_line(const std::string& text) {
  return !text.empty() && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

}  // namespace

TEST_CASE("an image from a newer ckpt is refused with exit 3", "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_image(path, 1);
  REQUIRE(inspect({path}).exit_code == 0);
  set_format_version(path, 99);

  const auto inspected = inspect({path});
  CHECK(inspected.exit_code == 3);
  CHECK(one_line(inspected.err));
  CHECK_THAT(inspected.err, Catch::StartsWith("ckpt-inspect: ") &&
                                Catch::Contains("format version 99 is newer"));
  const auto merged = merge({path});
  CHECK(merged.exit_code == 3);
  CHECK(one_line(merged.err));
  CHECK_THAT(merged.err, Catch::StartsWith("ckpt-merge: "));
}

TEST_CASE("usage errors exit 2 with one line", "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_image(path, 0);
  for (const auto& arguments : std::vector<std::vector<std::string>>{
           {},
           {folder.file("missing.h5")},
           {path, "--generation", "7"},
           {path, "--generation", "seven"},
           {path, "extra-argument"},
       }) {
    INFO("arguments: " << arguments.size());
    const auto outcome = inspect(arguments);
    CHECK(outcome.exit_code == 2);
    CHECK(one_line(outcome.err));
    CHECK_THAT(outcome.err, Catch::StartsWith("ckpt-inspect: "));
  }
  const auto bad_codec = merge({path, "--codec", "gzip"});
  CHECK(bad_codec.exit_code == 2);
  CHECK(one_line(bad_codec.err));
}

TEST_CASE("merge folds the chain and inspect sees one full generation", "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_image(path, 2);
  const auto before = inspect({path, "--json", "--digest"});
  REQUIRE(before.exit_code == 0);

  const auto merged = merge({path});
  REQUIRE(merged.exit_code == 0);
  CHECK_THAT(merged.out, Catch::StartsWith("merged generations 1-3 (3 generations) into full "
                                           "generation 4, "));
  const auto after = inspect({path, "--verify"});
  CHECK(after.exit_code == 0);
  CHECK_THAT(after.out, Catch::Contains("chain    4 (what a restart loads)") &&
                            Catch::Contains("verified: 1 generations, 1 processes"));
  CHECK(merge({path}).out == "nothing to merge: the current chain is one full generation\n");
}

TEST_CASE("an empty image is described, not an error", "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("empty.h5");
  Image::open_or_create(path, {"nothing-yet", ""});
  const auto inspected = inspect({path, "--json"});
  CHECK(inspected.exit_code == 0);
  CHECK_THAT(inspected.out, Catch::Contains("\"generation_count\": 0") &&
                                Catch::Contains("\"chain\": null"));
  CHECK(merge({path}).out == "nothing to merge: the image has no committed checkpoint\n");
}

TEST_CASE("a missing generation file is one line naming the file and the generation",
          "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_image(path, 2);
  const std::string missing = generation_file(path, 2);
  REQUIRE(::unlink(missing.c_str()) == 0);
  const std::string message =
      missing + ": generation 2 is missing (the index " + path + " lists it)\n";

  const auto inspected = inspect({path});
  CHECK(inspected.exit_code == 1);
  CHECK(inspected.err == "ckpt-inspect: " + message);
  CHECK_THAT(inspected.out,
             Catch::Contains("  UNREADABLE: " + missing + ": generation 2 is missing"));
  const auto verified = inspect({path, "--verify"});
  CHECK(verified.exit_code == 1);
  CHECK(verified.err == "ckpt-inspect: " + message);
  const auto merged = merge({path});
  CHECK(merged.exit_code == 1);
  CHECK(merged.err == "ckpt-merge: " + message);
}

TEST_CASE("a process group that is not a pid is reported, not an internal error",
          "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_image(path, 0);
  const std::string file = generation_file(path, 1);
  {
    const hid_t handle = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(handle >= 0);
    CHECK(H5Lmove(handle, "processes/4242", handle, "processes/pid-4242", H5P_DEFAULT,
                  H5P_DEFAULT) >= 0);
    H5Fclose(handle);
  }
  const auto inspected = inspect({path});
  CHECK(inspected.exit_code == 1);
  CHECK(inspected.err ==
        "ckpt-inspect: " + file + ": generation 1: process group 'pid-4242' is not a process id\n");
}

TEST_CASE("inspect --verify reports a page index that disagrees with its chunks",
          "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_image(path, 0);
  const std::string file = generation_file(path, 1);
  std::vector<std::uint64_t> index = GenerationReader(file).page_index(4242);
  REQUIRE(!index.empty());
  index.push_back(index.back() + kPageSize);
  {
    ckpt::image::h5::silence_library_errors();
    h5::Handle handle(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    REQUIRE(handle.valid());
    h5::Handle group = h5::open_group(handle, "processes/4242");
    REQUIRE(H5Ldelete(group, "page_index", H5P_DEFAULT) >= 0);
    h5::write_u64_dataset(group, "page_index", index);
  }
  CHECK(inspect({path}).exit_code == 0);  // tables are readable; only --verify checks them
  const auto verified = inspect({path, "--verify"});
  CHECK(verified.exit_code == 1);
  CHECK(one_line(verified.err));
  const std::string problem = file + ": generation 1, process 4242, chunk 0: page_index row " +
                              std::to_string(index.size() - 1) + " points past the chunk's";
  CHECK_THAT(verified.err, Catch::StartsWith("ckpt-inspect: " + problem));
  CHECK_THAT(verified.out, Catch::Contains("verify FAILED: " + problem));
}

TEST_CASE("a merged generation has no parent, in the index and in its file", "[tools][commands]") {
  TemporaryFolder folder;
  const auto path = folder.file("job.h5");
  write_image(path, 2);
  REQUIRE(merge({path}).exit_code == 0);
  CHECK(GenerationReader(generation_file(path, 4)).header().parent == 0);
  const auto json = inspect({path, "--json", "--verify"});
  CHECK(json.exit_code == 0);
  CHECK_THAT(json.out, Catch::Contains("\"parent\": 0"));
  const auto text = inspect({path});
  CHECK(text.exit_code == 0);
  // Summary row: SEQ KIND COMMITTED SIZE PARENT ...; a full generation without parent shows "-".
  CHECK_THAT(text.out,
             Catch::Matches("(.|\n)*\n +4 +full +[0-9T:-]+Z +[0-9.]+ [KM]iB +- +lz4 (.|\n)*"));
}
