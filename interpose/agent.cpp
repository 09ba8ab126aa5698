// Agent start-up and the checkpoint thread.
//
// The constructor (run by the dynamic loader because the coordinator put
// us in LD_PRELOAD) moves the control socket out of the application's way,
// installs the quiesce handler and starts the checkpoint thread, which
// serves the coordinator:
//   CHECKPOINT -> park all other threads, capture process state, save own
//                 context, reply QUIESCED (memory is now consistent and the
//                 coordinator reads it), wait for RESUME, release threads.
// After a restart the same thread wakes up at its saved context (the main
// thread re-created it), re-applies process state, reconnects, replies
// RESTORED and waits for RESUME like after any checkpoint.
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "agent.hpp"
#include "dirty_tracking.hpp"
#include "exec_environment.hpp"
#include "file_spans.hpp"
#include "outside_signals.hpp"
#include "raw_syscall.hpp"
#include "wrapper_guard.hpp"

namespace ckpt::agent {

CkptAgentState g_state;

namespace {

int control_fd = -1;

void format_line(char* out, unsigned long capacity, const char* text) {
  char pid[24];
  format_decimal(pid, current_pid());
  unsigned long length = 0;
  const char* parts[] = {"ckpt-agent[", pid, "]: ", text, "\n"};
  for (const char* part : parts) {
    for (unsigned long i = 0; part[i] != '\0' && length + 1 < capacity; ++i) out[length++] = part[i];
  }
  out[length] = '\0';
}

bool send_hello(int type) {
  CkptHello hello{};
  hello.header = {static_cast<uint32_t>(type), sizeof hello};
  hello.version = CKPT_PROTOCOL_VERSION;
  hello.pid = current_pid();
  hello.agent_state = reinterpret_cast<unsigned long>(&g_state);
  return send_message(control_fd, &hello, sizeof hello);
}

bool send_failure(const char* reason) {
  CkptFailure failure{};
  failure.header = {CKPT_MSG_FAILED, sizeof failure};
  copy_string(failure.reason, reason, sizeof failure.reason);
  return send_message(control_fd, &failure, sizeof failure);
}

// Puts descriptors the coordinator recreated (after a restart) at their
// numbers; they came as SCM_RIGHTS with `batch`.
void install_passed_descriptors(const CkptDescriptorBatch& batch, const int* fds, int count) {
  // Received descriptors take the lowest free numbers, which may be the
  // targets of others: move them all out of the way first.
  int moved[CKPT_DESCRIPTORS_PER_MESSAGE];
  for (int i = 0; i < count; ++i) {
    moved[i] = static_cast<int>(sys(SYS_fcntl, fds[i], F_DUPFD_CLOEXEC, CKPT_AGENT_FD + 1));
    sys(SYS_close, fds[i]);
  }
  for (int i = 0; i < count; ++i) {
    if (moved[i] < 0) continue;
    if (static_cast<unsigned>(i) < batch.count) {
      sys(SYS_dup3, moved[i], batch.entries[i].fd, O_CLOEXEC);
      if ((batch.entries[i].fd_flags & FD_CLOEXEC) == 0) sys(SYS_fcntl, batch.entries[i].fd, F_SETFD, 0);
    }
    sys(SYS_close, moved[i]);
  }
}

// Waits for RESUME; false if the coordinator went away. RELEASE (the group
// is quiesced, the twin holds the memory) runs `on_release` first.
template <class OnRelease>
bool wait_for_resume(OnRelease on_release) {
  union {
    CkptMessageHeader header;
    CkptEpoch epoch;
    CkptDescriptorBatch descriptors;
  } message{};
  for (;;) {
    int fds[CKPT_DESCRIPTORS_PER_MESSAGE];
    int fd_count = 0;
    const long got = receive_message(control_fd, &message, sizeof message, fds, &fd_count);
    if (got <= 0) return false;
    if (message.header.type == CKPT_MSG_RESUME) return true;
    if (message.header.type == CKPT_MSG_RELEASE) on_release();
    if (message.header.type == CKPT_MSG_DESCRIPTORS) {
      install_passed_descriptors(message.descriptors, fds, fd_count);
    } else {
      for (int i = 0; i < fd_count; ++i) sys(SYS_close, fds[i]);
    }
  }
}

void close_all_but(int first, int second) {
  const int low = first < second ? first : second;
  const int high = first < second ? second : first;
  if (low > 0) sys(SYS_close_range, 0, low - 1, 0);
  if (high > low + 1) sys(SYS_close_range, low + 1, high - 1, 0);
  sys(SYS_close_range, high + 1, ~0u, 0);
}

void end_twin(long twin) {
  sys(SYS_kill, twin, 9);
  sys(SYS_wait4, twin, nullptr, 0x40000000 /*__WALL*/, nullptr);
}

// Forks the copy-on-write twin the coordinator reads while the application
// runs on. Returns its pid, or 0 when there is none (the application then
// stays parked while the coordinator reads it). The twin first turns
// shared memory into private copies; the application waits for that.
long fork_twin() {
  int ready[2];
  if (sys(SYS_pipe2, ready, O_CLOEXEC) < 0) return 0;
  clear_fork_advice();
  const long twin = sys(SYS_clone, 0 /* no exit signal: invisible to the app */, 0, 0, 0, 0);
  if (twin == 0) {
    sys(SYS_close, ready[0]);
    sys(SYS_prctl, PR_SET_NAME, CKPT_TWIN_NAME);  // known as a twin also once orphaned
    // The twin holds no pipe or socket end of the application (a reader
    // would not see EOF while it lives); it outlives an application that
    // exits meanwhile (the coordinator ends it once it has been read).
    close_all_but(ready[1], control_fd);
    if (!copy_shared_memory_in_twin()) sys(SYS_exit_group, 1);
    const char done = 1;
    sys(SYS_write, ready[1], &done, 1);
    send_hello(CKPT_MSG_TWIN);
    for (;;) sys(SYS_pause);
  }
  reapply_fork_advice();
  sys(SYS_close, ready[1]);
  char done = 0;
  long got = 0;
  if (twin > 0) {
    do got = sys(SYS_read, ready[0], &done, 1);
    while (got == -EINTR);
  }
  sys(SYS_close, ready[0]);
  if (twin > 0 && got != 1) {
    report("the checkpoint twin failed; the application waits while memory is read");
    end_twin(twin);
    return 0;
  }
  return twin > 0 ? twin : 0;
}

// One checkpoint (or, when it returns restored, the restart of one).
void serve_checkpoint(const CkptEpoch& request) {
  const int self = current_tid();
  g_state.thread_count = 0;
  g_state.pending_count = 0;
  g_state.epoch = request.epoch;
  const int parked = park_other_threads(self);
  if (parked < 0) {
    release_parked_threads(g_state.parked);
    send_failure("threads did not park within the timeout (signals blocked?)");
    return;
  }
  capture_process_state(control_fd);
  collect_fork_advice();
  dirty_checkpoint(request.dirty_engine, request.epoch);
  // Our own slot: we resume here after a restart, from the main thread.
  const unsigned slot = g_state.thread_count++;
  CkptThreadRecord& record = g_state.threads[slot];
  record_thread_kernel_state(record);
  record.flags = CKPT_THREAD_IS_AGENT;
  g_state.restored = 0;
  if (ckpt_save_context(&record.context) == 0) {
    const long twin = fork_twin();
    CkptQuiesced quiesced{};
    quiesced.header = {CKPT_MSG_QUIESCED, sizeof quiesced};
    quiesced.epoch = request.epoch;
    quiesced.threads = g_state.thread_count;
    quiesced.twin_pid = static_cast<int32_t>(twin);
    send_message(control_fd, &quiesced, sizeof quiesced);
    // The application runs on once every process of the group is
    // quiesced (RELEASE), if a twin holds its memory; else after RESUME.
    bool released = false;
    auto release = [&] {
      if (twin > 0 && !released) release_parked_threads(parked);
      released = twin > 0;
    };
    if (!wait_for_resume(release)) report("coordinator went away during a checkpoint; resuming");
    if (twin > 0) end_twin(twin);
    if (!released) release_parked_threads(parked);
  } else {
    // Restarted. Memory is back; the main thread re-created us.
    if (g_state.restorer_end > g_state.restorer_start) {
      sys(SYS_munmap, g_state.restorer_start, g_state.restorer_end - g_state.restorer_start);
    }
    restore_executable_link();  // still holding the restart capability
    dirty_forget();
    restore_thread_kernel_state(g_state.threads[slot]);
    apply_process_state();
    reapply_fork_advice();
    send_hello(CKPT_MSG_RESTORED);
    if (!wait_for_resume([] {})) report("coordinator went away during a restart; resuming");
    g_state.epoch = 0;  // the new coordinator counts its epochs from 1
    release_parked_threads(static_cast<int>(g_state.thread_count) - 1);
  }
  CkptEpoch resumed{};
  resumed.header = {CKPT_MSG_RESUMED, sizeof resumed};
  resumed.epoch = g_state.epoch;
  send_message(control_fd, &resumed, sizeof resumed);
}

// The checkpoint thread keeps a descriptor table of its own holding only
// the control socket: a process whose descriptor table is shared by two
// threads pays for it in every read and write (the kernel then takes a
// reference and the file position lock each time: +15 % on 64-byte
// writes here). It reads the application's descriptors through
// /proc/self/fd{,info}; after a restart it first installs them in the
// shared table (it is revived sharing it), then detaches again.
void detach_descriptor_table() {
  if (sys(SYS_unshare, CLONE_FILES) == 0) close_all_but(CKPT_AGENT_FD, CKPT_AGENT_FD);
}

void* checkpoint_thread(void*) {
  detach_descriptor_table();
  for (;;) {
    CkptEpoch request{};
    // Re-read control_fd each time: a restart re-establishes it.
    const long got = receive_message(control_fd, &request, sizeof request);
    if (got <= 0) return nullptr;  // coordinator gone: run on unsupervised
    // An epoch served already (sent again after an exec) is skipped.
    if (request.header.type == CKPT_MSG_CHECKPOINT && request.epoch > g_state.epoch) {
      serve_checkpoint(request);
      // Again after a restart (revived, we share the application's
      // table); not otherwise: the dirty-page engine keeps descriptors here.
      if (g_state.restored != 0) detach_descriptor_table();
    }
  }
}

// Starts the checkpoint thread (it inherits "every signal blocked").
void start_checkpoint_thread() {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  if (pthread_create(&thread, &attributes, checkpoint_thread, nullptr) != 0) {
    report("cannot start the checkpoint thread; checkpointing disabled");
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  pthread_attr_destroy(&attributes);
}

// A new connection to the coordinator's agent socket, or -1.
int connect_agent_socket() {
  const int fd = static_cast<int>(sys(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (fd < 0) return -1;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  copy_string(address.sun_path, g_state.agent_socket, sizeof address.sun_path);
  if (sys(SYS_connect, fd, &address, sizeof address) < 0) {
    sys(SYS_close, fd);
    return -1;
  }
  return fd;
}

// Puts the connection on CKPT_AGENT_FD (replacing an inherited one), says
// HELLO and starts the checkpoint thread. False: checkpointing disabled.
bool register_process(int fd) {
  if (fd != CKPT_AGENT_FD) {
    if (sys(SYS_dup3, fd, CKPT_AGENT_FD, O_CLOEXEC) < 0) {
      report("cannot move the control socket; checkpointing disabled");
      sys(SYS_close, fd);
      return false;
    }
    sys(SYS_close, fd);
  } else {
    sys(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
  }
  control_fd = CKPT_AGENT_FD;
  g_state.control_fd = CKPT_AGENT_FD;
  if (!send_hello(CKPT_MSG_HELLO)) {
    report("cannot reach the coordinator; checkpointing disabled");
    sys(SYS_close, CKPT_AGENT_FD);
    control_fd = g_state.control_fd = -1;
    return false;
  }
  start_checkpoint_thread();
  return true;
}

// exit(): every written range reaches the coordinator before the process
// is gone (_exit and _Exit: file_spans.cpp).
__attribute__((destructor)) void stop_agent() { spans_at_exit(); }

__attribute__((constructor)) void start_agent() {
  g_state.control_fd = -1;
  const char* fd_text = getenv(CKPT_ENV_CONTROL_FD);
  const char* socket_path = getenv(CKPT_ENV_AGENT_SOCKET);
  if (fd_text == nullptr && socket_path == nullptr) return;  // not under ckpt: stay inert
  g_state.magic = CKPT_AGENT_MAGIC;
  g_state.version = CKPT_PROTOCOL_VERSION;
  install_signal_shield();  // CKPT_SHIELD_SIGNALS, before main
  if (socket_path != nullptr) copy_string(g_state.agent_socket, socket_path, sizeof g_state.agent_socket);
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&start_agent), &self) != 0 && self.dli_fname != nullptr) {
    copy_string(g_state.library, self.dli_fname, sizeof g_state.library);
  }
  // Exec'd programs keep their parent's channel (fd given); children
  // started by posix_spawn/system/popen connect on their own.
  const int fd = fd_text != nullptr ? static_cast<int>(parse_decimal(fd_text)) : connect_agent_socket();
  unsetenv(CKPT_ENV_CONTROL_FD);
  if (fd < 0 || sys(SYS_fcntl, fd, F_GETFD) < 0) {
    report("cannot reach the coordinator; checkpointing disabled");
    return;
  }
  install_quiesce_handler();
  release_quiesce_signal();  // held by the exec wrapper of the program before us
  register_process(fd);
}

}  // namespace

void register_forked_child() {
  if (control_fd < 0) return;
  // Only the forking thread exists here; nothing of the parent's
  // checkpoint machinery applies to us.
  g_state.thread_count = 0;
  g_state.pending_count = 0;
  g_state.parked = 0;
  g_state.left = 0;
  g_state.revived = 0;
  g_state.quiescing = 0;
  g_state.epoch = 0;
  t_wrapper.park_deferred = 0;
  dirty_forget();
  const int fd = connect_agent_socket();
  if (fd < 0) {
    report("cannot reach the coordinator from a new child; checkpointing disabled");
    sys(SYS_close, CKPT_AGENT_FD);
    control_fd = g_state.control_fd = -1;
    return;
  }
  register_process(fd);
}

bool send_message(int fd, const void* message, unsigned long size) {
  return sys(SYS_sendto, fd, message, size, MSG_NOSIGNAL, nullptr, 0) == static_cast<long>(size);
}

long receive_message(int fd, void* buffer, unsigned long capacity, int* fds, int* fd_count) {
  if (fd_count != nullptr) *fd_count = 0;
  for (;;) {
    iovec data{buffer, capacity};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * CKPT_DESCRIPTORS_PER_MESSAGE)];
    msghdr header{};
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    const long got = sys(SYS_recvmsg, fd, &header, MSG_CMSG_CLOEXEC);
    if (got == -EINTR) continue;
    for (cmsghdr* item = CMSG_FIRSTHDR(&header); got > 0 && item != nullptr; item = CMSG_NXTHDR(&header, item)) {
      if (item->cmsg_level != SOL_SOCKET || item->cmsg_type != SCM_RIGHTS) continue;
      const int passed = static_cast<int>((item->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      const int* values = reinterpret_cast<const int*>(CMSG_DATA(item));
      for (int i = 0; i < passed; ++i) {
        if (fds != nullptr && fd_count != nullptr && *fd_count < CKPT_DESCRIPTORS_PER_MESSAGE) {
          fds[(*fd_count)++] = values[i];
        } else {
          sys(SYS_close, values[i]);
        }
      }
    }
    return got;
  }
}

void report(const char* text) {
  char line[512];
  format_line(line, sizeof line, text);
  sys(SYS_write, 2, line, string_length(line));
}

}  // namespace ckpt::agent
