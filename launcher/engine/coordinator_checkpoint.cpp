// Coordinator::checkpoint and Coordinator::restart: the two-phase
// checkpoint of the group and rebuilding it from an image.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "chain.hpp"
#include "coordinator.hpp"
#include "group_init.hpp"
#include "image.hpp"
#include "machine_facts.hpp"
#include "process_capture.hpp"
#include "process_restore.hpp"
#include "structure_check.hpp"

namespace ckpt::engine {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

}  // namespace

std::uint64_t Coordinator::checkpoint() {
  if (members_.empty()) throw std::runtime_error("no running process to checkpoint");
  for (const auto& member : members_) {
    if (!member.registered) {
      throw std::runtime_error("the application has not registered with ckpt (statically linked, "
                               "or still starting)");
    }
  }
  const auto started = Clock::now();
  const std::uint64_t epoch = ++epoch_;
  // Phase 1: every process of the group quiesces before anything is written.
  std::vector<Member*> quiesced;
  auto resume_all = [&] {
    // Everyone gets RESUME, also a process that has not answered yet: it
    // will find it queued when it does. Only the quiesced ones are awaited.
    for (auto& member : members_) {
      CkptEpoch resume{{CKPT_MSG_RESUME, sizeof(CkptEpoch)}, epoch};
      try {
        member.channel.send(&resume, sizeof resume);
      } catch (const std::exception&) {
      }
    }
    for (Member* member : quiesced) {
      try {
        for (;;) {
          const auto message = member->channel.receive(settings_.timeout);
          if (message_as<CkptMessageHeader>(message).type == CKPT_MSG_RESUMED) break;
        }
      } catch (const std::exception&) {
        // A process that died meanwhile: its exit reaches us as SIGCHLD.
      }
    }
  };
  std::uint64_t generation = 0;
  std::uint64_t bytes = 0;
  double stopped_seconds = 0;
  try {
    for (auto& member : members_) {
      CkptEpoch request{{CKPT_MSG_CHECKPOINT, sizeof(CkptEpoch)}, epoch};
      member.channel.send(&request, sizeof request);
    }
    // Each process answers QUIESCED and, when it could fork one, its
    // frozen copy-on-write twin says TWIN (in either order).
    std::vector<pid_t> memory_source;
    for (auto& member : members_) {
      bool quiesced_seen = false;
      bool twin_expected = false;
      pid_t twin = -1;
      while (!quiesced_seen || (twin_expected && twin < 0)) {
        const auto message = member.channel.receive(settings_.timeout);
        const auto header = message_as<CkptMessageHeader>(message);
        if (header.type == CKPT_MSG_QUIESCED) {
          quiesced_seen = true;
          quiesced.push_back(&member);
          twin_expected = message_as<CkptQuiesced>(message).twin_pid != 0;
        } else if (header.type == CKPT_MSG_TWIN) {
          twin = member.channel.peer_pid();
        }  // anything else is stale (an earlier, abandoned epoch)
      }
      memory_source.push_back(twin_expected ? twin : member.outer_pid);
    }
    stopped_seconds = seconds_since(started);
    // Phase 2: write one generation holding every process, commit it.
    image::Image image = image::Image::open_or_create(settings_.image_path,
                                                      {settings_.job_name, settings_.policy_text});
    image::GenerationOptions options;
    options.kind = image::GenerationKind::kFull;
    options.codec = settings_.codec;
    options.level = settings_.compression_level;
    options.dirty_engine = "none";
    auto pending = image.begin_generation(options);
    for (std::size_t i = 0; i < members_.size(); ++i) {
      capture_process(memory_source[i], members_[i].inner_pid, members_[i].agent_state,
                      pending.writer());
    }
    generation = image.commit(std::move(pending), settings_.keep_full);
    bytes = image.generations().back().bytes;
  } catch (...) {
    resume_all();
    throw;
  }
  const double total_seconds = seconds_since(started);
  resume_all();
  last_generation_ = generation;
  last_checkpoint_time_ = std::chrono::system_clock::now();
  char timing[96];
  std::snprintf(timing, sizeof timing, "%.2f s, application stopped %.0f ms", total_seconds,
                stopped_seconds * 1000);
  say("checkpoint " + std::to_string(generation) + " committed (" + format_mib(bytes) + ", " +
      timing + ")");
  return generation;
}

int Coordinator::restart() {
  const auto started = Clock::now();
  image::Image image = image::Image::open(settings_.image_path);
  const image::ResolvedChain chain = image::resolve_chain(image);
  // The tables around the chunks must agree with them (the chunks' own
  // checksums are checked as they are read): a damaged page index would
  // otherwise put pages at the wrong addresses without an error.
  for (const auto& reader : chain.readers) {
    for (const std::int64_t pid : reader->pids()) image::check_process_structure(*reader, pid);
  }
  if (chain.processes.size() != 1) {
    throw std::runtime_error(settings_.image_path + ": holds " + std::to_string(chain.processes.size()) +
                             " processes; restarting process groups is not supported yet");
  }
  const auto& process = chain.processes.front();
  const CkptProcessFacts facts = process_facts(process.tables);
  if (const auto why = incompatibility(facts)) {
    throw std::runtime_error("cannot restart here: " + *why);
  }
  auto [channel, child_end] = make_control_pair();
  RestoreSpec spec;
  spec.restorer_path = restorer_path();
  spec.pid = static_cast<pid_t>(process.tables.info.pid);
  spec.pgid = static_cast<pid_t>(process.tables.info.pgid);
  spec.sid = static_cast<pid_t>(process.tables.info.sid);
  spec.control_fd = child_end;
  const GroupInit init = start_restore_init(spec);
  ::close(child_end);
  init_pid_ = init.pid;
  const RestoredProcess restored = restore_process(chain, process, channel, settings_.timeout);
  Member member;
  member.channel = std::move(channel);
  member.outer_pid = restored.outer_pid;
  member.inner_pid = restored.inner_pid;
  member.agent_state = restored.agent_state;
  member.registered = true;
  members_.push_back(std::move(member));
  CkptEpoch resume{{CKPT_MSG_RESUME, sizeof(CkptEpoch)}, 0};
  members_.back().channel.send(&resume, sizeof resume);
  members_.back().channel.receive(settings_.timeout, CKPT_MSG_RESUMED);
  last_generation_ = chain.links.back().seq;
  last_checkpoint_time_ = std::chrono::system_clock::time_point(
      std::chrono::nanoseconds(chain.links.back().time_ns));
  char timing[64];
  std::snprintf(timing, sizeof timing, "%.2f s", seconds_since(started));
  say("restarted generation " + std::to_string(last_generation_) + " (process " +
      std::to_string(restored.inner_pid) + ", " + format_mib(restored.pages_written * image::kPageSize) +
      ") in " + timing);
  arm_interval_timer();
  return run();
}

}  // namespace ckpt::engine
