// Coordinator::checkpoint: the two-phase checkpoint of the whole group.
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include "coordinator.hpp"
#include "coordinator_channels.hpp"
#include "engine_text.hpp"
#include "group_processes.hpp"
#include "image.hpp"
#include "process_capture.hpp"
#include "shared_snapshot.hpp"

namespace ckpt::engine {

void Coordinator::handle_checkpoint_message(Member& member, std::uint64_t epoch) {
  std::vector<std::byte> message;
  try {
    message = member.channel.receive(settings_.timeout);
  } catch (const std::exception& error) {
    // A process that failed to quiesce fails the checkpoint; one whose
    // socket closed has exited (it is a zombie or gone: see quiesce_group).
    if (std::string(error.what()) != "the process went away") throw;
    member.gone = true;
    member_ended(member);
    return;
  }
  const auto header = message_as<CkptMessageHeader>(message);
  if (header.type == CKPT_MSG_HELLO) {
    // New, or it exec'd a new program: that one gets the request (again;
    // an epoch served already is skipped by the agent).
    const auto hello = message_as<CkptHello>(message);
    const bool exec = member.registered;
    member.inner_pid = hello.pid;
    member.outer_pid = member.channel.peer_pid();
    member.agent_state = hello.agent_state;
    member.registered = true;
    if (exec && !member.quiesced) {
      CkptEpoch request = checkpoint_request(epoch);
      member.channel.send(&request, sizeof request);
    }
  } else if (header.type == CKPT_MSG_QUIESCED && message_as<CkptQuiesced>(message).epoch == epoch) {
    member.quiesced = true;
    member.twin_expected = message_as<CkptQuiesced>(message).twin_pid != 0;
  } else if (header.type == CKPT_MSG_TWIN) {
    member.twin = member.channel.peer_pid();
    if (member.twin_pidfd >= 0) ::close(member.twin_pidfd);
    member.twin_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, member.twin, 0));
  }  // anything else is stale (an earlier, abandoned epoch)
}

const char* dirty_engine_name(DirtyEngine engine) {
  switch (engine) {
    case DirtyEngine::kUffdWp:
      return "uffd-wp";
    case DirtyEngine::kMprotect:
      return "mprotect";
    case DirtyEngine::kHash:
      break;
  }
  return "hash";
}

CkptEpoch Coordinator::checkpoint_request(std::uint64_t epoch) const {
  CkptEpoch request{{CKPT_MSG_CHECKPOINT, sizeof(CkptEpoch)}, epoch, CKPT_DIRTY_NONE, 0};
  if (settings_.incremental_depth > 0) {
    if (settings_.dirty_engine == DirtyEngine::kUffdWp) request.dirty_engine = CKPT_DIRTY_UFFD_WP;
    if (settings_.dirty_engine == DirtyEngine::kMprotect) request.dirty_engine = CKPT_DIRTY_MPROTECT;
  }
  return request;
}

void Coordinator::quiesce_group(std::uint64_t epoch) {
  for (auto& member : members_) {
    member.quiesced = member.gone = member.twin_expected = false;
    member.twin = -1;
    CkptEpoch request = checkpoint_request(epoch);
    try {
      member.channel.send(&request, sizeof request);
    } catch (const std::exception&) {
      member.gone = true;
    }
  }
  const auto deadline = Clock::now() + settings_.timeout;
  std::map<pid_t, Clock::time_point> unknown_since;
  for (;;) {
    if (Clock::now() > deadline) throw std::runtime_error("timed out waiting for the group to quiesce");
    auto done = [](const Member& member) {
      return member.gone || (member.quiesced && (!member.twin_expected || member.twin > 0));
    };
    // Every member answers QUIESCED and, when it forked one, its twin says
    // TWIN; processes may join (fork, spawn) or exec meanwhile.
    std::vector<pollfd> fds = {{agent_listen_fd_, POLLIN, 0}};
    std::vector<Member*> waiting;
    for (auto& member : members_) {
      if (done(member)) continue;
      fds.push_back({member.channel.fd(), POLLIN, 0});
      waiting.push_back(&member);
    }
    if (!waiting.empty()) {
      if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) {
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      }
      if (fds[0].revents & POLLIN) accept_new_members(epoch);
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) handle_checkpoint_message(*waiting[i - 1], epoch);
      }
      continue;
    }
    if (accept_new_members(epoch) > 0) continue;
    // Everyone we know is quiesced: is every live process of the group one
    // of them? A process between fork/spawn and its HELLO is waited for.
    std::set<pid_t> known;
    for (const auto& member : members_) {
      if (member.quiesced) known.insert(member.outer_pid);
      if (member.twin > 0) known.insert(member.twin);
    }
    const GroupProcess* stranger = nullptr;
    const auto processes = list_group_processes(init_pid_);
    for (const auto& process : processes) {
      if (process.zombie() || process.exit_signal == 0 || known.count(process.outer_pid) != 0) continue;
      const auto first_seen = unknown_since.emplace(process.outer_pid, Clock::now()).first->second;
      if (Clock::now() - first_seen > std::chrono::seconds(5)) {
        throw std::runtime_error("process " + std::to_string(process.inner_pid) + " (" + process.name +
                                 ") is not under ckpt (statically linked, setuid, or started without "
                                 "the agent); the group cannot be checkpointed");
      }
      stranger = &process;
    }
    if (stranger == nullptr) {
      group_snapshot_ = processes;
      return;
    }
    pollfd wait_for_join{agent_listen_fd_, POLLIN, 0};
    ::poll(&wait_for_join, 1, 10);
  }
}

void Coordinator::resume_group(std::uint64_t epoch) {
  // Twins have been read (or the checkpoint failed): end them before any
  // process runs on, while their PIDs cannot have been reused.
  for (auto& member : members_) {
    // (through a pidfd: a twin that died with its group may have left its
    // PID to an unrelated process meanwhile)
    if (member.twin_pidfd >= 0) {
      ::syscall(SYS_pidfd_send_signal, member.twin_pidfd, SIGKILL, nullptr, 0);
      ::close(member.twin_pidfd);
    }
    member.twin_pidfd = -1;
    member.twin = -1;
  }
  // Everyone gets RESUME, also a process that has not answered yet: it
  // will find it queued when it does. Only the quiesced ones are awaited.
  for (auto& member : members_) {
    CkptEpoch resume{{CKPT_MSG_RESUME, sizeof(CkptEpoch)}, epoch};
    try {
      member.channel.send(&resume, sizeof resume);
    } catch (const std::exception&) {
    }
  }
  for (auto& member : members_) {
    if (!member.quiesced || member.gone) continue;
    try {
      for (;;) {
        const auto message = member.channel.receive(settings_.timeout);
        const auto type = message_as<CkptMessageHeader>(message).type;
        if (type == CKPT_MSG_RESUMED) break;
        if (type == CKPT_MSG_HELLO) {  // it exec'd after RELEASE: nothing to resume
          const auto hello = message_as<CkptHello>(message);
          member.inner_pid = hello.pid;
          member.agent_state = hello.agent_state;
          break;
        }
      }
    } catch (const std::exception&) {
      // A process that died meanwhile: its exit reaches us as SIGCHLD.
    }
    member.quiesced = false;
  }
}

std::uint64_t Coordinator::checkpoint(bool final_checkpoint) {
  const bool anyone = std::any_of(members_.begin(), members_.end(),
                                  [](const Member& member) { return member.registered; });
  if (!anyone) {
    throw std::runtime_error(members_.empty() ? "no running process to checkpoint"
                                              : "the application has not registered with ckpt "
                                                "(statically linked, or still starting)");
  }
  if (merge_.running()) {
    // Both write the image: the merge first (the chain restarts from it).
    std::string outcome;
    const bool ok = merge_.wait(outcome);
    merge_ended(ok, outcome);
  }
  const auto started = Clock::now();
  const std::uint64_t epoch = ++epoch_;
  std::uint64_t generation = 0;
  std::uint64_t bytes = 0;
  double stopped_seconds = 0;
  std::size_t process_count = 0;
  StorageStats storage;
  std::string kind_word;
  std::size_t untracked_processes = 0;  // of an incremental generation: compared by hash
  try {
    // Phase 1: every process of the group quiesces before anything is
    // written; the in-flight bytes of pipes and sockets are read while all
    // are stopped; then those with a twin run on.
    quiesce_group(epoch);
    std::vector<pid_t> outer_pids;
    for (const auto& member : members_) {
      if (member.quiesced && !member.gone) outer_pids.push_back(member.outer_pid);
    }
    const auto channels = capture_group_channels(outer_pids);
    // Memory shared between processes, once per object, while all of them
    // are stopped (each twin left an empty private mapping in its place).
    std::vector<SharedMemoryTwin> twins;
    for (const auto& member : members_) {
      if (member.quiesced && !member.gone && member.twin_expected && member.twin > 0) {
        twins.push_back({member.outer_pid, member.twin, member.agent_state});
      }
    }
    const auto shared_content = copy_shared_objects(twins);
    // The storage checkpoint, while nothing runs: the files as they are now.
    image::Image image = image::Image::open_or_create(settings_.image_path,
                                                      {settings_.job_name, settings_.policy_text});
    image::GenerationOptions options;
    const bool incremental = page_hashes_.valid() && incrementals_in_chain_ < settings_.incremental_depth &&
                             !image.current_chain().empty();
    options.kind = incremental ? image::GenerationKind::kIncremental : image::GenerationKind::kFull;
    options.codec = settings_.codec;
    options.level = settings_.compression_level;
    options.dirty_engine = settings_.incremental_depth > 0 ? dirty_engine_name(settings_.dirty_engine) : "none";
    auto pending = image.begin_generation(options);
    // What the processes reported and is still queued, also from those
    // that ended since the last checkpoint (and whether they said EXITED).
    for (auto& member : members_) {
      if (member.channel.fd() >= 0 && !member.channel.drain_reports()) member_ended(member);
    }
    for (const auto& member : members_) {
      if (!member.quiesced || member.gone) continue;
      const std::string warning = storage_.collect(member.outer_pid, member.agent_state);
      if (!warning.empty()) say("warning: process " + std::to_string(member.inner_pid) + ": " + warning);
    }
    storage = storage_.write(pending.writer(), incremental);
    for (auto& member : members_) {
      if (!member.quiesced || member.gone || final_checkpoint) continue;
      CkptEpoch release{{CKPT_MSG_RELEASE, sizeof(CkptEpoch)}, epoch};
      member.channel.send(&release, sizeof release);
    }
    stopped_seconds = seconds_since(started);
    // Phase 2: the processes' memory, from their twins; commit.
    std::map<pid_t, const Member*> by_outer_pid;
    for (const auto& member : members_) {
      if (member.quiesced && !member.gone) by_outer_pid[member.outer_pid] = &member;
    }
    for (const auto& process : group_snapshot_) {
      if (process.zombie()) {
        // Only a member's child can still be waited for (init reaps its own).
        if (by_outer_pid.count(process.outer_ppid) == 0) continue;
        capture_zombie({process.inner_pid, process.inner_ppid, process.pgid, process.sid, process.exit_signal},
                       process.wait_status, process.name, pending.writer());
        ++process_count;
        continue;
      }
      const auto found = by_outer_pid.find(process.outer_pid);
      if (found == by_outer_pid.end()) continue;  // a twin
      const Member& member = *found->second;
      ProcessIdentity identity{process.inner_pid, process.inner_ppid, process.pgid, process.sid,
                               process.exit_signal};
      try {
        auto hashes = page_hashes_.begin(process.inner_pid);
        const auto content = shared_content.find(member.outer_pid);
        const auto captured =
            capture_process(member.twin_expected ? member.twin : member.outer_pid, identity, member.agent_state,
                            channels_of(channels, member.outer_pid), pending.writer(), hashes,
                            PageSelection{incremental, committed_epoch_},
                            content == shared_content.end() ? AddressRanges{} : content->second);
        if (incremental && !captured.tracked) ++untracked_processes;
        page_hashes_.finish(process.inner_pid, hashes);
      } catch (const std::exception& error) {
        throw std::runtime_error("process " + std::to_string(process.inner_pid) + " (" + process.name +
                                 (member.twin_expected ? ", read through its twin" : "") + "): " + error.what());
      }
      // What was read must have been the twin all along (not a process
      // that got its PID after it died).
      pollfd exited{member.twin_pidfd, POLLIN, 0};
      if (member.twin_expected && (member.twin_pidfd < 0 || ::poll(&exited, 1, 0) != 0)) {
        throw std::runtime_error("process " + std::to_string(process.inner_pid) +
                                 " ended while its memory was being read");
      }
      ++process_count;
    }
    generation = image.commit(std::move(pending), settings_.keep_full);
    bytes = image.generations().back().bytes;
    page_hashes_.commit();
    storage_.commit();
    committed_epoch_ = epoch;
    incrementals_in_chain_ = incremental ? incrementals_in_chain_ + 1 : 0;
    kind_word = incremental ? "incremental, " : "";
    if (incremental && untracked_processes > 0 && settings_.dirty_engine != DirtyEngine::kHash) {
      kind_word += std::to_string(untracked_processes) + (untracked_processes == 1 ? " process" : " processes") +
                   " compared by hash, ";
    }
  } catch (...) {
    page_hashes_.discard();
    storage_.discard();
    resume_group(epoch);
    throw;
  }
  const double total_seconds = seconds_since(started);
  // A final checkpoint leaves the group stopped: the caller ends it.
  if (final_checkpoint) {
    stopped_seconds = total_seconds;
  } else {
    resume_group(epoch);
  }
  last_generation_ = generation;
  last_checkpoint_time_ = std::chrono::system_clock::now();
  if (settings_.merge_after_chain && !final_checkpoint && incrementals_in_chain_ > 0 &&
      incrementals_in_chain_ >= settings_.incremental_depth) {
    try {
      merge_.start(merge_tool_path(), settings_.image_path);
    } catch (const std::exception& error) {
      say(std::string("warning: ") + error.what() + "; the next checkpoint is a full one");
    }
  }
  char timing[96];
  std::snprintf(timing, sizeof timing, "%.2f s, application stopped %.0f ms", total_seconds,
                stopped_seconds * 1000);
  std::string files;
  if (storage.files + storage.deleted > 0) {
    files = std::to_string(storage.files) + (storage.files == 1 ? " file" : " files") + " (" +
            format_mib(storage.bytes) + ")" + (storage.deleted ? ", " + std::to_string(storage.deleted) + " deleted" : "") +
            ", ";
  }
  say("checkpoint " + std::to_string(generation) + " committed (" + kind_word +
      (process_count > 1 ? std::to_string(process_count) + " processes, " : std::string()) + files +
      format_mib(bytes) + ", " + timing + ")");
  return generation;
}

}  // namespace ckpt::engine
