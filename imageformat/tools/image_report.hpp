// Everything ckpt-inspect shows, gathered from an image into plain structs
// that the text and JSON printers render. Reading problems (an unreadable
// generation, a chain that does not resolve, a failed verify) are recorded
// as Problems beside the data that could be read, so a damaged image is
// still described as far as possible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "channel_records.hpp"
#include "generation_reader.hpp"
#include "image.hpp"
#include "verify.hpp"

namespace ckpt::tools {

struct InspectOptions {
  std::optional<std::uint64_t> generation;  // describe only this generation (seq)
  bool list_pages = false;                  // page addresses
  bool digest = false;                      // sha256 of page and file content
  bool verify = false;                      // read and check every chunk
};

struct Problem {
  std::string message;  // one line
  int exit_code = 1;
};

struct ProcessReport {
  image::ProcessTables tables;
  std::uint64_t stored_pages = 0;
  std::uint64_t zero_pages = 0;  // pages listed as zeroed (incremental generations)
  std::uint64_t chunks = 0;
  std::uint64_t stored_bytes = 0;               // encoded page bytes in the file
  std::vector<std::uint64_t> stored_addresses;  // with list_pages
  std::vector<std::uint64_t> zero_addresses;    // with list_pages
  std::string pages_sha256;                     // with digest: sha256 of the page stream
  // A process that had exited but was not yet waited for by its parent
  // (the engine's zombie record): what waitpid() reports after a restart.
  std::optional<int> exited_wait_status;
  // Its pipes and sockets (the engine's "channels" record), when present.
  std::optional<image::ProcessChannels> channels;
  std::string channels_error;  // the record could not be read
};

struct StorageFileReport {
  image::FileRecord record;
  std::vector<image::FileRange> ranges;
};

struct GenerationReport {
  image::GenerationEntry entry;                   // as listed in the index
  std::string path;                               // the generation file
  std::optional<image::GenerationHeader> header;  // absent if unreadable
  std::vector<ProcessReport> processes;
  std::vector<StorageFileReport> files;
  std::string error;  // why (part of) the generation could not be read

  bool incremental() const {
    return static_cast<image::GenerationKind>(entry.kind) == image::GenerationKind::kIncremental;
  }
};

// Page counts of one process or of a whole generation (summed over its
// processes). An incremental generation holds exactly the pages the dirty
// tracking found changed since its parent: those with content are stored,
// those that became zero are listed as zeroed, so dirty = stored + zeroed.
// A full generation stores every non-zero page and lists none as zeroed;
// it has no dirty count.
struct PageCounts {
  std::uint64_t stored = 0;
  std::uint64_t zeroed = 0;
  std::uint64_t stored_bytes = 0;  // encoded page bytes in the file
  std::uint64_t dirty() const { return stored + zeroed; }
};
PageCounts page_counts(const ProcessReport& process);
PageCounts page_counts(const GenerationReport& generation);

struct PagesFromGeneration {
  std::uint64_t seq = 0;
  std::uint64_t pages = 0;
};

struct ResolvedProcessReport {
  image::ProcessInfo info;
  std::uint64_t pages = 0;
  std::vector<PagesFromGeneration> pages_by_generation;
  std::vector<std::uint64_t> addresses;  // with list_pages
  std::string sha256;                    // with digest
};

struct ResolvedFileReport {
  image::FileRecord record;
  std::string sha256;  // with digest; empty for directories
};

struct ChainReport {
  std::vector<image::GenerationEntry> links;  // full generation first
  std::vector<ResolvedProcessReport> processes;
  std::vector<ResolvedFileReport> files;
  std::string error;  // set if the chain does not resolve
};

struct VerifyOutcome {
  bool ok = false;
  image::VerifyReport counts;
  std::string error;
};

struct ImageReport {
  std::string path;
  std::uint64_t format_version = 0;
  image::ImageMetadata metadata;
  std::size_t generations_in_index = 0;
  std::vector<GenerationReport> generations;  // index order (filtered by --generation)
  std::optional<ChainReport> chain;           // absent with --generation or no generations
  std::optional<VerifyOutcome> verify;        // with verify
  std::vector<Problem> problems;

  // The exit code the problems call for (0 if none).
  int exit_code() const;
};

// Reads the image. Throws InputError (missing, unreadable, foreign file,
// unknown --generation), FormatVersionError (newer index) or ImageError
// (index damaged); problems further down are recorded in the report.
ImageReport build_image_report(const std::string& path, const InspectOptions& options);

}  // namespace ckpt::tools
