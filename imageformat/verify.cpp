#include "verify.hpp"

#include <vector>

#include "generation_reader.hpp"
#include "structure_check.hpp"

namespace ckpt::image {

VerifyReport verify_image(const Image& image,
                          const std::function<void(const GenerationEntry&)>& progress) {
  VerifyReport report;
  std::vector<std::byte> chunk(kChunkBytes);
  for (const auto& entry : image.generations()) {
    if (progress) progress(entry);
    const GenerationReader reader = image.open_generation(entry);
    check_generation_header(entry, reader);
    for (const std::int64_t pid : reader.pids()) {
      // Tables first (cheap): a chunk table that disagrees with the page
      // index is reported even when every chunk's checksum is right.
      check_process_structure(reader, pid);
      const auto records = reader.page_chunks(pid);
      for (std::uint64_t c = 0; c < records.size(); ++c) {
        reader.read_page_chunk(pid, c, chunk);
        report.bytes += records[c].raw_bytes;
      }
      report.chunks += records.size();
      ++report.processes;
    }
    check_storage_structure(reader);
    const auto& storage = reader.storage_chunks();
    for (std::uint64_t c = 0; c < storage.size(); ++c) {
      reader.read_storage_chunk(c, chunk);
      report.bytes += storage[c].raw_bytes;
    }
    report.chunks += storage.size();
    ++report.generations;
  }
  return report;
}

}  // namespace ckpt::image
