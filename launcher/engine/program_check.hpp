// Refusing, before the launch, programs the agent cannot follow: a
// statically linked program ignores LD_PRELOAD, so it could never be
// checkpointed (the agent refuses them at exec time the same way).
#pragma once

#include <optional>
#include <string>

namespace ckpt::engine {

// One line saying why `command` (a path, or a name looked up on PATH)
// cannot run under ckpt; nullopt when it can (or is not found: the launch
// reports that).
std::optional<std::string> static_program_refusal(const std::string& command);

}  // namespace ckpt::engine
