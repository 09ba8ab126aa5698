// Byte-buffer comparison that reports the first difference instead of
// printing both buffers.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

inline bool same_bytes(const std::vector<std::byte>& actual, const std::vector<std::byte>& expected) {
  if (actual.size() != expected.size()) {
    UNSCOPED_INFO("sizes differ: " << actual.size() << " vs " << expected.size());
    return false;
  }
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != expected[i]) {
      UNSCOPED_INFO("first difference at byte " << i << ": " << int(actual[i]) << " vs "
                                                << int(expected[i]));
      return false;
    }
  }
  return true;
}
