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
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "agent.hpp"
#include "raw_syscall.hpp"

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

// Waits for RESUME of `epoch`; false if the coordinator went away.
bool wait_for_resume() {
  CkptEpoch message{};
  for (;;) {
    const long got = receive_message(control_fd, &message, sizeof message);
    if (got <= 0) return false;
    if (message.header.type == CKPT_MSG_RESUME) return true;
  }
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
    sys(SYS_prctl, PR_SET_PDEATHSIG, 9);
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
    if (twin > 0) release_parked_threads(parked);
    send_message(control_fd, &quiesced, sizeof quiesced);
    if (!wait_for_resume()) report("coordinator went away during a checkpoint; resuming");
    if (twin > 0) {
      end_twin(twin);
    } else {
      release_parked_threads(parked);
    }
  } else {
    // Restarted. Memory is back; the main thread re-created us.
    if (g_state.restorer_end > g_state.restorer_start) {
      sys(SYS_munmap, g_state.restorer_start, g_state.restorer_end - g_state.restorer_start);
    }
    restore_executable_link();  // still holding the restart capability
    restore_thread_kernel_state(g_state.threads[slot]);
    apply_process_state();
    reapply_fork_advice();
    send_hello(CKPT_MSG_RESTORED);
    if (!wait_for_resume()) report("coordinator went away during a restart; resuming");
    release_parked_threads(static_cast<int>(g_state.thread_count) - 1);
  }
  CkptEpoch resumed{};
  resumed.header = {CKPT_MSG_RESUMED, sizeof resumed};
  resumed.epoch = g_state.epoch;
  send_message(control_fd, &resumed, sizeof resumed);
}

void* checkpoint_thread(void*) {
  for (;;) {
    CkptEpoch request{};
    // Re-read control_fd each time: a restart re-establishes it.
    const long got = receive_message(control_fd, &request, sizeof request);
    if (got <= 0) return nullptr;  // coordinator gone: run on unsupervised
    if (request.header.type == CKPT_MSG_CHECKPOINT) serve_checkpoint(request);
  }
}

__attribute__((constructor)) void start_agent() {
  const char* fd_text = getenv(CKPT_ENV_CONTROL_FD);
  if (fd_text == nullptr) return;  // not under ckpt: stay inert
  const int inherited = static_cast<int>(parse_decimal(fd_text));
  if (inherited != CKPT_AGENT_FD) {
    if (sys(SYS_dup3, inherited, CKPT_AGENT_FD, O_CLOEXEC) < 0) {
      report("cannot move the control socket; checkpointing disabled");
      return;
    }
    sys(SYS_close, inherited);
  }
  control_fd = CKPT_AGENT_FD;
  unsetenv(CKPT_ENV_CONTROL_FD);  // children get their own socket (issue 4)
  g_state.magic = CKPT_AGENT_MAGIC;
  g_state.version = CKPT_PROTOCOL_VERSION;
  install_quiesce_handler();
  if (!send_hello(CKPT_MSG_HELLO)) {
    report("cannot reach the coordinator; checkpointing disabled");
    return;
  }
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);  // the thread inherits "all blocked"
  pthread_t thread;
  if (pthread_create(&thread, &attributes, checkpoint_thread, nullptr) != 0) {
    report("cannot start the checkpoint thread; checkpointing disabled");
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  pthread_attr_destroy(&attributes);
}

}  // namespace

bool send_message(int fd, const void* message, unsigned long size) {
  return sys(SYS_sendto, fd, message, size, MSG_NOSIGNAL, nullptr, 0) == static_cast<long>(size);
}

long receive_message(int fd, void* buffer, unsigned long capacity) {
  for (;;) {
    const long got = sys(SYS_recvfrom, fd, buffer, capacity, 0, nullptr, nullptr);
    if (got != -EINTR) return got;
  }
}

void report(const char* text) {
  char line[512];
  format_line(line, sizeof line, text);
  sys(SYS_write, 2, line, string_length(line));
}

}  // namespace ckpt::agent
