// Facts about this machine that a restored process depends on: the CPU
// features it may use (the XSAVE layout of its signal frames, instruction
// sets chosen at start-up by glibc's ifuncs) and the kernel/vDSO.
#pragma once

#include <optional>
#include <string>

#include "protocol.h"

namespace ckpt::engine {

// Fills the compatibility fields of `facts` from this machine.
void record_machine_facts(CkptProcessFacts& facts, std::uint64_t vdso_bytes);

// Why `facts` cannot be restored here, in one line; nullopt if it can.
std::optional<std::string> incompatibility(const CkptProcessFacts& facts);

}  // namespace ckpt::engine
