// How ckpt-inspect and ckpt-merge spell values: sizes, times, addresses,
// protections, kinds and flags. Shared by the text and the JSON output so
// both use the same words.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema.hpp"

namespace ckpt::tools {

// "512 B", "3.4 KiB", "12.3 MiB", "1.0 GiB".
std::string human_size(std::uint64_t bytes);
// "2024-11-28T04:25:13Z" (seconds precision, UTC).
std::string iso8601_utc(std::int64_t time_ns);
// "0x7f0000000000".
std::string hex_address(std::uint64_t address);
// "rw-", "r-x", "---" from PROT_* bits.
std::string protection_string(std::uint32_t prot);
// "anonymous", "heap", "stack", "file-private", ...
std::string region_kind_name(std::uint32_t kind);
// Names of set kRegion* flags: "shared", "fresh", "grows-down", "content".
std::vector<std::string> region_flag_names(std::uint32_t flags);
// "file", "dir", "chr", "pipe", "socket", "fifo", "other".
std::string descriptor_kind_name(std::uint32_t kind);
// Access mode and notable open(2) flags plus "cloexec": "rdwr", "append"...
std::vector<std::string> descriptor_flag_names(std::int32_t open_flags, std::int32_t fd_flags);
// "whole", "ranges", "deleted", "directory".
std::string file_kind_name(std::uint32_t kind);
// "0644".
std::string octal_mode(std::uint32_t mode);
// `text` with control characters shown as \xNN, safe for one table cell.
std::string printable(const std::string& text);
// argv as a shell would need it typed: words with spaces, quotes or other
// special characters are single-quoted.
std::string shell_words(const std::vector<std::string>& words);
// "1 chunk", "3 chunks".
std::string counted(std::uint64_t count, const std::string& noun);
// Joins `words` with `separator`; `empty` if there are none.
std::string join(const std::vector<std::string>& words, const std::string& separator,
                 const std::string& empty = "");

// Consecutive page addresses folded into runs.
struct PageRun {
  std::uint64_t start = 0;
  std::uint64_t pages = 0;
};
std::vector<PageRun> page_runs(const std::vector<std::uint64_t>& ascending_addresses);
// "0x400000-0x410000 (16)" per run.
std::vector<std::string> describe_page_runs(const std::vector<std::uint64_t>& ascending_addresses);

}  // namespace ckpt::tools
