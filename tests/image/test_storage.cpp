// The storage checkpoint: whole files, ranges over older content,
// truncation, deletion and sparse holes resolve to the right bytes.
#include <catch2/catch.hpp>

#include <string>

#include "chain.hpp"
#include "merge.hpp"
#include "temp_folder.hpp"

using namespace ckpt::image;

namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

std::string content(const ResolvedChain& chain, const std::string& path) {
  for (const auto& file : chain.files) {
    if (file.record.path != path) continue;
    std::vector<std::byte> bytes;
    read_resolved_file(chain, file, bytes);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  return "<absent>";
}

FileRecord record(const std::string& path, FileEntryKind kind, std::uint64_t size) {
  FileRecord file;
  file.path = path;
  file.kind = static_cast<std::uint32_t>(kind);
  file.mode = 0640;
  file.size = size;
  return file;
}

}  // namespace

TEST_CASE("storage snapshots resolve across a chain", "[image][storage]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  const std::string big(3 * kChunkBytes + 123, 'b');  // spans several storage chunks
  {
    auto pending = image.begin_generation({});
    auto& writer = pending.writer();
    writer.add_file(record("/out/log.txt", FileEntryKind::kWhole, 12), {{0, 12, 0}},
                    bytes_of("line1\nline2\n"));
    writer.add_file(record("/out/big.dat", FileEntryKind::kWhole, big.size()),
                    {{0, big.size(), 0}}, bytes_of(big));
    writer.add_file(record("/out/gone.txt", FileEntryKind::kWhole, 3), {{0, 3, 0}},
                    bytes_of("abc"));
    // sparse: 4 bytes at offset 10 of a 20-byte file
    writer.add_file(record("/out/sparse", FileEntryKind::kWhole, 20), {{10, 4, 0}},
                    bytes_of("WXYZ"));
    image.commit(std::move(pending));
  }
  {
    GenerationOptions options;
    options.kind = GenerationKind::kIncremental;
    auto pending = image.begin_generation(options);
    auto& writer = pending.writer();
    // append + overwrite inside the old content
    writer.add_file(record("/out/log.txt", FileEntryKind::kRanges, 18), {{0, 1, 0}, {12, 6, 0}},
                    bytes_of("Lline3\n"));
    // big.dat truncated to 5 bytes, then one byte changed
    writer.add_file(record("/out/big.dat", FileEntryKind::kRanges, 5), {{4, 1, 0}},
                    bytes_of("!"));
    writer.add_file(record("/out/gone.txt", FileEntryKind::kDeleted, 0), {}, {});
    image.commit(std::move(pending));
  }
  const ResolvedChain chain = resolve_chain(image);
  CHECK(content(chain, "/out/log.txt") == "Line1\nline2\nline3\n");
  CHECK(content(chain, "/out/big.dat") == "bbbb!");
  CHECK(content(chain, "/out/gone.txt") == "<absent>");
  CHECK(content(chain, "/out/sparse") == std::string(10, '\0') + "WXYZ" + std::string(6, '\0'));
  REQUIRE(chain.files.size() == 3);
  CHECK(chain.files[0].record.mode == 0640);

  merge_current_chain(image);
  const ResolvedChain merged = resolve_chain(image);
  CHECK(merged.links.size() == 1);
  CHECK(content(merged, "/out/log.txt") == "Line1\nline2\nline3\n");
  CHECK(content(merged, "/out/big.dat") == "bbbb!");
  CHECK(content(merged, "/out/gone.txt") == "<absent>");
  CHECK(content(merged, "/out/sparse") == content(chain, "/out/sparse"));
}

TEST_CASE("a full generation's file table replaces older ones", "[image][storage]") {
  ckpt::testing::TempFolder folder;
  Image image = Image::open_or_create(folder.file("job.h5"), {"job", ""});
  for (const char* name : {"/a", "/b"}) {
    auto pending = image.begin_generation({});
    pending.writer().add_file(record(name, FileEntryKind::kWhole, 1), {{0, 1, 0}},
                              bytes_of("x"));
    image.commit(std::move(pending));
  }
  const ResolvedChain chain = resolve_chain(image);
  REQUIRE(chain.files.size() == 1);
  CHECK(chain.files[0].record.path == "/b");
}
