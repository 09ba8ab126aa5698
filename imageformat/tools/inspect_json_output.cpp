// JSON rendering of ckpt-inspect (--json). The schema is documented in
// share/man/ckpt-inspect.1; keep the two in step. Addresses are hex strings
// (they exceed the 2^53 integers JSON parsers keep exactly), sizes and
// counts are integers.
#include "formatting.hpp"
#include "inspect_output.hpp"
#include "json_writer.hpp"

namespace ckpt::tools {
namespace {

void write_strings(JsonWriter& json, std::string_view name, const std::vector<std::string>& items) {
  json.key(name);
  json.begin_array();
  for (const auto& item : items) json.value(item);
  json.end_array();
}

void write_addresses(JsonWriter& json, std::string_view name,
                     const std::vector<std::uint64_t>& addresses) {
  json.key(name);
  json.begin_array();
  for (const auto address : addresses) json.value(hex_address(address));
  json.end_array();
}

void write_region(JsonWriter& json, const image::Region& region) {
  json.begin_object();
  json.member("start", hex_address(region.start));
  json.member("end", hex_address(region.end));
  json.member("prot", protection_string(region.prot));
  json.member("kind", region_kind_name(region.kind));
  write_strings(json, "flags", region_flag_names(region.flags));
  json.member("file_offset", region.file_offset);
  json.member("path", region.path);
  json.end_object();
}

void write_descriptor(JsonWriter& json, const image::DescriptorRecord& descriptor) {
  json.begin_object();
  json.member("fd", descriptor.fd);
  json.member("kind", descriptor_kind_name(descriptor.kind));
  write_strings(json, "flags", descriptor_flag_names(descriptor.open_flags, descriptor.fd_flags));
  json.member("offset", descriptor.offset);
  json.member("path", descriptor.path);
  json.end_object();
}

void write_process_info(JsonWriter& json, const image::ProcessInfo& info) {
  json.member("pid", info.pid);
  json.member("ppid", info.ppid);
  json.member("pgid", info.pgid);
  json.member("sid", info.sid);
  json.member("exe", info.exe);
  write_strings(json, "argv", info.argv);
  json.member("cwd", info.cwd);
}

// Pages found written since the parent: an integer in an incremental
// generation, null in a full one (it stores every non-zero page).
void write_dirty_pages(JsonWriter& json, const PageCounts& pages, bool incremental) {
  json.key("dirty_pages");
  if (incremental) {
    json.value(pages.dirty());
  } else {
    json.null();
  }
}

void write_process(JsonWriter& json, const ProcessReport& process, bool incremental,
                   const InspectOptions& options) {
  json.begin_object();
  write_process_info(json, process.tables.info);
  if (process.exited_wait_status) json.member("exited_wait_status", *process.exited_wait_status);
  if (process.channels) {
    json.key("channels");
    json.begin_array();
    for (const auto& use : process.channels->uses) {
      for (const auto& description : process.channels->descriptions) {
        if (description.id != use.description) continue;
        json.begin_object();
        json.member("fd", use.fd);
        json.member("kind", std::string(image::channel_kind_name(description.kind)));
        json.member("description", description.id);
        json.member("in_flight_bytes", description.has_data ? description.in_flight.size() : 0);
        json.member("at_restart", image::restart_outcome(description, use.fd));
        json.end_object();
      }
    }
    json.end_array();
  }
  json.member("stored_pages", process.stored_pages);
  json.member("zero_pages", process.zero_pages);
  write_dirty_pages(json, page_counts(process), incremental);
  json.member("chunks", process.chunks);
  json.member("stored_bytes", process.stored_bytes);
  if (options.list_pages) {
    write_addresses(json, "stored_page_addresses", process.stored_addresses);
    write_addresses(json, "zero_page_addresses", process.zero_addresses);
  }
  if (options.digest) json.member("pages_sha256", process.pages_sha256);
  json.key("threads");
  json.begin_array();
  for (const auto& thread : process.tables.threads) json.value(thread.tid);
  json.end_array();
  json.key("regions");
  json.begin_array();
  for (const auto& region : process.tables.regions) write_region(json, region);
  json.end_array();
  json.key("descriptors");
  json.begin_array();
  for (const auto& descriptor : process.tables.descriptors) write_descriptor(json, descriptor);
  json.end_array();
  json.end_object();
}

void write_storage_file(JsonWriter& json, const StorageFileReport& file) {
  json.begin_object();
  json.member("path", file.record.path);
  json.member("kind", file_kind_name(file.record.kind));
  json.member("size", file.record.size);
  json.member("mode", octal_mode(file.record.mode));
  json.member("mtime_ns", file.record.mtime_ns);
  json.key("ranges");
  json.begin_array();
  for (const auto& range : file.ranges) {
    json.begin_object();
    json.member("offset", range.file_offset);
    json.member("length", range.length);
    json.end_object();
  }
  json.end_array();
  json.end_object();
}

void write_generation(JsonWriter& json, const GenerationReport& generation,
                      const InspectOptions& options) {
  const auto& entry = generation.entry;
  json.begin_object();
  json.member("seq", entry.seq);
  json.member("kind", image::generation_kind_name(static_cast<image::GenerationKind>(entry.kind)));
  json.member("time", iso8601_utc(entry.time_ns));
  json.member("time_ns", entry.time_ns);
  json.member("file", entry.file);
  json.member("bytes", entry.bytes);
  json.member("parent", entry.parent);
  if (generation.header) {
    json.member("codec", image::codec_name(generation.header->codec));
    json.member("dirty_engine", generation.header->dirty_engine);
    json.member("note", generation.header->note);
  }
  const PageCounts pages = page_counts(generation);
  json.member("stored_pages", pages.stored);
  json.member("zero_pages", pages.zeroed);
  write_dirty_pages(json, pages, generation.incremental());
  json.member("stored_bytes", pages.stored_bytes);
  json.key("processes");
  json.begin_array();
  for (const auto& process : generation.processes) {
    write_process(json, process, generation.incremental(), options);
  }
  json.end_array();
  json.key("files");
  json.begin_array();
  for (const auto& file : generation.files) write_storage_file(json, file);
  json.end_array();
  if (!generation.error.empty()) json.member("error", generation.error);
  json.end_object();
}

void write_chain(JsonWriter& json, const ChainReport& chain, const InspectOptions& options) {
  json.begin_object();
  json.key("generations");
  json.begin_array();
  for (const auto& entry : chain.links) json.value(entry.seq);
  json.end_array();
  json.key("processes");
  json.begin_array();
  for (const auto& process : chain.processes) {
    json.begin_object();
    write_process_info(json, process.info);
    json.member("resolved_pages", process.pages);
    json.key("pages_by_generation");
    json.begin_array();
    for (const auto& from : process.pages_by_generation) {
      json.begin_object();
      json.member("seq", from.seq);
      json.member("pages", from.pages);
      json.end_object();
    }
    json.end_array();
    if (options.list_pages) write_addresses(json, "page_addresses", process.addresses);
    if (options.digest) json.member("sha256", process.sha256);
    json.end_object();
  }
  json.end_array();
  json.key("files");
  json.begin_array();
  for (const auto& file : chain.files) {
    json.begin_object();
    json.member("path", file.record.path);
    json.member("kind", file_kind_name(file.record.kind));
    json.member("size", file.record.size);
    json.member("mode", octal_mode(file.record.mode));
    if (options.digest && !file.sha256.empty()) json.member("sha256", file.sha256);
    json.end_object();
  }
  json.end_array();
  if (!chain.error.empty()) json.member("error", chain.error);
  json.end_object();
}

void write_verify(JsonWriter& json, const VerifyOutcome& outcome) {
  json.begin_object();
  json.member("ok", outcome.ok);
  if (outcome.ok) {
    json.member("generations", outcome.counts.generations);
    json.member("processes", outcome.counts.processes);
    json.member("chunks", outcome.counts.chunks);
    json.member("bytes", outcome.counts.bytes);
  } else {
    json.member("error", outcome.error);
  }
  json.end_object();
}

}  // namespace

void print_json_report(std::ostream& out, const ImageReport& report,
                       const InspectOptions& options) {
  JsonWriter json(out);
  json.begin_object();
  json.member("path", report.path);
  json.member("format", "ckpt-image");
  json.member("format_version", report.format_version);
  json.member("job", report.metadata.job);
  json.member("policy", report.metadata.policy_text);
  json.member("generation_count", report.generations_in_index);
  json.key("generations");
  json.begin_array();
  for (const auto& generation : report.generations) write_generation(json, generation, options);
  json.end_array();
  json.key("chain");
  if (report.chain) {
    write_chain(json, *report.chain, options);
  } else {
    json.null();
  }
  if (report.verify) {
    json.key("verify");
    write_verify(json, *report.verify);
  }
  json.key("problems");
  json.begin_array();
  for (const auto& problem : report.problems) json.value(problem.message);
  json.end_array();
  json.end_object();
  json.finish();
}

}  // namespace ckpt::tools
