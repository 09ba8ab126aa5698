#include "image_report.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "chain.hpp"
#include "errors.hpp"
#include "image_digest.hpp"
#include "protocol.h"  // the engine's zombie record
#include "tool_errors.hpp"

namespace ckpt::tools {
namespace {

Problem problem_from(const std::exception& error) {
  return {error.what(), exit_code_for(error)};
}

ProcessReport describe_process(const image::GenerationReader& reader, std::int64_t pid,
                               const InspectOptions& options) {
  ProcessReport report;
  report.tables = reader.read_tables(pid);
  auto stored = reader.page_index(pid);
  auto zeroed = reader.zero_pages(pid);
  const auto chunks = reader.page_chunks(pid);
  report.stored_pages = stored.size();
  report.zero_pages = zeroed.size();
  report.chunks = chunks.size();
  for (const auto& chunk : chunks) report.stored_bytes += chunk.stored_bytes;
  if (options.list_pages) {
    report.stored_addresses = std::move(stored);
    report.zero_addresses = std::move(zeroed);
    std::sort(report.zero_addresses.begin(), report.zero_addresses.end());
  }
  if (options.digest) report.pages_sha256 = stored_pages_sha256(reader, pid);
  CkptZombieFacts zombie{};
  if (report.tables.misc.size() == sizeof zombie) {
    std::memcpy(&zombie, report.tables.misc.data(), sizeof zombie);
    if (zombie.magic == CKPT_ZOMBIE_MAGIC) report.exited_wait_status = zombie.wait_status;
  }
  if (!report.tables.channels.empty()) {
    try {
      report.channels = image::decode_channels(report.tables.channels);
    } catch (const std::exception& error) {
      report.channels_error = error.what();
    }
  }
  return report;
}

std::vector<StorageFileReport> describe_storage(const image::GenerationReader& reader) {
  const auto ranges = reader.ranges();
  std::vector<StorageFileReport> files;
  for (const auto& record : reader.files()) {
    StorageFileReport file;
    file.record = record;
    for (std::uint64_t r = 0; r < record.range_count; ++r) {
      if (record.first_range + r >= ranges.size()) {
        throw image::ImageError(reader.path() + ": storage ranges of " + record.path +
                                " out of bounds");
      }
      file.ranges.push_back(ranges[record.first_range + r]);
    }
    files.push_back(std::move(file));
  }
  return files;
}

GenerationReport describe_generation(const image::Image& image, const image::GenerationEntry& entry,
                                     const InspectOptions& options,
                                     std::vector<Problem>& problems) {
  GenerationReport report;
  report.entry = entry;
  report.path = image.generation_path(entry);
  try {
    const image::GenerationReader reader = image.open_generation(entry);
    report.header = reader.header();
    for (const std::int64_t pid : reader.pids()) {
      report.processes.push_back(describe_process(reader, pid, options));
    }
    report.files = describe_storage(reader);
  } catch (const image::ImageError& error) {
    report.error = error.what();
    problems.push_back(problem_from(error));
  }
  return report;
}

ResolvedProcessReport describe_resolved_process(const image::ResolvedChain& chain,
                                                const image::ResolvedProcess& process,
                                                image::PageReader& page_reader,
                                                const InspectOptions& options) {
  ResolvedProcessReport report;
  report.info = process.tables.info;
  report.pages = process.addresses.size();
  std::map<std::uint32_t, std::uint64_t> per_link;
  for (const auto& source : process.sources) ++per_link[source.link];
  for (const auto& [link, pages] : per_link) {
    report.pages_by_generation.push_back({chain.links.at(link).seq, pages});
  }
  if (options.list_pages) report.addresses = process.addresses;
  if (options.digest) report.sha256 = resolved_process_sha256(page_reader, process);
  return report;
}

ChainReport describe_chain(const image::Image& image, const InspectOptions& options,
                           std::vector<Problem>& problems) {
  ChainReport report;
  report.links = image.current_chain();
  try {
    const image::ResolvedChain chain = image::resolve_chain(image);
    image::PageReader page_reader(chain);
    for (const auto& process : chain.processes) {
      report.processes.push_back(describe_resolved_process(chain, process, page_reader, options));
    }
    for (const auto& file : chain.files) {
      ResolvedFileReport resolved{file.record, {}};
      const bool directory =
          static_cast<image::FileEntryKind>(file.record.kind) == image::FileEntryKind::kDirectory;
      if (options.digest && !directory) resolved.sha256 = resolved_file_sha256(chain, file);
      report.files.push_back(std::move(resolved));
    }
  } catch (const image::ImageError& error) {
    report.error = error.what();
    problems.push_back(problem_from(error));
  }
  return report;
}

VerifyOutcome verify(const image::Image& image, std::vector<Problem>& problems) {
  VerifyOutcome outcome;
  try {
    outcome.counts = image::verify_image(image);
    outcome.ok = true;
  } catch (const image::ImageError& error) {
    outcome.error = error.what();
    problems.push_back(problem_from(error));
  }
  return outcome;
}

std::string list_of_seqs(const std::vector<image::GenerationEntry>& generations) {
  std::string text;
  for (const auto& entry : generations) {
    text += (text.empty() ? "" : ", ") + std::to_string(entry.seq);
  }
  return text.empty() ? "none" : text;
}

}  // namespace

PageCounts page_counts(const ProcessReport& process) {
  return {process.stored_pages, process.zero_pages, process.stored_bytes};
}

PageCounts page_counts(const GenerationReport& generation) {
  PageCounts total;
  for (const auto& process : generation.processes) {
    total.stored += process.stored_pages;
    total.zeroed += process.zero_pages;
    total.stored_bytes += process.stored_bytes;
  }
  return total;
}

int ImageReport::exit_code() const {
  int code = kExitOk;
  for (const auto& problem : problems) {
    // A newer format outranks damage: the remedy is a newer ckpt.
    if (problem.exit_code == kExitNewerFormat || code == kExitOk) code = problem.exit_code;
  }
  return code;
}

ImageReport build_image_report(const std::string& path, const InspectOptions& options) {
  ImageReport report;
  report.path = path;
  report.format_version = probe_image_index(path);
  const image::Image image = image::Image::open(path);
  report.metadata = image.metadata();
  report.generations_in_index = image.generations().size();

  if (options.generation) {
    const auto& all = image.generations();
    const auto found = std::find_if(all.begin(), all.end(), [&](const auto& entry) {
      return entry.seq == *options.generation;
    });
    if (found == all.end()) {
      throw InputError(path + ": no generation " + std::to_string(*options.generation) +
                       " (committed: " + list_of_seqs(all) + ")");
    }
    report.generations.push_back(describe_generation(image, *found, options, report.problems));
  } else {
    for (const auto& entry : image.generations()) {
      report.generations.push_back(describe_generation(image, entry, options, report.problems));
    }
    if (!image.current_chain().empty())
      report.chain = describe_chain(image, options, report.problems);
  }
  if (options.verify) report.verify = verify(image, report.problems);
  return report;
}

}  // namespace ckpt::tools
