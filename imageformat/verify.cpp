#include "verify.hpp"

#include <vector>

#include "generation_reader.hpp"

namespace ckpt::image {

VerifyReport verify_image(const Image& image,
                          const std::function<void(const GenerationEntry&)>& progress) {
  VerifyReport report;
  std::vector<std::byte> chunk(kChunkBytes);
  for (const auto& entry : image.generations()) {
    if (progress) progress(entry);
    const GenerationReader reader(image.generation_path(entry));
    for (const std::int64_t pid : reader.pids()) {
      const auto records = reader.page_chunks(pid);
      for (std::uint64_t c = 0; c < records.size(); ++c) {
        reader.read_page_chunk(pid, c, chunk);
        report.bytes += records[c].raw_bytes;
      }
      report.chunks += records.size();
      reader.read_tables(pid);  // tables must be readable too
      ++report.processes;
    }
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
