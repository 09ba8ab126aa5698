#include "merge.hpp"

#include <vector>

namespace ckpt::image {

void write_resolved_chain(const ResolvedChain& chain, GenerationWriter& writer) {
  std::vector<std::byte> content;
  for (const auto& file : chain.files) {
    FileRecord record = file.record;
    const bool directory = static_cast<FileEntryKind>(record.kind) == FileEntryKind::kDirectory;
    record.kind = static_cast<std::uint32_t>(directory ? FileEntryKind::kDirectory
                                                       : FileEntryKind::kWhole);
    writer.begin_file(record);
    for (const auto& segment : file.segments) {
      content = chain.readers.at(segment.link)->read_storage_bytes(segment.data_offset,
                                                                   segment.length);
      writer.add_file_range(segment.file_offset, content);
    }
    writer.end_file();
  }
  PageReader pages(chain);
  std::vector<std::byte> page(kPageSize);
  for (const auto& process : chain.processes) {
    writer.begin_process(process.tables.info);
    for (std::size_t i = 0; i < process.addresses.size(); ++i) {
      pages.read_page(process, i, page.data());
      writer.add_page(process.addresses[i], page.data());
    }
    ProcessTables tables = process.tables;
    for (auto& region : tables.regions) region.flags &= ~kRegionFresh;
    writer.end_process(tables);
  }
}

MergeResult merge_current_chain(Image& image, std::optional<Codec> codec, unsigned workers) {
  MergeResult result;
  const auto chain_entries = image.current_chain();
  if (chain_entries.size() <= 1) {
    result.folded = chain_entries.size();
    return result;
  }
  const GenerationReader newest = image.open_generation(chain_entries.back());
  GenerationOptions options;
  options.kind = GenerationKind::kFull;
  options.codec = codec.value_or(newest.header().codec);
  options.dirty_engine = newest.header().dirty_engine;
  options.workers = workers;
  result.seq = image.replace_current_chain(options, [&](GenerationWriter& writer) {
    // Resolved under the image's writer lock: nobody commits meanwhile.
    const ResolvedChain chain = resolve_chain(image);
    result.folded = chain.links.size();
    writer.set_note("merged from generations " + std::to_string(chain.links.front().seq) + "-" +
                    std::to_string(chain.links.back().seq));
    write_resolved_chain(chain, writer);
  });
  result.bytes = image.generations().back().bytes;
  return result;
}

}  // namespace ckpt::image
