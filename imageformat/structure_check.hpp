// Structural consistency of a generation file, checked by verify before it
// reads the chunks: checksums prove that each chunk holds what was written,
// these checks prove that the tables around the chunks agree with them, so
// that no page or file range resolves to bytes that were never stored.
// Each throws ImageError naming the file, generation, process (or storage)
// and chunk (or file, range, thread) of the first problem.
#pragma once

#include <cstdint>

#include "generation_reader.hpp"
#include "schema.hpp"

namespace ckpt::image {

// The file is the generation the index lists: same kind and, for an
// incremental generation, the same parent. (The seq is checked when the
// file is opened, see Image::open_generation.)
void check_generation_header(const GenerationEntry& entry, const GenerationReader& reader);

// page_index: page-aligned, ascending, one row per stored page; page_chunks:
// every chunk but the last full, whole pages, as many bytes as the pages
// dataset holds; threads: state inside thread_state.
void check_process_structure(const GenerationReader& reader, std::int64_t pid);

// data_chunks like page_chunks; every file's rows inside the ranges table;
// every range inside the storage data.
void check_storage_structure(const GenerationReader& reader);

}  // namespace ckpt::image
