#include "formatting.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <cstdio>
#include <ctime>

namespace ckpt::tools {

std::string human_size(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string iso8601_utc(std::int64_t time_ns) {
  std::int64_t seconds = time_ns / 1'000'000'000;
  if (time_ns < 0 && time_ns % 1'000'000'000 != 0) --seconds;  // floor
  const std::time_t when = static_cast<std::time_t>(seconds);
  std::tm utc{};
  if (::gmtime_r(&when, &utc) == nullptr) return "?";
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string hex_address(std::uint64_t address) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

std::string protection_string(std::uint32_t prot) {
  std::string text = "---";
  if ((prot & PROT_READ) != 0) text[0] = 'r';
  if ((prot & PROT_WRITE) != 0) text[1] = 'w';
  if ((prot & PROT_EXEC) != 0) text[2] = 'x';
  return text;
}

std::string region_kind_name(std::uint32_t kind) {
  switch (static_cast<image::RegionKind>(kind)) {
    case image::RegionKind::kAnonymous:
      return "anonymous";
    case image::RegionKind::kHeap:
      return "heap";
    case image::RegionKind::kStack:
      return "stack";
    case image::RegionKind::kFilePrivate:
      return "file-private";
    case image::RegionKind::kFileShared:
      return "file-shared";
    case image::RegionKind::kVdso:
      return "vdso";
    case image::RegionKind::kVvar:
      return "vvar";
    case image::RegionKind::kVvarVclock:
      return "vvar-vclock";
    case image::RegionKind::kVsyscall:
      return "vsyscall";
    case image::RegionKind::kOther:
      return "other";
  }
  return "kind-" + std::to_string(kind);
}

std::vector<std::string> region_flag_names(std::uint32_t flags) {
  std::vector<std::string> names;
  if ((flags & image::kRegionShared) != 0) names.emplace_back("shared");
  if ((flags & image::kRegionFresh) != 0) names.emplace_back("fresh");
  if ((flags & image::kRegionGrowsDown) != 0) names.emplace_back("grows-down");
  if ((flags & image::kRegionSharedContent) != 0) names.emplace_back("content");
  const std::uint32_t known = image::kRegionShared | image::kRegionFresh | image::kRegionGrowsDown |
                              image::kRegionSharedContent;
  if ((flags & ~known) != 0) names.push_back(hex_address(flags & ~known));
  return names;
}

std::string descriptor_kind_name(std::uint32_t kind) {
  switch (static_cast<image::DescriptorKind>(kind)) {
    case image::DescriptorKind::kRegularFile:
      return "file";
    case image::DescriptorKind::kDirectory:
      return "dir";
    case image::DescriptorKind::kCharDevice:
      return "chr";
    case image::DescriptorKind::kPipe:
      return "pipe";
    case image::DescriptorKind::kSocket:
      return "socket";
    case image::DescriptorKind::kFifo:
      return "fifo";
    case image::DescriptorKind::kOther:
      return "other";
  }
  return "kind-" + std::to_string(kind);
}

std::vector<std::string> descriptor_flag_names(std::int32_t open_flags, std::int32_t fd_flags) {
  std::vector<std::string> names;
  switch (open_flags & O_ACCMODE) {
    case O_RDONLY:
      names.emplace_back("rdonly");
      break;
    case O_WRONLY:
      names.emplace_back("wronly");
      break;
    case O_RDWR:
      names.emplace_back("rdwr");
      break;
    default:
      names.emplace_back("accmode-3");
  }
  struct NamedFlag {
    int bit;
    const char* name;
  };
  static constexpr NamedFlag kOpenFlags[] = {
      {O_APPEND, "append"}, {O_NONBLOCK, "nonblock"}, {O_SYNC, "sync"},
      {O_DIRECT, "direct"}, {O_NOATIME, "noatime"},   {O_PATH, "path"},
  };
  for (const auto& flag : kOpenFlags) {
    if ((open_flags & flag.bit) == flag.bit) names.emplace_back(flag.name);
  }
  if ((fd_flags & FD_CLOEXEC) != 0) names.emplace_back("cloexec");
  return names;
}

std::string file_kind_name(std::uint32_t kind) {
  switch (static_cast<image::FileEntryKind>(kind)) {
    case image::FileEntryKind::kWhole:
      return "whole";
    case image::FileEntryKind::kRanges:
      return "ranges";
    case image::FileEntryKind::kDeleted:
      return "deleted";
    case image::FileEntryKind::kDirectory:
      return "directory";
  }
  return "kind-" + std::to_string(kind);
}

std::string octal_mode(std::uint32_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", mode & 07777u);
  return text;
}

std::string printable(const std::string& text) {
  std::string shown;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      shown += escaped;
    } else {
      shown += c;
    }
  }
  return shown;
}

std::string shell_words(const std::vector<std::string>& words) {
  std::vector<std::string> quoted;
  for (const auto& word : words) {
    const bool plain = !word.empty() && word.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789-_=+./:,@%") == std::string::npos;
    if (plain) {
      quoted.push_back(printable(word));
      continue;
    }
    std::string text = "'";
    for (const char c : word) text += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted.push_back(printable(text + "'"));
  }
  return join(quoted, " ");
}

std::string counted(std::uint64_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::string join(const std::vector<std::string>& words, const std::string& separator,
                 const std::string& empty) {
  if (words.empty()) return empty;
  std::string text = words.front();
  for (std::size_t i = 1; i < words.size(); ++i) text += separator + words[i];
  return text;
}

std::vector<PageRun> page_runs(const std::vector<std::uint64_t>& ascending_addresses) {
  std::vector<PageRun> runs;
  for (const std::uint64_t address : ascending_addresses) {
    if (!runs.empty() && runs.back().start + runs.back().pages * image::kPageSize == address) {
      ++runs.back().pages;
    } else {
      runs.push_back({address, 1});
    }
  }
  return runs;
}

std::vector<std::string> describe_page_runs(const std::vector<std::uint64_t>& ascending_addresses) {
  std::vector<std::string> parts;
  for (const auto& run : page_runs(ascending_addresses)) {
    parts.push_back(hex_address(run.start) + "-" +
                    hex_address(run.start + run.pages * image::kPageSize) + " (" +
                    std::to_string(run.pages) + ")");
  }
  return parts;
}

}  // namespace ckpt::tools
