// Reads a /proc text file line by line with raw system calls and a fixed
// buffer: usable while other threads are parked or in the twin.
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>

#include "raw_syscall.hpp"

namespace ckpt::agent {

class ProcLines {
 public:
  explicit ProcLines(const char* path)
      : fd_(static_cast<int>(sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC))) {}
  ~ProcLines() {
    if (fd_ >= 0) sys(SYS_close, fd_);
  }
  ProcLines(const ProcLines&) = delete;
  ProcLines& operator=(const ProcLines&) = delete;

  bool opened() const { return fd_ >= 0; }

  // The next line without its '\n', NUL-terminated; nullptr at the end.
  // Lines longer than the buffer are cut (the rest is skipped).
  const char* next() {
    for (;;) {
      for (unsigned long i = begin_; i < end_; ++i) {
        if (buffer_[i] == '\n') {
          buffer_[i] = '\0';
          const char* line = buffer_ + begin_;
          begin_ = i + 1;
          return line;
        }
      }
      if (fd_ < 0) return nullptr;
      // Move the partial line to the front and read more.
      const unsigned long partial = end_ - begin_;
      if (partial == sizeof buffer_ - 1) {  // overlong line: cut it here
        buffer_[end_] = '\0';
        begin_ = end_ = 0;
        skip_rest_ = true;
        return buffer_;
      }
      for (unsigned long i = 0; i < partial; ++i) buffer_[i] = buffer_[begin_ + i];
      begin_ = 0;
      end_ = partial;
      const long got = sys(SYS_read, fd_, buffer_ + end_, sizeof buffer_ - 1 - end_);
      if (got <= 0) {
        sys(SYS_close, fd_);
        fd_ = -1;
        if (end_ == 0) return nullptr;
        buffer_[end_] = '\0';
        begin_ = end_;
        return buffer_;
      }
      end_ += static_cast<unsigned long>(got);
      if (skip_rest_) {
        unsigned long i = 0;
        while (i < end_ && buffer_[i] != '\n') ++i;
        if (i == end_) {
          end_ = 0;
          continue;
        }
        begin_ = i + 1;
        skip_rest_ = false;
      }
    }
  }

 private:
  int fd_;
  unsigned long begin_ = 0, end_ = 0;
  bool skip_rest_ = false;
  char buffer_[8192];
};

inline unsigned long parse_hex(const char*& cursor) {
  unsigned long value = 0;
  for (;; ++cursor) {
    const char c = *cursor;
    if (c >= '0' && c <= '9') {
      value = value * 16 + static_cast<unsigned long>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value = value * 16 + static_cast<unsigned long>(c - 'a' + 10);
    } else {
      return value;
    }
  }
}

inline bool starts_with(const char* text, const char* prefix) {
  while (*prefix != '\0') {
    if (*text++ != *prefix++) return false;
  }
  return true;
}

// One line of /proc/PID/maps (or a header line of smaps).
struct MapsLine {
  unsigned long start = 0, end = 0;
  char permissions[5] = {};
  const char* path = "";  // points into the line
};

inline bool parse_maps_line(const char* line, MapsLine& out) {
  const char* cursor = line;
  if (!((*cursor >= '0' && *cursor <= '9') || (*cursor >= 'a' && *cursor <= 'f'))) return false;
  out.start = parse_hex(cursor);
  if (*cursor++ != '-') return false;
  out.end = parse_hex(cursor);
  if (*cursor++ != ' ') return false;
  for (int i = 0; i < 4; ++i) {
    if (*cursor == '\0') return false;
    out.permissions[i] = *cursor++;
  }
  // offset, device, inode, then spaces and the path
  for (int field = 0; field < 3; ++field) {
    while (*cursor == ' ') ++cursor;
    while (*cursor != ' ' && *cursor != '\0') ++cursor;
  }
  while (*cursor == ' ') ++cursor;
  out.path = cursor;
  return true;
}

// Calls visit(number, folder_fd) for every numeric entry of a /proc folder
// (/proc/self/task, /proc/self/fd); visit returns false to stop early.
// folder_fd is the descriptor reading the folder (skip it in .../fd).
// Returns false if the folder cannot be opened.
template <class Visit>
bool for_each_numbered_entry(const char* path, Visit visit) {
  const int folder =
      static_cast<int>(sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (folder < 0) return false;
  struct Entry {
    unsigned long inode;
    long next;
    unsigned short length;
    unsigned char type;
    char name[1];
  };
  char buffer[4096];
  bool more = true;
  while (more) {
    const long got = sys(SYS_getdents64, folder, buffer, sizeof buffer);
    if (got <= 0) break;
    for (long offset = 0; offset < got && more;) {
      const auto* entry = reinterpret_cast<const Entry*>(buffer + offset);
      offset += entry->length;
      if (entry->name[0] >= '0' && entry->name[0] <= '9') {
        more = visit(static_cast<int>(parse_decimal(entry->name)), folder);
      }
    }
  }
  sys(SYS_close, folder);
  return true;
}

}  // namespace ckpt::agent
