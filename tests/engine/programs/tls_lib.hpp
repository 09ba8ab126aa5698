#pragma once
#include <cstdint>

extern "C" std::uint64_t tls_lib_step(std::uint64_t value);
extern "C" std::uint64_t tls_lib_counter();
