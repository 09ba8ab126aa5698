// Coordinator::restart: rebuilds the group from the newest committed
// generation. Init creates the top-level processes with their saved PIDs;
// each becomes ckpt-restorer, creates its own children (live ones and
// zombies) with their saved PIDs, process groups and sessions, and is then
// filled with its memory. Pipes and sockets are recreated here and passed
// in; the group resumes together once every process is back.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

#include "chain.hpp"
#include "coordinator.hpp"
#include "coordinator_channels.hpp"
#include "engine_text.hpp"
#include "group_init.hpp"
#include "image.hpp"
#include "machine_facts.hpp"
#include "process_restore.hpp"
#include "structure_check.hpp"

namespace ckpt::engine {
namespace {

struct ProcessTree {
  std::vector<const image::ResolvedProcess*> order;  // live processes, parents first
  std::vector<TopLevelProcess> top_level;
  std::map<std::int64_t, std::vector<const image::ResolvedProcess*>> children;  // live and zombies
};

ProcessTree plan_tree(const image::ResolvedChain& chain) {
  ProcessTree tree;
  std::map<std::int64_t, const image::ResolvedProcess*> live;
  for (const auto& process : chain.processes) {
    if (!is_zombie(process.tables)) live[process.tables.info.pid] = &process;
  }
  std::vector<const image::ResolvedProcess*> roots;
  for (const auto& process : chain.processes) {
    const auto& info = process.tables.info;
    if (live.count(info.ppid) != 0 && info.ppid != info.pid) {
      tree.children[info.ppid].push_back(&process);
    } else if (!is_zombie(process.tables)) {
      roots.push_back(&process);  // a child of init (zombies of init are gone)
    }
  }
  if (roots.empty()) throw std::runtime_error("the image holds no process to restart");
  for (const auto* root : roots) {
    const auto& info = root->tables.info;
    tree.top_level.push_back({static_cast<pid_t>(info.pid), static_cast<pid_t>(info.pgid),
                              static_cast<pid_t>(info.sid)});
  }
  tree.order = roots;
  for (std::size_t next = 0; next < tree.order.size(); ++next) {
    for (const auto* child : tree.children[tree.order[next]->tables.info.pid]) {
      if (!is_zombie(child->tables)) tree.order.push_back(child);
    }
  }
  return tree;
}

CkptTree tree_message(const ProcessTree& tree, std::int64_t pid, const std::string& agent_socket) {
  CkptTree message{};
  message.header = {CKPT_MSG_TREE, sizeof message};
  std::memcpy(message.agent_socket, agent_socket.c_str(),
              std::min(agent_socket.size() + 1, sizeof message.agent_socket));
  const auto found = tree.children.find(pid);
  if (found == tree.children.end()) return message;
  if (found->second.size() > CKPT_MAX_CHILDREN) {
    throw std::runtime_error("process " + std::to_string(pid) + " has more than " +
                             std::to_string(CKPT_MAX_CHILDREN) + " children; cannot restart it");
  }
  for (const auto* child : found->second) {
    auto& entry = message.children[message.count++];
    const auto& info = child->tables.info;
    entry.pid = static_cast<std::int32_t>(info.pid);
    entry.pgid = static_cast<std::int32_t>(info.pgid);
    entry.sid = static_cast<std::int32_t>(info.sid);
    if (is_zombie(child->tables)) {
      const CkptZombieFacts facts = zombie_facts(child->tables);
      entry.zombie = 1;
      entry.wait_status = facts.wait_status;
      entry.exit_signal = facts.exit_signal;
    } else {
      entry.exit_signal = static_cast<std::int32_t>(process_facts(child->tables).exit_signal);
    }
  }
  return message;
}

}  // namespace

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
  for (const auto& process : chain.processes) {
    if (is_zombie(process.tables)) continue;
    if (const auto why = incompatibility(process_facts(process.tables))) {
      throw std::runtime_error("cannot restart here: " + *why);
    }
  }
  const ProcessTree tree = plan_tree(chain);
  // One memfd per object of memory shared between processes, kept until
  // every restorer has mapped it.
  auto shared_objects = std::make_unique<SharedObjects>(chain, tree.order);
  // Files back to the checkpoint before any process runs.
  const RollbackStats rolled = roll_back_files(chain, settings_.image_path, settings_.on_external_change);
  for (const auto& path : rolled.changed_outside) {
    say("warning: " + path + " was changed outside the group after its checkpoint; " +
        (settings_.on_external_change == ExternalChange::kKeep ? "kept as it is (on_external_change = \"keep\")"
                                                              : "rolled back (on_external_change = \"rollback\")"));
  }
  storage_.seed(chain);
  RestoreSpec spec;
  spec.restorer_path = restorer_path();
  spec.agent_socket = agent_socket_path_;
  spec.processes = tree.top_level;
  init_pid_ = start_restore_init(spec).pid;

  // Restorers connect in any order; each is served when its turn comes
  // (parents first: a parent's restorer creates its children).
  std::map<pid_t, CkptRestorerHello> hellos;  // by inner PID
  auto await_restorer = [&](pid_t pid) -> Member& {
    const auto deadline = Clock::now() + settings_.timeout;
    for (;;) {
      for (auto& member : members_) {
        if (member.inner_pid == pid && !member.registered) return member;
      }
      if (Clock::now() > deadline) {
        throw std::runtime_error("process " + std::to_string(pid) + " was not recreated (timed out)");
      }
      std::vector<pollfd> fds = {{agent_listen_fd_, POLLIN, 0}};
      std::vector<Member*> unidentified;
      for (auto& member : members_) {
        if (member.inner_pid >= 0) continue;
        fds.push_back({member.channel.fd(), POLLIN, 0});
        unidentified.push_back(&member);
      }
      ::poll(fds.data(), fds.size(), 100);
      if (fds[0].revents & POLLIN) accept_new_members(0);
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
        Member& member = *unidentified[i - 1];
        const auto hello = message_as<CkptRestorerHello>(
            member.channel.receive(settings_.timeout, CKPT_MSG_RESTORER_HELLO));
        member.inner_pid = hello.pid;
        hellos[hello.pid] = hello;
      }
      if (init_pid_ < 0) throw std::runtime_error("the group's init ended during the restart");
    }
  };
  std::uint64_t pages = 0;
  std::map<pid_t, RestoredMember> restored_members;
  for (const auto* process : tree.order) {
    const auto pid = static_cast<pid_t>(process->tables.info.pid);
    Member& member = await_restorer(pid);
    const CkptTree children = tree_message(tree, pid, agent_socket_path_);
    member.channel.send(&children, sizeof children);
    const RestoredProcess restored =
        restore_process(chain, *process, shared_objects->for_process(*process), member.channel,
                        hellos.at(pid), settings_.timeout);
    if (restored.inner_pid != pid) {
      throw std::runtime_error("restorer got PID " + std::to_string(restored.inner_pid) + " instead of " +
                               std::to_string(pid));
    }
    member.outer_pid = restored.outer_pid;
    member.registered = true;
    pages += restored.pages_written;
    restored_members[pid] = {&process->tables, &member.channel};
  }
  shared_objects.reset();  // the mappings keep the objects
  // Each agent finished on its own while the next pages were written.
  for (auto& member : members_) member.agent_state = await_restored(member.channel, settings_.timeout);
  // Pipes and sockets, with the bytes that were in flight; then everyone
  // runs again at the same time.
  for (const auto& warning : restore_group_channels(restored_members)) say("warning: " + warning);
  for (auto& member : members_) {
    CkptEpoch resume{{CKPT_MSG_RESUME, sizeof(CkptEpoch)}, 0};
    member.channel.send(&resume, sizeof resume);
  }
  for (auto& member : members_) {
    try {
      for (;;) {
        const auto message = member.channel.receive(settings_.timeout);
        const auto type = message_as<CkptMessageHeader>(message).type;
        if (type == CKPT_MSG_RESUMED) break;
        if (type == CKPT_MSG_HELLO) {
          // It exec'd before its agent said RESUMED (its threads run as soon
          // as they are released): the new program registered instead.
          const auto hello = message_as<CkptHello>(message);
          member.inner_pid = hello.pid;
          member.agent_state = hello.agent_state;
          break;
        }
        // anything else (file reports, handled by the channel) comes before
      }
    } catch (const std::exception& error) {
      // A process may end before its agent says RESUMED (it runs on as soon
      // as its threads are released); its exit reaches us as usual.
      if (std::string(error.what()) != "the process went away") throw;
    }
  }
  last_generation_ = chain.links.back().seq;
  last_checkpoint_time_ = std::chrono::system_clock::time_point(
      std::chrono::nanoseconds(chain.links.back().time_ns));
  char timing[64];
  std::snprintf(timing, sizeof timing, "%.2f s", seconds_since(started));
  const std::string who = tree.order.size() == 1
                              ? "process " + std::to_string(tree.order.front()->tables.info.pid)
                              : std::to_string(chain.processes.size()) + " processes";
  const std::string files =
      rolled.files + rolled.removed == 0
          ? ""
          : std::to_string(rolled.files) + (rolled.files == 1 ? " file" : " files") + " rolled back" +
                (rolled.removed ? ", " + std::to_string(rolled.removed) + " removed" : "") + ", ";
  say("restarted generation " + std::to_string(last_generation_) + " (" + who + ", " + files +
      format_mib(pages * image::kPageSize) + ") in " + timing);
  arm_interval_timer();
  return run();
}

}  // namespace ckpt::engine
