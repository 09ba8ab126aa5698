/* ckpt-restorer: turns itself into one checkpointed process.
 *
 * Freestanding static program (no libc, raw system calls), linked at an
 * address images do not use (see CMakeLists.txt). Started by the restart
 * init with the process's original PID and the coordinator's agent socket
 * as argv[1].
 *   1. switch to a stack inside our own image; connect to the coordinator;
 *   2. tell it our PID and address range; receive the tree (the children
 *      to create: each a copy of us with its original PID, which starts
 *      again at 1 for itself, or a zombie that exits at once with its
 *      status); receive the layout (regions, mm fields, auxv, agent address);
 *   3. unmap everything that is not ours, move [vvar]/[vvar_vclock]/[vdso]
 *      to their saved addresses, map every region writable (shared file
 *      mappings straight from their file, memory shared with other
 *      processes from the memfd the coordinator passed for its object);
 *   4. MAPPED -> the coordinator writes all pages with process_vm_writev
 *      -> PAGES_WRITTEN;
 *   5. set final protections, mm fields (PR_SET_MM_MAP), the control socket
 *      at the agent's fd, the main thread's TLS and clear-child-TID, block
 *      all signals, and jump into the main thread's saved context inside
 *      the agent's quiesce handler. The agent does the rest. */
#include <stdint.h>

#include "../protocol.h"

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_rt_sigprocmask 14
#define SYS_mremap 25
#define SYS_sendto 44
#define SYS_recvfrom 45
#define SYS_recvmsg 47
#define SYS_exit_group 231
#define SYS_getpid 39
#define SYS_prctl 157
#define SYS_arch_prctl 158
#define SYS_set_tid_address 218
#define SYS_dup3 292
#define SYS_socket 41
#define SYS_connect 42
#define SYS_kill 62
#define SYS_setpgid 109
#define SYS_getpgid 121
#define SYS_setsid 112
#define SYS_nanosleep 35
#define SYS_prlimit64 302
#define SYS_rt_sigaction 13
#define SYS_clone3 435

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define O_RDONLY 0
#define O_RDWR 2
#define O_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define MSG_CTRUNC 8
#define MSG_CMSG_CLOEXEC 0x40000000
#define ARCH_SET_FS 0x1002
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14

#define REGION_SHARED 1u /* kRegionShared of the image schema */
enum { KIND_FILE_SHARED = 4, KIND_VDSO = 5, KIND_VVAR = 6, KIND_VVAR_VCLOCK = 7, KIND_VSYSCALL = 8 };

static long raw(long n, long a, long b, long c, long d, long e, long f) {
  long result;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return result;
}
#define SC0(n) raw(n, 0, 0, 0, 0, 0, 0)
#define SC1(n, a) raw(n, (long)(a), 0, 0, 0, 0, 0)
#define SC2(n, a, b) raw(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define SC3(n, a, b, c) raw(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SC4(n, a, b, c, d) raw(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SC5(n, a, b, c, d, e) raw(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define SC6(n, a, b, c, d, e, f) raw(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

#define CONTROL_FD 3

extern char __executable_start[];
extern char _end[];

static CkptLayout layout;
static CkptTree tree;
static char agent_socket[CKPT_AGENT_SOCKET_BYTES];
static CkptRegionEntry regions[8192];
static uint32_t region_count;
/* memfds of the shared objects (CkptRegionEntry.shared_object - 1) */
static int shared_fds[CKPT_MAX_SHARED_OBJECTS];
static uint32_t shared_fd_count;
static char maps_text[1 << 20];

static void* copy_bytes(void* out, const void* in, unsigned long n) {
  char* o = out;
  const char* i = in;
  while (n--) *o++ = *i++;
  return out;
}
/* The compiler may emit calls to these for struct copies. */
void* memcpy(void* out, const void* in, unsigned long n) { return copy_bytes(out, in, n); }
void* memset(void* out, int value, unsigned long n) {
  char* o = out;
  while (n--) *o++ = (char)value;
  return out;
}

static unsigned long text_length(const char* s) {
  unsigned long n = 0;
  while (s[n]) n++;
  return n;
}

static __attribute__((noreturn)) void fail(const char* what, long code) {
  CkptFailure failure;
  memset(&failure, 0, sizeof failure);
  failure.header.type = CKPT_MSG_RESTORER_ERROR;
  failure.header.size = sizeof failure;
  unsigned long n = text_length(what);
  if (n > sizeof failure.reason - 24) n = sizeof failure.reason - 24;
  copy_bytes(failure.reason, what, n);
  /* append " (errno N)" */
  if (code < 0) {
    const char* prefix = " (errno ";
    copy_bytes(failure.reason + n, prefix, 8);
    n += 8;
    long value = -code;
    char digits[20];
    int count = 0;
    do {
      digits[count++] = (char)('0' + value % 10);
      value /= 10;
    } while (value);
    while (count) failure.reason[n++] = digits[--count];
    failure.reason[n++] = ')';
  }
  SC6(SYS_sendto, CONTROL_FD, &failure, sizeof failure, 0x4000 /*MSG_NOSIGNAL*/, 0, 0);
  SC1(SYS_exit_group, 127);
  __builtin_unreachable();
}

static void send_header(uint32_t type) {
  CkptMessageHeader header = {type, sizeof header};
  SC6(SYS_sendto, CONTROL_FD, &header, sizeof header, 0x4000, 0, 0);
}

static long receive(void* buffer, unsigned long size) {
  for (;;) {
    long got = SC6(SYS_recvfrom, CONTROL_FD, buffer, size, 0, 0, 0);
    if (got != -4 /*EINTR*/) return got;
  }
}

/* Receives the layout and the memfds passed with it (SCM_RIGHTS). */
static void receive_layout(void) {
  struct {
    uint64_t length;
    int32_t level, type;
    int32_t fds[CKPT_MAX_SHARED_OBJECTS];
  } control;
  struct {
    void* base;
    uint64_t length;
  } data = {&layout, sizeof layout};
  struct {
    void* name;
    uint64_t name_length;
    void* data;
    uint64_t data_count;
    void* control;
    uint64_t control_length;
    int32_t flags, pad;
  } message = {0, 0, &data, 1, &control, sizeof control, 0, 0};
  long got;
  do {
    got = SC3(SYS_recvmsg, CONTROL_FD, &message, MSG_CMSG_CLOEXEC);
  } while (got == -4 /*EINTR*/);
  if (got != (long)sizeof layout || layout.header.type != CKPT_MSG_LAYOUT) {
    fail("restorer: no layout from the coordinator", 0);
  }
  if (message.control_length >= sizeof control - sizeof control.fds &&
      control.level == SOL_SOCKET && control.type == SCM_RIGHTS) {
    shared_fd_count =
        (uint32_t)((control.length - (sizeof control - sizeof control.fds)) / sizeof(int32_t));
    for (uint32_t i = 0; i < shared_fd_count; i++) shared_fds[i] = control.fds[i];
  }
  if ((message.flags & MSG_CTRUNC) || shared_fd_count != layout.shared_object_count) {
    fail("restorer: the shared memory objects did not arrive with the layout", 0);
  }
}

static void close_shared_fds(void) {
  for (uint32_t i = 0; i < shared_fd_count; i++) SC1(SYS_close, shared_fds[i]);
  shared_fd_count = 0;
}

static uint64_t parse_hex(const char** cursor) {
  uint64_t value = 0;
  for (;;) {
    char c = **cursor;
    if (c >= '0' && c <= '9') value = value * 16 + (uint64_t)(c - '0');
    else if (c >= 'a' && c <= 'f') value = value * 16 + (uint64_t)(c - 'a' + 10);
    else break;
    (*cursor)++;
  }
  return value;
}

static int ends_with(const char* line_end_name, unsigned long length, const char* suffix) {
  unsigned long n = text_length(suffix);
  if (length < n) return 0;
  for (unsigned long i = 0; i < n; i++) {
    if (line_end_name[length - n + i] != suffix[i]) return 0;
  }
  return 1;
}

/* Our current special mappings, found in /proc/self/maps. */
static uint64_t current_start[3], current_end[3]; /* vvar, vvar_vclock, vdso */

static void read_maps(void) {
  long fd = SC3(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) fail("restorer: cannot open /proc/self/maps", fd);
  unsigned long used = 0;
  for (;;) {
    long got = SC3(SYS_read, fd, maps_text + used, sizeof maps_text - 1 - used);
    if (got <= 0) break;
    used += (unsigned long)got;
  }
  maps_text[used] = 0;
  SC1(SYS_close, fd);
}

/* Unmaps every mapping that is neither ours nor a special one. */
static void clear_address_space(void) {
  read_maps();
  const uint64_t own_start = (uint64_t)__executable_start;
  const uint64_t own_end = ((uint64_t)_end + 4095) & ~4095ull;
  for (const char* line = maps_text; *line;) {
    const char* cursor = line;
    uint64_t start = parse_hex(&cursor);
    cursor++;
    uint64_t end = parse_hex(&cursor);
    const char* eol = cursor;
    while (*eol && *eol != '\n') eol++;
    unsigned long length = (unsigned long)(eol - line);
    int special = -1;
    if (ends_with(line, length, "[vvar]")) special = 0;
    else if (ends_with(line, length, "[vvar_vclock]")) special = 1;
    else if (ends_with(line, length, "[vdso]")) special = 2;
    if (special >= 0) {
      current_start[special] = start;
      current_end[special] = end;
    } else if (!ends_with(line, length, "[vsyscall]") && (end <= own_start || start >= own_end)) {
      SC2(SYS_munmap, start, end - start);
    }
    line = *eol ? eol + 1 : eol;
  }
}

static void move_special_mappings(void) {
  const uint32_t kinds[3] = {KIND_VVAR, KIND_VVAR_VCLOCK, KIND_VDSO};
  uint64_t target[3] = {0, 0, 0};
  for (uint32_t i = 0; i < region_count; i++) {
    for (int k = 0; k < 3; k++) {
      if (regions[i].kind == kinds[k]) {
        if (regions[i].end - regions[i].start != current_end[k] - current_start[k]) {
          fail("restorer: the vDSO layout differs from the checkpointed one", 0);
        }
        target[k] = regions[i].start;
      }
    }
  }
  /* Move through a parking area first so old and new places may overlap. */
  const uint64_t parking = 0x100000000000ull; /* 16 TiB: far from both */
  for (int k = 0; k < 3; k++) {
    if (!current_start[k] || !target[k]) continue;
    uint64_t size = current_end[k] - current_start[k];
    long moved = SC5(SYS_mremap, current_start[k], size, size, MREMAP_MAYMOVE | MREMAP_FIXED,
                     parking + (uint64_t)k * 0x10000000ull);
    if (moved < 0) fail("restorer: cannot move the vDSO", moved);
    current_start[k] = (uint64_t)moved;
  }
  for (int k = 0; k < 3; k++) {
    if (!current_start[k]) continue;
    /* sizes were checked equal above */
    uint64_t length = 0;
    for (uint32_t i = 0; i < region_count; i++) {
      if (regions[i].kind == kinds[k]) length = regions[i].end - regions[i].start;
    }
    if (!target[k]) {
      SC2(SYS_munmap, current_start[k], current_end[k] - current_start[k]);
      continue;
    }
    long moved = SC5(SYS_mremap, current_start[k], length, length, MREMAP_MAYMOVE | MREMAP_FIXED,
                     target[k]);
    if (moved < 0) fail("restorer: cannot move the vDSO to its saved address", moved);
  }
}

static void map_regions(void) {
  const uint64_t own_start = (uint64_t)__executable_start;
  const uint64_t own_end = ((uint64_t)_end + 4095) & ~4095ull;
  for (uint32_t i = 0; i < region_count; i++) {
    const CkptRegionEntry* region = &regions[i];
    if (region->kind == KIND_VDSO || region->kind == KIND_VVAR ||
        region->kind == KIND_VVAR_VCLOCK || region->kind == KIND_VSYSCALL) {
      continue;
    }
    if (region->start < own_end && region->end > own_start) {
      fail("restorer: an image region overlaps the restorer's own address range", 0);
    }
    const uint64_t length = region->end - region->start;
    long mapped;
    if (region->kind == KIND_FILE_SHARED) {
      const int writable = (region->prot & PROT_WRITE) != 0;
      long fd = SC3(SYS_open, region->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
      if (fd < 0) fail("restorer: cannot open a shared mapping's file", fd);
      mapped = SC6(SYS_mmap, region->start, length, region->prot, MAP_SHARED | MAP_FIXED, fd,
                   region->file_offset);
      SC1(SYS_close, fd);
    } else if (region->shared_object != 0) {
      /* memory shared with other processes: the same memfd in all of them */
      if (region->shared_object > shared_fd_count)
        fail("restorer: a region names an unknown shared object", 0);
      mapped = SC6(SYS_mmap, region->start, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                   shared_fds[region->shared_object - 1], region->file_offset);
    } else {
      /* shared memory of an image without object identities comes back as
       * the process's own anonymous shared memory */
      const long sharing = (region->flags & REGION_SHARED) ? MAP_SHARED : MAP_PRIVATE;
      mapped = SC6(SYS_mmap, region->start, length, PROT_READ | PROT_WRITE,
                   sharing | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    }
    if (mapped < 0) fail("restorer: cannot map a region", mapped);
  }
}

static void set_final_protections(void) {
  for (uint32_t i = 0; i < region_count; i++) {
    const CkptRegionEntry* region = &regions[i];
    if (region->kind >= KIND_FILE_SHARED && region->kind <= KIND_VSYSCALL) continue;
    long status = SC3(SYS_mprotect, region->start, region->end - region->start, region->prot);
    if (status < 0) fail("restorer: cannot set region protection", status);
  }
}

static void set_mm_fields(void) {
  CkptPrctlMmMap map;
  for (int i = 0; i < CKPT_MM_FIELDS; i++) map.fields[i] = layout.facts.mm[i];
  map.auxv = (uint64_t)layout.facts.auxv;
  map.auxv_size = layout.facts.auxv_words * 8;
  map.exe_fd = (uint32_t)-1;
  long status = SC5(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0);
  if (status < 0) fail("restorer: cannot restore the memory descriptor (PR_SET_MM_MAP)", status);
}

/* Connects to the coordinator's agent socket and puts it on CONTROL_FD. */
static void connect_coordinator(void) {
  struct {
    uint16_t family;
    char path[CKPT_AGENT_SOCKET_BYTES];
  } address;
  memset(&address, 0, sizeof address);
  address.family = 1; /* AF_UNIX */
  copy_bytes(address.path, agent_socket, sizeof address.path - 1);
  long fd = SC3(SYS_socket, 1, 5 /* SOCK_SEQPACKET */, 0);
  if (fd < 0 || SC3(SYS_connect, fd, &address, sizeof address) < 0) SC1(SYS_exit_group, 126);
  if (fd != CONTROL_FD) {
    SC3(SYS_dup3, fd, CONTROL_FD, 0);
    SC1(SYS_close, fd);
  }
}

static void pause_briefly(void) {
  struct {
    long seconds, nanoseconds;
  } millisecond = {0, 1000000};
  SC2(SYS_nanosleep, &millisecond, 0);
}

/* A child that had exited but was not waited for: end it the same way. */
static __attribute__((noreturn)) void become_zombie(const CkptChildEntry* child) {
  const int status = child->wait_status;
  const int signal = status & 0x7f;
  if (signal != 0 && signal != 0x7f) {
    uint64_t no_core[2] = {0, 0};
    SC4(SYS_prlimit64, 0, 4 /* RLIMIT_CORE */, no_core, 0);
    struct {
      uint64_t handler, flags, restorer, mask;
    } default_action = {0, 0, 0, 0};
    SC4(SYS_rt_sigaction, signal, &default_action, 0, 8);
    uint64_t none = 0;
    SC4(SYS_rt_sigprocmask, 2, &none, 0, 8);
    SC2(SYS_kill, SC0(SYS_getpid), signal);
  }
  SC1(SYS_exit_group, (status >> 8) & 0xff);
  __builtin_unreachable();
}

/* Creates the children of the tree. Returns in the parent (0) and in
 * every live child (its entry), which then restores itself. */
static const CkptChildEntry* create_children(void) {
  for (uint32_t i = 0; i < tree.count && i < CKPT_MAX_CHILDREN; i++) {
    const CkptChildEntry* child = &tree.children[i];
    struct {
      uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
          set_tid_size, cgroup;
    } arguments;
    memset(&arguments, 0, sizeof arguments);
    int64_t wanted = child->pid;
    arguments.exit_signal = child->exit_signal > 0 ? (uint64_t)child->exit_signal : 17;
    arguments.set_tid = (uint64_t)&wanted;
    arguments.set_tid_size = 1;
    long created = SC2(SYS_clone3, &arguments, sizeof arguments);
    if (created < 0) fail("restorer: cannot create a child with its saved PID (clone3)", created);
    if (created == 0) {
      if (child->zombie) become_zombie(child);
      if (child->sid == child->pid) {
        SC0(SYS_setsid);
      } else if (child->pgid == child->pid) {
        SC2(SYS_setpgid, 0, 0);
      } else if (child->pgid != 0 && child->pgid != SC1(SYS_getpgid, 0)) {
        /* a group led by a sibling that may not have set it up yet */
        for (int attempt = 0; attempt < 2000 && SC2(SYS_setpgid, 0, child->pgid) < 0; attempt++) {
          pause_briefly();
        }
      }
      SC1(SYS_close, CONTROL_FD);
      return child;
    }
  }
  return 0;
}

static void say_hello(CkptRestorerHello* hello) {
  memset(hello, 0, sizeof *hello);
  hello->header.type = CKPT_MSG_RESTORER_HELLO;
  hello->header.size = sizeof *hello;
  hello->pid = (int32_t)SC0(SYS_getpid);
  hello->own_start = (uint64_t)__executable_start;
  hello->own_end = ((uint64_t)_end + 4095) & ~4095ull;
  SC6(SYS_sendto, CONTROL_FD, hello, sizeof *hello, 0x4000, 0, 0);
}

__attribute__((noreturn)) void restorer_main(long* initial_stack) {
  const long argc = initial_stack[0];
  char** argv = (char**)(initial_stack + 1);
  if (argc < 2 || text_length(argv[1]) >= sizeof agent_socket) SC1(SYS_exit_group, 126);
  copy_bytes(agent_socket, argv[1], text_length(argv[1]) + 1);
  CkptRestorerHello hello;
  for (;;) {
    connect_coordinator();
    say_hello(&hello);
    if (receive(&tree, sizeof tree) != (long)sizeof tree || tree.header.type != CKPT_MSG_TREE) {
      fail("restorer: no process tree from the coordinator", 0);
    }
    /* a live child starts over as itself; the parent goes on */
    if (!create_children()) break;
  }

  receive_layout();
  if (layout.region_count > sizeof regions / sizeof regions[0]) {
    fail("restorer: too many regions", 0);
  }
  static CkptRegionBatch batch;
  while (region_count < layout.region_count) {
    if (receive(&batch, sizeof batch) <= 0 || batch.header.type != CKPT_MSG_REGIONS) {
      fail("restorer: region list cut short", 0);
    }
    for (uint32_t i = 0; i < batch.count && region_count < layout.region_count; i++) {
      regions[region_count++] = batch.regions[i];
    }
  }

  clear_address_space();
  move_special_mappings();
  map_regions();
  close_shared_fds(); /* the mappings hold the objects; no stray descriptors */
  send_header(CKPT_MSG_MAPPED);

  CkptMessageHeader reply;
  if (receive(&reply, sizeof reply) != (long)sizeof reply ||
      reply.type != CKPT_MSG_PAGES_WRITTEN) {
    fail("restorer: the coordinator did not write the pages", 0);
  }
  set_final_protections();
  set_mm_fields();

  CkptAgentState* agent = (CkptAgentState*)layout.facts.agent_state;
  if (agent->magic != CKPT_AGENT_MAGIC) fail("restorer: no agent state at the saved address", 0);
  const int pid = hello.pid;
  const CkptThreadRecord* main_thread = 0;
  for (uint32_t i = 0; i < agent->thread_count && i < CKPT_MAX_THREADS; i++) {
    if (agent->threads[i].tid == pid) main_thread = &agent->threads[i];
  }
  if (!main_thread) fail("restorer: the main thread is not in the saved thread table", 0);
  agent->restored = 1;
  for (int i = 0; i < CKPT_MM_FIELDS; i++) agent->restored_mm[i] = layout.facts.mm[i];
  agent->restorer_start = hello.own_start;
  agent->restorer_end = hello.own_end;
  copy_bytes(agent->agent_socket, agent_socket, sizeof agent->agent_socket);

  long moved = SC3(SYS_dup3, CONTROL_FD, CKPT_AGENT_FD, O_CLOEXEC);
  if (moved < 0) fail("restorer: cannot place the control socket", moved);
  SC1(SYS_close, CONTROL_FD);

  uint64_t all = ~0ull;
  SC4(SYS_rt_sigprocmask, 2 /*SIG_SETMASK*/, &all, 0, 8);
  SC1(SYS_set_tid_address, main_thread->clear_child_tid);
  SC2(SYS_arch_prctl, ARCH_SET_FS, main_thread->fs_base);
  /* Resume the main thread where it parked (ckpt_save_context returns 1). */
  const CkptContext* context = &main_thread->context;
  __asm__ volatile(
      "movq 0(%0), %%rbx\n"
      "movq 8(%0), %%rbp\n"
      "movq 16(%0), %%r12\n"
      "movq 24(%0), %%r13\n"
      "movq 32(%0), %%r14\n"
      "movq 40(%0), %%r15\n"
      "movq 48(%0), %%rsp\n"
      "movl $1, %%eax\n"
      "jmpq *56(%0)\n"
      :
      : "D"(context)
      : "memory");
  __builtin_unreachable();
}

/* Entry: switch to our own stack, then restorer_main. */
static char restorer_stack[256 * 1024] __attribute__((aligned(64), used));
__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  movq %rsp, %rdi\n"
    "  leaq restorer_stack+262144(%rip), %rsp\n"
    "  andq $-16, %rsp\n"
    "  call restorer_main\n"
    "  hlt\n");
