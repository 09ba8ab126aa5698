// Content digests (SHA-256, lowercase hex) that let users compare images
// and check them against standard tools:
//  - stored pages of one process in one generation: sha256 of the page
//    stream in row order, i.e. of exactly the bytes
//    `h5dump -d .../processes/PID/pages -b LE -o FILE` writes;
//  - a resolved process (the pages a restart would load): sha256 over its
//    pages in ascending address order, each as 8-byte little-endian
//    address followed by the 4096 page bytes;
//  - a resolved file: sha256 of its content (what `sha256sum` says of the
//    restored file).
#pragma once

#include <cstdint>
#include <string>

#include "chain.hpp"
#include "generation_reader.hpp"

namespace ckpt::tools {

std::string stored_pages_sha256(const image::GenerationReader& reader, std::int64_t pid);
std::string resolved_process_sha256(image::PageReader& pages,
                                    const image::ResolvedProcess& process);
std::string resolved_file_sha256(const image::ResolvedChain& chain,
                                 const image::ResolvedFile& file);

}  // namespace ckpt::tools
