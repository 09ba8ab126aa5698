// Small helpers shared by the storage checkpoint's two halves
// (storage_checkpoint.cpp: saving; storage_rollback.cpp: restoring).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace ckpt::engine {

inline std::string normal(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}

inline std::int64_t nanoseconds(const timespec& time) {
  return static_cast<std::int64_t>(time.tv_sec) * 1000000000 + time.tv_nsec;
}

}  // namespace ckpt::engine
