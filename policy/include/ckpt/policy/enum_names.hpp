#pragma once
// The policy spelling of each enumerator, for parsing, printing and messages.

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ckpt/policy/policy.hpp"

namespace ckpt::policy {

template <typename Enum>
struct NamedValue {
  Enum value;
  std::string_view name;
};

inline constexpr std::array<NamedValue<AfterChain>, 2> kAfterChainNames{{
    {AfterChain::full, "full"},
    {AfterChain::merge, "merge"},
}};

inline constexpr std::array<NamedValue<DirtyTracking>, 6> kDirtyTrackingNames{{
    {DirtyTracking::automatic, "auto"},
    {DirtyTracking::uffd_wp, "uffd-wp"},
    {DirtyTracking::mprotect, "mprotect"},
    {DirtyTracking::soft_dirty, "soft-dirty"},
    {DirtyTracking::hash, "hash"},
    {DirtyTracking::none, "none"},
}};

inline constexpr std::array<NamedValue<Compression>, 3> kCompressionNames{{
    {Compression::lz4, "lz4"},
    {Compression::zstd, "zstd"},
    {Compression::none, "none"},
}};

inline constexpr std::array<NamedValue<ExternalChangeAction>, 3> kExternalChangeActionNames{{
    {ExternalChangeAction::rollback, "rollback"},
    {ExternalChangeAction::keep, "keep"},
    {ExternalChangeAction::refuse, "refuse"},
}};

inline constexpr std::array<NamedValue<BatchMode>, 2> kBatchModeNames{{
    {BatchMode::script, "script"},
    {BatchMode::steps, "steps"},
}};

inline constexpr std::array<NamedValue<FailedCheckpointAction>, 2> kFailedCheckpointActionNames{{
    {FailedCheckpointAction::requeue, "requeue"},
    {FailedCheckpointAction::end, "end"},
}};

inline constexpr std::span<const NamedValue<AfterChain>> names_of(AfterChain) {
  return kAfterChainNames;
}
inline constexpr std::span<const NamedValue<DirtyTracking>> names_of(DirtyTracking) {
  return kDirtyTrackingNames;
}
inline constexpr std::span<const NamedValue<Compression>> names_of(Compression) {
  return kCompressionNames;
}
inline constexpr std::span<const NamedValue<ExternalChangeAction>> names_of(ExternalChangeAction) {
  return kExternalChangeActionNames;
}
inline constexpr std::span<const NamedValue<BatchMode>> names_of(BatchMode) {
  return kBatchModeNames;
}
inline constexpr std::span<const NamedValue<FailedCheckpointAction>> names_of(
    FailedCheckpointAction) {
  return kFailedCheckpointActionNames;
}

template <typename Enum>
constexpr std::string_view to_string(Enum value) {
  for (const auto& named : names_of(value)) {
    if (named.value == value) return named.name;
  }
  return "?";
}

template <typename Enum>
constexpr std::optional<Enum> enum_from_string(std::string_view name) {
  for (const auto& named : names_of(Enum{})) {
    if (named.name == name) return named.value;
  }
  return std::nullopt;
}

}  // namespace ckpt::policy
