#include "image_digest.hpp"

#include <algorithm>
#include <span>
#include <vector>

#include "sha256.hpp"

namespace ckpt::tools {

std::string stored_pages_sha256(const image::GenerationReader& reader, std::int64_t pid) {
  Sha256 digest;
  std::vector<std::byte> chunk(image::kChunkBytes);
  const auto records = reader.page_chunks(pid);
  for (std::uint64_t c = 0; c < records.size(); ++c) {
    reader.read_page_chunk(pid, c, chunk);
    const std::size_t used = std::min<std::uint64_t>(records[c].raw_bytes, chunk.size());
    digest.update(std::span(chunk).first(used));
  }
  return digest.finish_hex();
}

std::string resolved_process_sha256(image::PageReader& pages,
                                    const image::ResolvedProcess& process) {
  Sha256 digest;
  std::vector<std::byte> page(image::kPageSize);
  for (std::size_t i = 0; i < process.addresses.size(); ++i) {
    pages.read_page(process, i, page.data());
    digest.update_u64_le(process.addresses[i]);
    digest.update(page);
  }
  return digest.finish_hex();
}

std::string resolved_file_sha256(const image::ResolvedChain& chain,
                                 const image::ResolvedFile& file) {
  std::vector<std::byte> content;
  image::read_resolved_file(chain, file, content);
  Sha256 digest;
  digest.update(content);
  return digest.finish_hex();
}

}  // namespace ckpt::tools
