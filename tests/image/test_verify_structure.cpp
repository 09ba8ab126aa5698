// verify checks more than checksums: the page index must agree with the raw
// bytes of the chunks it points into, storage ranges must lie inside the
// storage data, thread state inside thread_state, and the generation file
// must be the generation the index lists. Each test damages one table of an
// otherwise intact image (every chunk checksum still matches) and expects
// one line naming the generation file, generation, process or storage, and
// chunk or file.
#include <catch2/catch.hpp>

#include <string>

#include "generation_reader.hpp"
#include "h5_handle.hpp"
#include "synthetic.hpp"
#include "temp_folder.hpp"
#include "verify.hpp"

using namespace ckpt::image;
using ckpt::image::testing::SimulatedProcess;

namespace {

constexpr std::uint64_t kStoredPages = 2 * kPagesPerChunk + 10;  // chunks of 256, 256, 10 pages

std::span<const std::byte> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// One full generation: process 300 with kStoredPages non-zero pages and two
// storage files.
void write_image(Image& image) {
  SimulatedProcess process(300, 4);
  process.map_region(0x10000000, kStoredPages, 0.0, 0.5);
  GenerationOptions options;
  options.workers = 1;
  auto pending = image.begin_generation(options);
  FileRecord first;
  first.path = "/data/a";
  first.size = 5;
  pending.writer().add_file(first, {{0, 5, 0}}, bytes_of("hello"));
  FileRecord second;
  second.path = "/data/b";
  second.size = 6;
  pending.writer().add_file(second, {{0, 6, 0}}, bytes_of("world!"));
  process.write_to(pending.writer(), false);
  image.commit(std::move(pending));
}

// Opens `group` of a generation file for writing.
struct WritableGroup {
  WritableGroup(const std::string& file, const std::string& group_path) {
    h5::silence_library_errors();
    handle = h5::Handle(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    REQUIRE(handle.valid());
    group = h5::open_group(handle, group_path);
  }
  void remove(const char* name) { REQUIRE(H5Ldelete(group, name, H5P_DEFAULT) >= 0); }
  h5::Handle handle;
  h5::Handle group;
};

template <class Record>
void replace_table(const std::string& file, const std::string& group_path, const char* name,
                   const std::vector<Record>& rows, std::span<const h5::Column<Record>> columns) {
  WritableGroup writable(file, group_path);
  writable.remove(name);
  h5::write_table(writable.group, name, rows, columns);
}

void replace_u64_dataset(const std::string& file, const std::string& group_path, const char* name,
                         const std::vector<std::uint64_t>& values) {
  WritableGroup writable(file, group_path);
  writable.remove(name);
  h5::write_u64_dataset(writable.group, name, values);
}

std::string verify_error(const Image& image) {
  try {
    verify_image(image);
  } catch (const ImageError& error) {
    return error.what();
  }
  return "(verify passed)";
}

}  // namespace

TEST_CASE("verify checks the page index against the chunks it points into", "[image][verify]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  write_image(image);
  REQUIRE(verify_image(image).chunks == 3 + 1);
  const std::string file = image.generation_path(image.generations().front());
  const std::string group = "processes/300";
  std::vector<std::uint64_t> index;
  std::vector<ChunkRecord> chunks;
  {
    const GenerationReader reader(file);  // closed again before the tables are rewritten
    index = reader.page_index(300);
    chunks = reader.page_chunks(300);
  }
  REQUIRE(index.size() == kStoredPages);
  REQUIRE(chunks.size() == 3);
  REQUIRE(chunks[2].raw_bytes == 10 * kPageSize);

  std::string expected;
  SECTION("one index entry more than the chunks hold") {
    index.push_back(index.back() + kPageSize);
    replace_u64_dataset(file, group, "page_index", index);
    expected = "process 300, chunk 2: page_index row 522 points past the chunk's 40960 raw bytes";
  }
  SECTION("one index entry less than the chunks hold") {
    index.pop_back();
    replace_u64_dataset(file, group, "page_index", index);
    expected = "process 300, chunk 2: holds pages that page_index does not list";
  }
  SECTION("the last chunk claims more raw bytes than the index lists") {
    chunks[2].raw_bytes += 3 * kPageSize;
    replace_table(file, group, "page_chunks", chunks, chunk_columns());
    expected = "process 300, chunk 2: holds pages that page_index does not list";
  }
  SECTION("a chunk before the last one is short") {
    chunks[1].raw_bytes -= kPageSize;
    replace_table(file, group, "page_chunks", chunks, chunk_columns());
    expected = "process 300, chunk 1: 1044480 raw bytes, but only the last chunk may be short";
  }
  SECTION("raw bytes that are not whole pages") {
    chunks[2].raw_bytes += 1;
    replace_table(file, group, "page_chunks", chunks, chunk_columns());
    expected = "process 300, chunk 2: 40961 raw bytes is not a whole number of pages";
  }
  SECTION("a chunk missing from the chunk table") {
    chunks.pop_back();
    replace_table(file, group, "page_chunks", chunks, chunk_columns());
    expected =
        "process 300, chunk 2: page_index row 512 points into it, but the chunk table has "
        "only 2 chunks";
  }
  SECTION("addresses that do not ascend") {
    std::swap(index[7], index[8]);
    replace_u64_dataset(file, group, "page_index", index);
    expected = "process 300, chunk 0: page_index row 8 (0x10007000) does not ascend";
  }
  SECTION("an unaligned address") {
    index[3] += 1;
    replace_u64_dataset(file, group, "page_index", index);
    expected = "process 300, chunk 0: page_index row 3 (0x10003001) is not page-aligned";
  }
  const std::string message = verify_error(image);
  CHECK_THAT(message, Catch::StartsWith(file + ": generation 1, ") && Catch::Contains(expected));
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("verify checks that storage ranges and thread state lie inside their data",
          "[image][verify]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  write_image(image);
  REQUIRE_NOTHROW(verify_image(image));
  const std::string file = image.generation_path(image.generations().front());
  std::vector<FileRange> ranges;
  std::vector<FileRecord> files;
  std::vector<ChunkRecord> chunks;
  std::vector<ThreadRecord> threads;
  {
    const GenerationReader reader(file);  // closed again before the tables are rewritten
    ranges = reader.ranges();
    files = reader.files();
    chunks = reader.storage_chunks();
    threads = reader.read_tables(300).threads;
  }
  REQUIRE(ranges.size() == 2);
  REQUIRE(files.size() == 2);

  std::string expected;
  SECTION("a range past the end of the data stream") {
    ranges[1].data_offset = 8;  // 6 bytes at 8: past the 11 bytes of data
    replace_table(file, "storage", "ranges", ranges, range_columns());
    expected =
        "generation 1, storage, file '/data/b', ranges row 1: data bytes [8, 14) are past the end "
        "of the 11 bytes of storage data";
  }
  SECTION("a range whose end overflows") {
    ranges[0].length = ~0ull - 2;
    replace_table(file, "storage", "ranges", ranges, range_columns());
    expected = "generation 1, storage, file '/data/a', ranges row 0: data bytes [0, ";
  }
  SECTION("a file whose ranges are past the ranges table") {
    files[1].first_range = 1;
    files[1].range_count = 2;
    replace_table(file, "storage", "files", files, file_columns());
    expected =
        "generation 1, storage, file '/data/b': range rows [1, 3) are past the end of the "
        "2 rows of the ranges table";
  }
  SECTION("storage chunks that claim more bytes than were written") {
    REQUIRE(chunks.size() == 1);
    chunks[0].raw_bytes = kChunkBytes + 1;
    replace_table(file, "storage", "data_chunks", chunks, chunk_columns());
    expected = "generation 1, storage, chunk 0: 1048577 raw bytes is more than one chunk";
  }
  SECTION("thread state past the end of thread_state") {
    REQUIRE(threads.size() == 1);
    threads[0].state_offset = 8;  // 16 bytes at 8 of 16
    replace_table(file, "processes/300", "threads", threads, thread_columns());
    expected =
        "generation 1, process 300, thread 300: state bytes [8, 24) are past the end of the "
        "16 bytes of thread_state";
  }
  const std::string message = verify_error(image);
  CHECK_THAT(message, Catch::StartsWith(file + ": ") && Catch::Contains(expected));
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("verify checks that each generation file is the generation the index lists",
          "[image][verify]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  write_image(image);
  const std::string file = image.generation_path(image.generations().front());
  {
    h5::silence_library_errors();
    h5::Handle handle(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    REQUIRE(handle.valid());
    h5::write_attribute(handle, "kind", std::string("incremental"));
  }
  CHECK_THAT(verify_error(image),
             Catch::Contains(file + ": generation 1 is incremental, but the index lists it as "
                                    "full"));
}
