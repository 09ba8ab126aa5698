// Text rendering of ckpt-inspect. Layout: image header, one summary row per
// generation, then per generation its processes (tables of regions and
// descriptors) and storage files, then the current chain with resolved page
// counts, then digests/verify results when asked for.
#include <algorithm>

#include "formatting.hpp"
#include "inspect_output.hpp"
#include "text_table.hpp"

namespace ckpt::tools {
namespace {

using Align = TextTable::Align;
constexpr std::size_t kRangesShown = 4;

constexpr std::size_t kLineWidth = 100;

// "<indent><label>item, item, ..." wrapped at kLineWidth; continuation lines
// line up under the first item.
void print_wrapped(std::ostream& out, const std::string& indent, const std::string& label,
                   const std::vector<std::string>& items) {
  const std::string lead = indent + label;
  std::string line = lead;
  if (items.empty()) line += "none";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string piece = items[i] + (i + 1 < items.size() ? "," : "");
    if (line.size() > lead.size() && line.size() + 1 + piece.size() > kLineWidth) {
      out << line << '\n';
      line = std::string(lead.size(), ' ');
    } else if (line.size() > lead.size()) {
      line += ' ';
    }
    line += piece;
  }
  out << line << '\n';
}

std::string chain_arrows(const std::vector<image::GenerationEntry>& links) {
  std::vector<std::string> seqs;
  for (const auto& entry : links) seqs.push_back(std::to_string(entry.seq));
  return join(seqs, " -> ", "none");
}

std::uint64_t line_count(const std::string& text) {
  if (text.empty()) return 0;
  return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n')) +
         (text.back() == '\n' ? 0 : 1);
}

void print_header(std::ostream& out, const ImageReport& report) {
  out << "image    " << printable(report.path) << '\n';
  out << "format   ckpt-image, version " << report.format_version << '\n';
  out << "job      " << printable(report.metadata.job) << '\n';
  const auto lines = line_count(report.metadata.policy_text);
  out << "policy   "
      << (lines == 0 ? std::string("none")
                     : std::to_string(lines) + " lines of TOML (ckpt-inspect --json shows it)")
      << '\n';
  if (report.chain) {
    out << "chain    " << chain_arrows(report.chain->links) << " (what a restart loads)\n";
  } else if (report.generations_in_index == 0) {
    out << "chain    none: no committed checkpoint yet\n";
  }
}

void print_generation_summary(std::ostream& out, const ImageReport& report) {
  out << "\ngenerations (" << report.generations_in_index << " in the index)\n";
  if (report.generations.empty()) return;
  // ENGINE: the dirty-tracking engine; STORED: pages with content (in an
  // incremental generation the dirty ones); ZEROED: dirty pages that became
  // zero; DIRTY: STORED + ZEROED of an incremental generation.
  TextTable table({{"SEQ", Align::kRight},
                   {"KIND"},
                   {"COMMITTED (UTC)"},
                   {"SIZE", Align::kRight},
                   {"PARENT", Align::kRight},
                   {"CODEC"},
                   {"ENGINE"},
                   {"PROCS", Align::kRight},
                   {"STORED", Align::kRight},
                   {"ZEROED", Align::kRight},
                   {"DIRTY", Align::kRight},
                   {"FILES", Align::kRight},
                   {"NOTE"}});
  for (const auto& generation : report.generations) {
    const auto& entry = generation.entry;
    const std::string kind(
        image::generation_kind_name(static_cast<image::GenerationKind>(entry.kind)));
    if (!generation.header) {
      table.add_row({std::to_string(entry.seq), kind, iso8601_utc(entry.time_ns),
                     human_size(entry.bytes),
                     entry.parent == 0 ? "-" : std::to_string(entry.parent), "?", "?", "?", "?",
                     "?", "?", "?", "UNREADABLE"});
      continue;
    }
    const auto& header = *generation.header;
    const PageCounts pages = page_counts(generation);
    table.add_row({std::to_string(entry.seq), kind, iso8601_utc(entry.time_ns),
                   human_size(entry.bytes), entry.parent == 0 ? "-" : std::to_string(entry.parent),
                   std::string(image::codec_name(header.codec)), printable(header.dirty_engine),
                   std::to_string(generation.processes.size()), std::to_string(pages.stored),
                   std::to_string(pages.zeroed),
                   generation.incremental() ? std::to_string(pages.dirty()) : "-",
                   std::to_string(generation.files.size()), printable(header.note)});
  }
  table.print(out, "  ");
}

void print_regions(std::ostream& out, const std::vector<image::Region>& regions) {
  TextTable table({{"START"}, {"END"}, {"PROT"}, {"KIND"}, {"FLAGS"}, {"PATH"}});
  for (const auto& region : regions) {
    table.add_row({hex_address(region.start), hex_address(region.end),
                   protection_string(region.prot), region_kind_name(region.kind),
                   join(region_flag_names(region.flags), ",", "-"), printable(region.path)});
  }
  out << "    regions (" << regions.size() << ")\n";
  if (!table.empty()) table.print(out, "      ");
}

void print_descriptors(std::ostream& out, const std::vector<image::DescriptorRecord>& descriptors) {
  TextTable table(
      {{"FD", Align::kRight}, {"KIND"}, {"FLAGS"}, {"OFFSET", Align::kRight}, {"PATH"}});
  for (const auto& descriptor : descriptors) {
    table.add_row({std::to_string(descriptor.fd), descriptor_kind_name(descriptor.kind),
                   join(descriptor_flag_names(descriptor.open_flags, descriptor.fd_flags), ","),
                   std::to_string(descriptor.offset), printable(descriptor.path)});
  }
  out << "    descriptors (" << descriptors.size() << ")\n";
  if (!table.empty()) table.print(out, "      ");
}

void print_channels(std::ostream& out, const ProcessReport& process) {
  if (!process.channels_error.empty()) {
    out << "    channels: " << process.channels_error << '\n';
    return;
  }
  if (!process.channels || process.channels->uses.empty()) return;
  TextTable table({{"FD", Align::kRight},
                   {"KIND"},
                   {"DESCRIPTION", Align::kRight},
                   {"IN FLIGHT", Align::kRight},
                   {"AT RESTART"}});
  for (const auto& use : process.channels->uses) {
    const image::ChannelDescription* description = nullptr;
    for (const auto& known : process.channels->descriptions) {
      if (known.id == use.description) description = &known;
    }
    if (description == nullptr) continue;
    const std::string queued =
        description->has_data ? std::to_string(description->in_flight.size()) + " B" : "-";
    table.add_row({std::to_string(use.fd), image::channel_kind_name(description->kind),
                   "#" + std::to_string(description->id), queued,
                   image::restart_outcome(*description, use.fd)});
  }
  out << "    channels (" << process.channels->uses.size() << ")\n";
  table.print(out, "      ");
}

// "N stored in C chunks (size), M zeroed", and for an incremental generation
// what that makes dirty since its parent.
std::string describe_pages(const ProcessReport& process, const GenerationReport& generation) {
  const PageCounts pages = page_counts(process);
  std::string text = std::to_string(pages.stored) + " stored in " +
                     counted(process.chunks, "chunk") + " (" + human_size(pages.stored_bytes) +
                     "), " + std::to_string(pages.zeroed) + " zeroed";
  if (generation.incremental()) {
    text += ": " + std::to_string(pages.dirty()) + " dirty since generation " +
            std::to_string(generation.entry.parent);
  } else {
    text += " (full: every non-zero page)";
  }
  return text;
}

void print_process(std::ostream& out, const ProcessReport& process,
                   const GenerationReport& generation, const InspectOptions& options) {
  const auto& info = process.tables.info;
  out << "  process " << info.pid << ": ppid " << info.ppid << ", pgid " << info.pgid << ", sid "
      << info.sid << '\n';
  if (process.exited_wait_status) {
    const int status = *process.exited_wait_status;
    out << "    exited   "
        << ((status & 0x7f) == 0 ? "with status " + std::to_string((status >> 8) & 0xff)
                                 : "by signal " + std::to_string(status & 0x7f))
        << ", not yet waited for by its parent\n";
    return;
  }
  out << "    exe      " << printable(info.exe) << '\n';
  out << "    argv     " << shell_words(info.argv) << '\n';
  out << "    cwd      " << printable(info.cwd) << '\n';
  out << "    pages    " << describe_pages(process, generation) << '\n';
  std::vector<std::string> tids;
  for (const auto& thread : process.tables.threads) tids.push_back(std::to_string(thread.tid));
  out << "    threads  " << tids.size() << (tids.empty() ? "" : ": " + join(tids, " ")) << '\n';
  if (options.list_pages) {
    print_wrapped(out, "    ", "stored pages  ", describe_page_runs(process.stored_addresses));
    print_wrapped(out, "    ", "zeroed pages  ", describe_page_runs(process.zero_addresses));
  }
  if (options.digest) out << "    pages sha256  " << process.pages_sha256 << '\n';
  print_regions(out, process.tables.regions);
  print_descriptors(out, process.tables.descriptors);
  print_channels(out, process);
}

std::string describe_ranges(const std::vector<image::FileRange>& ranges) {
  std::vector<std::string> shown;
  for (std::size_t r = 0; r < ranges.size() && r < kRangesShown; ++r) {
    shown.push_back(std::to_string(ranges[r].file_offset) + "+" + std::to_string(ranges[r].length));
  }
  std::string text = std::to_string(ranges.size());
  if (!shown.empty()) text += ": " + join(shown, ", ");
  if (ranges.size() > kRangesShown) {
    text += ", ... (" + std::to_string(ranges.size() - kRangesShown) + " more, see --json)";
  }
  return text;
}

void print_storage_files(std::ostream& out, const std::vector<StorageFileReport>& files) {
  out << "  storage files (" << files.size() << ")\n";
  if (files.empty()) return;
  TextTable table(
      {{"PATH"}, {"KIND"}, {"SIZE", Align::kRight}, {"MODE"}, {"RANGES (offset+length)"}});
  for (const auto& file : files) {
    table.add_row({printable(file.record.path), file_kind_name(file.record.kind),
                   std::to_string(file.record.size), octal_mode(file.record.mode),
                   describe_ranges(file.ranges)});
  }
  table.print(out, "    ");
}

void print_generation_details(std::ostream& out, const GenerationReport& generation,
                              const InspectOptions& options) {
  const auto kind =
      image::generation_kind_name(static_cast<image::GenerationKind>(generation.entry.kind));
  out << "\ngeneration " << generation.entry.seq << " (" << kind << "), "
      << printable(generation.entry.file) << '\n';
  if (generation.header) {
    const PageCounts pages = page_counts(generation);
    out << "  pages    " << pages.stored << " stored, " << pages.zeroed << " zeroed";
    if (generation.incremental()) out << ", " << pages.dirty() << " dirty";
    out << " in " << generation.processes.size()
        << (generation.processes.size() == 1 ? " process" : " processes")
        << " (dirty tracking: " << printable(generation.header->dirty_engine) << ")\n";
  }
  if (!generation.error.empty()) out << "  UNREADABLE: " << printable(generation.error) << '\n';
  for (const auto& process : generation.processes) print_process(out, process, generation, options);
  if (generation.header) print_storage_files(out, generation.files);
}

void print_chain(std::ostream& out, const ChainReport& chain, const InspectOptions& options) {
  std::uint64_t incrementals = chain.links.empty() ? 0 : chain.links.size() - 1;
  out << "\ncurrent chain: " << chain_arrows(chain.links) << " (1 full + " << incrementals
      << " incremental)\n";
  if (!chain.error.empty()) {
    out << "  DOES NOT RESOLVE: " << printable(chain.error) << '\n';
    return;
  }
  std::vector<TextTable::Column> columns = {
      {"PID", Align::kRight}, {"PAGES", Align::kRight}, {"FROM GENERATION:PAGES"}};
  if (options.digest) columns.push_back({"SHA256 (address+page)"});
  TextTable processes(columns);
  for (const auto& process : chain.processes) {
    std::vector<std::string> sources;
    for (const auto& from : process.pages_by_generation) {
      sources.push_back(std::to_string(from.seq) + ":" + std::to_string(from.pages));
    }
    std::vector<std::string> row = {std::to_string(process.info.pid), std::to_string(process.pages),
                                    join(sources, " ", "-")};
    if (options.digest) row.push_back(process.sha256);
    processes.add_row(std::move(row));
  }
  out << "  resolved processes (" << chain.processes.size() << ")\n";
  if (!processes.empty()) processes.print(out, "    ");
  if (options.list_pages) {
    for (const auto& process : chain.processes) {
      print_wrapped(out, "    ", "pages of " + std::to_string(process.info.pid) + ": ",
                    describe_page_runs(process.addresses));
    }
  }
  std::vector<TextTable::Column> file_columns = {
      {"PATH"}, {"KIND"}, {"SIZE", Align::kRight}, {"MODE"}};
  if (options.digest) file_columns.push_back({"SHA256"});
  TextTable files(file_columns);
  for (const auto& file : chain.files) {
    std::vector<std::string> row = {printable(file.record.path), file_kind_name(file.record.kind),
                                    std::to_string(file.record.size), octal_mode(file.record.mode)};
    if (options.digest) row.push_back(file.sha256.empty() ? "-" : file.sha256);
    files.add_row(std::move(row));
  }
  out << "  resolved files (" << chain.files.size() << ")\n";
  if (!files.empty()) files.print(out, "    ");
}

void print_verify(std::ostream& out, const VerifyOutcome& outcome) {
  out << '\n';
  if (outcome.ok) {
    out << "verified: " << outcome.counts.generations << " generations, "
        << outcome.counts.processes << " processes, " << outcome.counts.chunks << " chunks, "
        << outcome.counts.bytes << " bytes\n";
  } else {
    out << "verify FAILED: " << printable(outcome.error) << '\n';
  }
}

}  // namespace

void print_text_report(std::ostream& out, const ImageReport& report,
                       const InspectOptions& options) {
  print_header(out, report);
  print_generation_summary(out, report);
  for (const auto& generation : report.generations) {
    print_generation_details(out, generation, options);
  }
  if (report.chain) print_chain(out, *report.chain, options);
  if (report.verify) print_verify(out, *report.verify);
}

}  // namespace ckpt::tools
