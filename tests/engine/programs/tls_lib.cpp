// A shared library with its own TLS block (reached through the DTV and
// __tls_get_addr rather than a fixed offset from the thread pointer).
#include "tls_lib.hpp"

#include <cstdint>

namespace {
thread_local std::uint64_t t_library_counter = 0;
thread_local std::uint64_t t_library_hash = 0x1234;
}  // namespace

extern "C" std::uint64_t tls_lib_step(std::uint64_t value) {
  ++t_library_counter;
  t_library_hash = (t_library_hash ^ value) * 0x100000001b3ull;
  return t_library_hash + t_library_counter;
}

extern "C" std::uint64_t tls_lib_counter() { return t_library_counter; }
