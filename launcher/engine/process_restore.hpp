// Driving one ckpt-restorer: send it the layout, write the pages into it
// (process_vm_writev), and wait until the agent reports RESTORED.
#pragma once

#include <sys/types.h>

#include <chrono>

#include "chain.hpp"
#include "channel.hpp"

namespace ckpt::engine {

struct RestoredProcess {
  pid_t outer_pid = -1;
  pid_t inner_pid = -1;
  std::uint64_t agent_state = 0;
  std::uint64_t pages_written = 0;
};

// Restores `process` into the restorer that said `hello` on `channel`
// (its children were created already), up to PAGES_WRITTEN: the agent
// then finishes on its own; await_restored() collects its RESTORED (so
// the next process's pages can be written meanwhile).
RestoredProcess restore_process(const image::ResolvedChain& chain,
                                const image::ResolvedProcess& process, const Channel& channel,
                                const CkptRestorerHello& hello, std::chrono::milliseconds timeout);

// Waits for the agent's RESTORED; returns the address of its state.
std::uint64_t await_restored(const Channel& channel, std::chrono::milliseconds timeout);

// The process's facts (mm fields, auxv, agent address) from the image.
CkptProcessFacts process_facts(const image::ProcessTables& tables);

// Whether the image holds a zombie for this process, and its facts.
bool is_zombie(const image::ProcessTables& tables);
CkptZombieFacts zombie_facts(const image::ProcessTables& tables);

}  // namespace ckpt::engine
