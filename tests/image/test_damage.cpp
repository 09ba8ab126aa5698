// Damaged and foreign images are refused with a line that says where:
// one flipped byte is found by verify, newer format versions are refused,
// malformed process group names and missing generation files name the
// generation, and a writer killed at any moment of a commit never loses the previous
// generation.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "chain.hpp"
#include "h5_handle.hpp"
#include "merge.hpp"
#include "synthetic.hpp"
#include "temp_folder.hpp"
#include "byte_compare.hpp"
#include "verify.hpp"

using namespace ckpt::image;
using ckpt::image::testing::SimulatedProcess;

namespace {

// File offset of chunk `index` of a dataset, found through HDF5 itself.
std::uint64_t chunk_file_address(const std::string& file, const std::string& dataset,
                                 hsize_t index, hsize_t& size) {
  h5::Handle handle = h5::open_file_readonly(file);
  h5::Handle data(H5Dopen2(handle, dataset.c_str(), H5P_DEFAULT));
  REQUIRE(data.valid());
  hsize_t offset[1] = {0};
  unsigned mask = 0;
  haddr_t address = 0;
  h5::Handle space(H5Dget_space(data));
  REQUIRE(H5Dget_chunk_info(data, space, index, offset, &mask, &address, &size) >= 0);
  return address;
}

void flip_byte(const std::string& file, std::uint64_t position) {
  const int fd = ::open(file.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  unsigned char byte = 0;
  REQUIRE(::pread(fd, &byte, 1, static_cast<off_t>(position)) == 1);
  byte ^= 0x5a;
  REQUIRE(::pwrite(fd, &byte, 1, static_cast<off_t>(position)) == 1);
  ::close(fd);
}

void set_format_version(const std::string& file, std::uint64_t version) {
  h5::silence_library_errors();
  h5::Handle handle(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  REQUIRE(handle.valid());
  h5::write_attribute(handle, "format_version", version);
}

void write_full(Image& image, SimulatedProcess& process, Codec codec) {
  GenerationOptions options;
  options.codec = codec;
  auto pending = image.begin_generation(options);
  process.write_to(pending.writer(), false);
  image.commit(std::move(pending));
}

}  // namespace

TEST_CASE("verify finds one flipped byte and names generation, process and chunk",
          "[image][damage]") {
  const auto codec = GENERATE(Codec::kNone, Codec::kLz4, Codec::kZstd);
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  SimulatedProcess process(300, 4);
  process.map_region(0x10000000, 3 * kPagesPerChunk, 0.0, 0.5);
  write_full(image, process, codec);
  const auto before = verify_image(image);
  CHECK(before.generations == 1);
  CHECK(before.chunks == 3 + 0);  // three page chunks, no storage data
  CHECK(before.bytes == 3 * kChunkBytes);

  const std::string file = image.generation_path(image.generations().front());
  hsize_t size = 0;
  const auto address = chunk_file_address(file, "/processes/300/pages", 1, size);
  flip_byte(file, address + size / 2);
  CHECK_THROWS_AS(verify_image(image), CorruptChunkError);
  CHECK_THROWS_WITH(verify_image(image),
                    Catch::Contains("generation 1, process 300, chunk 1") &&
                        (Catch::Contains("checksum mismatch") || Catch::Contains("cannot decode")));
}

TEST_CASE("images from a newer format version are refused clearly", "[image][damage]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  SimulatedProcess process(1, 1);
  process.map_region(0x1000, 4, 0.0, 1.0);
  write_full(image, process, Codec::kLz4);

  SECTION("index") {
    set_format_version(folder.file("job.h5"), 99);
    CHECK_THROWS_AS(Image::open(folder.file("job.h5")), FormatVersionError);
    CHECK_THROWS_WITH(Image::open(folder.file("job.h5")),
                      Catch::Contains("image format version 99 is newer") &&
                          Catch::Contains("job.h5"));
  }
  SECTION("generation") {
    set_format_version(image.generation_path(image.generations().front()), 7);
    CHECK_THROWS_AS(resolve_chain(image), FormatVersionError);
    CHECK_THROWS_WITH(resolve_chain(image), Catch::Contains("gen-000001.h5: generation format "
                                                            "version 7 is newer"));
  }
}

TEST_CASE("missing and foreign files are refused with the path", "[image][damage]") {
  ckpt::testing::TempFolder folder;
  CHECK_THROWS_WITH(Image::open(folder.file("nope.h5")), Catch::Contains("nope.h5: no such image"));
  const std::string text = folder.file("text.h5");
  const int fd = ::open(text.c_str(), O_CREAT | O_WRONLY, 0600);
  REQUIRE(::write(fd, "hello", 5) == 5);
  ::close(fd);
  CHECK_THROWS_WITH(Image::open(text), Catch::Contains("text.h5: not a readable HDF5 file"));
}

TEST_CASE("a writer killed at any point of a commit keeps the previous generation",
          "[image][damage][kill]") {
  ckpt::testing::TempFolder folder;
  const std::string path = folder.file("job.h5");
  SimulatedProcess process(42, 5);
  process.map_region(0x40000000, 2048, 0.1, 0.6);  // 8 MiB
  {
    Image image = Image::open_or_create(path, {"job", ""});
    write_full(image, process, Codec::kLz4);
  }
  const auto expected_first = process.page(0x40000000);

  // How long does one commit take here? Kill within that window.
  const auto started = std::chrono::steady_clock::now();
  {
    Image image = Image::open(path);
    write_full(image, process, Codec::kLz4);
  }
  const auto commit_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
  std::mt19937 random(12345);
  std::uniform_int_distribution<long> delay(0, std::max<long>(commit_us * 12 / 10, 1000));
  int killed_midway = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t before = Image::open(path).generations().size();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        Image image = Image::open(path);
        GenerationOptions options;
        options.kind = trial % 2 == 0 ? GenerationKind::kFull : GenerationKind::kIncremental;
        auto pending = image.begin_generation(options);
        process.write_to(pending.writer(), false);
        image.commit(std::move(pending), 3);
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    if (WIFSIGNALED(status)) ++killed_midway;

    Image image = Image::open(path);  // the index is always readable
    const std::size_t after = image.generations().size();
    CHECK(after >= std::min<std::size_t>(before, 3));
    const auto report = verify_image(image);
    CHECK(report.generations == after);
    const ResolvedChain chain = resolve_chain(image);
    REQUIRE(chain.processes.size() == 1);
    PageReader reader(chain);
    std::vector<std::byte> page(kPageSize);
    reader.read_page(chain.processes[0], 0, page.data());
    CHECK(same_bytes(page, expected_first));
  }
  INFO("trials where the writer died before finishing: " << killed_midway);
  CHECK(killed_midway >= 10);
}

TEST_CASE("a process group whose name is not a pid is refused with the generation and the name",
          "[image][damage]") {
  const std::string bad_name = GENERATE("abc", "300abc", "99999999999999999999999", "+300", "0300");
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  SimulatedProcess process(300, 2);
  process.map_region(0x1000, 4, 0.0, 1.0);
  write_full(image, process, Codec::kLz4);
  const std::string file = image.generation_path(image.generations().front());
  {
    h5::silence_library_errors();
    h5::Handle handle(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    REQUIRE(handle.valid());
    REQUIRE(H5Lmove(handle, "processes/300", handle, ("processes/" + bad_name).c_str(), H5P_DEFAULT,
                    H5P_DEFAULT) >= 0);
  }
  INFO("group name: " << bad_name);
  const GenerationReader reader(file);
  const auto expected = Catch::StartsWith(file + ": generation 1: process group '" + bad_name +
                                          "' is not a process id");
  CHECK_THROWS_AS(reader.pids(), ImageError);
  CHECK_THROWS_WITH(reader.pids(), expected);
  CHECK_THROWS_WITH(verify_image(image), expected);
  CHECK_THROWS_WITH(resolve_chain(image), expected);
}

TEST_CASE("a generation file missing from the image is named with its generation number",
          "[image][damage]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  SimulatedProcess process(7, 3);
  process.map_region(0x1000, 8, 0.0, 1.0);
  write_full(image, process, Codec::kLz4);
  {
    GenerationOptions options;
    options.kind = GenerationKind::kIncremental;
    auto pending = image.begin_generation(options);
    process.write_random_pages(2);
    process.write_to(pending.writer(), true);
    image.commit(std::move(pending));
  }
  const std::string missing = image.generation_path(image.generations().back());
  REQUIRE(::unlink(missing.c_str()) == 0);
  const std::string expected =
      missing + ": generation 2 is missing (the index " + folder.file("job.h5") + " lists it)";
  auto message_of = [](auto&& action) -> std::string {
    try {
      action();
    } catch (const ImageError& error) {
      return error.what();
    }
    return "(no ImageError)";
  };
  CHECK(message_of([&] { resolve_chain(image); }) == expected);
  CHECK(message_of([&] { verify_image(image); }) == expected);
  CHECK(message_of([&] { merge_current_chain(image); }) == expected);
}
