#pragma once
// Exit codes of the ckpt command-line tools (documented in their man pages).

namespace ckpt::launcher {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternalError = 1;  // a bug or an unexpected system failure
inline constexpr int kExitUsageError = 2;     // bad option, bad or unreadable policy
inline constexpr int kExitNotAvailable = 3;   // not possible here (static program, missing kernel feature)

}  // namespace ckpt::launcher
