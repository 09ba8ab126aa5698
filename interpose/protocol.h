/* The wire and memory contracts between the coordinator (ckpt-launch,
 * ckpt-restart), the in-application agent (libckpt-interpose.so) and the
 * restorer. Plain C so all three can include it; fixed-size records only.
 *
 * Transport: one SOCK_SEQPACKET Unix socket per process (message boundaries
 * kept). Every message starts with CkptMessageHeader. */
#ifndef CKPT_INTERPOSE_PROTOCOL_H
#define CKPT_INTERPOSE_PROTOCOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CKPT_PROTOCOL_VERSION 1u
#define CKPT_AGENT_MAGIC 0x636b707461676e74ull /* "ckptagnt" */

/* Environment handed to every application process. */
#define CKPT_ENV_CONTROL_FD "CKPT_CONTROL_FD"   /* fd of the agent's socket */
#define CKPT_ENV_AGENT_SOCKET "CKPT_AGENT_SOCKET" /* where new processes register */
#define CKPT_AGENT_SOCKET_BYTES 108                /* sun_path */

/* The agent keeps its socket on this descriptor, out of the way of the
 * application's own numbers (hidden from close_range/closefrom loops). */
#define CKPT_AGENT_FD 1000
/* The real-time signal that parks application threads. */
#define CKPT_QUIESCE_SIGNAL 62

/* The name (comm) a checkpoint twin gives itself. */
#define CKPT_TWIN_NAME "ckpt-twin"
#define CKPT_MAX_THREADS 512
#define CKPT_MAX_DESCRIPTORS 256
#define CKPT_PATH_BYTES 512

enum CkptMessageType {
  CKPT_MSG_HELLO = 1,          /* agent -> coord: CkptHello */
  CKPT_MSG_CHECKPOINT = 2,     /* coord -> agent: CkptEpoch */
  CKPT_MSG_QUIESCED = 3,       /* agent -> coord: CkptQuiesced */
  CKPT_MSG_RESUME = 4,         /* coord -> agent: CkptEpoch */
  CKPT_MSG_RESUMED = 5,        /* agent -> coord: CkptEpoch */
  CKPT_MSG_RESTORED = 6,       /* agent -> coord after a restart: CkptHello */
  CKPT_MSG_FAILED = 7,         /* agent -> coord: CkptFailure */
  CKPT_MSG_TWIN = 8,           /* the agent's frozen copy -> coord: CkptHello */
  CKPT_MSG_RELEASE = 9,        /* coord -> agent: the whole group is quiesced; run on
                                  while the twin is read (CkptEpoch) */
  CKPT_MSG_FILE_REPORT = 11,   /* agent -> coord, any time, no reply: CkptFileReport */
  CKPT_MSG_DESCRIPTORS = 10,   /* coord -> agent after a restart: CkptDescriptorBatch
                                  with the descriptors as SCM_RIGHTS */
  CKPT_MSG_RESTORER_HELLO = 20,  /* restorer -> coord: CkptRestorerHello */
  CKPT_MSG_LAYOUT = 21,        /* coord -> restorer: CkptLayout */
  CKPT_MSG_REGIONS = 25,       /* coord -> restorer: CkptRegionBatch */
  CKPT_MSG_MAPPED = 22,        /* restorer -> coord: header only */
  CKPT_MSG_PAGES_WRITTEN = 23, /* coord -> restorer: header only */
  CKPT_MSG_RESTORER_ERROR = 24, /* restorer -> coord: CkptFailure */
  CKPT_MSG_TREE = 26           /* coord -> restorer: CkptTree (children to create) */
};

typedef struct {
  uint32_t type;
  uint32_t size; /* whole message, header included */
} CkptMessageHeader;

typedef struct {
  CkptMessageHeader header;
  uint32_t version;
  int32_t pid;    /* as the process sees itself (inside the PID namespace) */
  uint64_t agent_state; /* address of CkptAgentState in the process */
} CkptHello;

typedef struct {
  CkptMessageHeader header;
  uint64_t epoch;
  uint32_t dirty_engine; /* CHECKPOINT: the CKPT_DIRTY_* engine to run */
  uint32_t pad;
} CkptEpoch;

/* Dirty-page engines run by the agent (dirty_tracking.hpp). The `hash`
 * engine runs in the coordinator: for the agent it is NONE. */
enum CkptDirtyEngine { CKPT_DIRTY_NONE = 0, CKPT_DIRTY_UFFD_WP = 1, CKPT_DIRTY_MPROTECT = 2 };

/* After QUIESCED the memory to read is the twin's when twin_pid != 0:
 * a copy-on-write fork of the process taken while every thread was
 * parked. The application already runs again; RESUME then means "done
 * reading", and the agent ends the twin. Without a twin (fork failed) the
 * application stays parked until RESUME. */
typedef struct {
  CkptMessageHeader header;
  uint64_t epoch;
  uint32_t threads;
  int32_t twin_pid; /* inside the group; 0: no twin, read the process itself */
} CkptQuiesced;

typedef struct {
  CkptMessageHeader header;
  char reason[256];
} CkptFailure;

/* Descriptors recreated by the coordinator (pipes, sockets) travel as
 * SCM_RIGHTS; entry i says where the i-th passed descriptor goes. */
#define CKPT_DESCRIPTORS_PER_MESSAGE 64
typedef struct {
  int32_t fd;
  int32_t fd_flags;
} CkptPassedDescriptor;

typedef struct {
  CkptMessageHeader header;
  uint32_t count;
  uint32_t pad;
  CkptPassedDescriptor entries[CKPT_DESCRIPTORS_PER_MESSAGE];
} CkptDescriptorBatch;

/* ---- restart: what the coordinator tells the restorer ---- */

/* A child the restorer creates (clone3 with set_tid) before it rebuilds
 * its own memory: a live process (its own restorer, which registers on
 * the agent socket) or a zombie that exits at once with its status. */
typedef struct {
  int32_t pid, pgid, sid;
  int32_t exit_signal;  /* signal the parent gets when it ends (SIGCHLD) */
  int32_t zombie;       /* 1: exits at once with wait_status */
  int32_t wait_status;  /* as waitpid() reports it */
} CkptChildEntry;

#define CKPT_MAX_CHILDREN 128

typedef struct {
  CkptMessageHeader header;
  uint32_t count;
  uint32_t pad;
  char agent_socket[CKPT_AGENT_SOCKET_BYTES]; /* for the children's restorers and agents */
  CkptChildEntry children[CKPT_MAX_CHILDREN];
} CkptTree;

/* mm fields for prctl(PR_SET_MM_MAP), in struct prctl_mm_map order. */
enum CkptMmField {
  CKPT_MM_START_CODE, CKPT_MM_END_CODE, CKPT_MM_START_DATA, CKPT_MM_END_DATA,
  CKPT_MM_START_BRK, CKPT_MM_BRK, CKPT_MM_START_STACK, CKPT_MM_ARG_START,
  CKPT_MM_ARG_END, CKPT_MM_ENV_START, CKPT_MM_ENV_END, CKPT_MM_FIELDS
};

/* struct prctl_mm_map (PR_SET_MM_MAP), used by the restorer and by the
 * agent (to set /proc/self/exe after a restart). */
typedef struct {
  uint64_t fields[CKPT_MM_FIELDS];
  uint64_t auxv;
  uint32_t auxv_size; /* 0: leave auxv as it is */
  uint32_t exe_fd;    /* (uint32_t)-1: leave /proc/self/exe as it is */
} CkptPrctlMmMap;

/* Per-process facts the image keeps in its "misc" blob (format v1). */
typedef struct {
  uint64_t magic;         /* CKPT_AGENT_MAGIC */
  uint64_t agent_state;   /* address of CkptAgentState */
  uint64_t mm[CKPT_MM_FIELDS];
  uint64_t auxv[128];
  uint32_t auxv_words;
  uint32_t exit_signal;    /* sent to the parent at exit; 0 in old images: SIGCHLD */
  /* compatibility: the machine the checkpoint was taken on */
  char kernel_release[65];
  char pad2[7];
  uint64_t vdso_bytes;     /* size of [vdso] */
  char cpu_flags[2048];    /* /proc/cpuinfo "flags" of the first CPU */
} CkptProcessFacts;

/* The "misc" blob of a process that had exited but was not yet waited for
 * (a zombie): restored as a child that exits at once with the status. */
#define CKPT_ZOMBIE_MAGIC 0x636b70747a6f6d62ull /* "ckptzomb" */
typedef struct {
  uint64_t magic; /* CKPT_ZOMBIE_MAGIC */
  int32_t wait_status;
  int32_t exit_signal;
} CkptZombieFacts;

typedef struct {
  CkptMessageHeader header;
  int32_t pid;
  int32_t pad;
  uint64_t own_start, own_end; /* the restorer's own mapping */
} CkptRestorerHello;

typedef struct {
  uint64_t start, end, file_offset;
  uint32_t prot, flags, kind; /* flags/kind as in the image schema */
  /* memory shared between processes: 1 + index of the shared object's
   * memfd among those passed with CKPT_MSG_LAYOUT (mapped at file_offset);
   * 0: none */
  uint32_t shared_object;
  char path[256];
} CkptRegionEntry;

#define CKPT_REGIONS_PER_MESSAGE 32

/* At most this many shared objects (memfds) per process. */
#define CKPT_MAX_SHARED_OBJECTS 64

typedef struct {
  CkptMessageHeader header;
  CkptProcessFacts facts;
  uint32_t region_count; /* regions follow in CKPT_MSG_REGIONS messages */
  /* memfds passed with this message (SCM_RIGHTS), one per object of memory
   * shared between processes that the process maps; the restorer closes
   * them once its regions are mapped */
  uint32_t shared_object_count;
} CkptLayout;

typedef struct {
  CkptMessageHeader header;
  uint32_t count;
  uint32_t pad;
  CkptRegionEntry regions[CKPT_REGIONS_PER_MESSAGE];
} CkptRegionBatch;

/* ---- saved thread state (lives in the agent, restored with memory) ---- */

/* Callee-saved registers of a thread parked in the agent (x86-64). */
typedef struct {
  uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
} CkptContext;

typedef struct {
  int32_t tid;
  uint32_t flags;
  uint64_t fs_base;
  uint64_t robust_head;
  uint64_t robust_length;
  uint64_t clear_child_tid;
  uint64_t altstack_sp;
  uint64_t altstack_size;
  int32_t altstack_flags;
  int32_t pad;
  CkptContext context;
  char name[16]; /* PR_GET_NAME: the thread's (or, main thread, process's) name */
} CkptThreadRecord;

#define CKPT_THREAD_IS_AGENT 1u /* the agent's own checkpoint thread */

typedef struct {
  int32_t fd;
  int32_t open_flags;
  int32_t fd_flags;
  uint32_t kind; /* DescriptorKind of the image schema */
  int64_t offset;
  char path[CKPT_PATH_BYTES];
} CkptDescriptorRecord;

typedef struct {
  uint64_t handler, flags, restorer, mask;
} CkptKernelSigaction;

typedef struct {
  uint64_t interval_sec, interval_usec, value_sec, value_usec;
} CkptTimer;

/* A signal that was pending at the checkpoint: taken off the kernel's
 * queue with its siginfo, queued again right after (and after a restart)
 * by the thread it belongs to. */
typedef struct {
  int32_t signal;
  int32_t tid;      /* 0: process-directed (the main thread re-queues it) */
  uint8_t info[128]; /* siginfo_t */
} CkptPendingSignal;

#define CKPT_MAX_PENDING_SIGNALS 64

/* An address range with memory advice that fork() does not copy: the
 * agent clears the advice for the twin's fork and sets it again. */
typedef struct {
  uint64_t start, end;
  int32_t advice; /* MADV_DONTFORK or MADV_WIPEONFORK */
  int32_t pad;
} CkptForkAdvice;

#define CKPT_MAX_FORK_ADVICE 64

/* A MAP_SHARED mapping that is not a file ckpt can remap (anonymous
 * shared memory, /dev/zero, memfd, SysV, a deleted file): the twin put an
 * empty private mapping in its place (a mapping without PROT_READ is only
 * listed), which the coordinator fills from the process once every process
 * of the group is stopped, for one twin per object (region flag
 * kRegionSharedContent in the image). The object's identity (device and
 * inode as /proc/self/maps shows them; equal in every process that maps
 * it) and the mapping's offset in it let the restart map it again from one
 * memfd per object in every process. copied_ns: 0; images written before
 * the coordinator filled the copies hold the CLOCK_MONOTONIC time at which
 * each twin copied the object itself (a restart of such an image takes an
 * object's pages from the process that copied it last). */
typedef struct {
  uint64_t start, end;
} CkptRange;

typedef struct {
  uint64_t start, end;
  uint64_t dev, inode; /* dev as st_dev (makedev of the maps line's major:minor) */
  uint64_t offset;     /* of start in the object, bytes */
  uint64_t copied_ns;
} CkptSharedCopy;

#define CKPT_MAX_SHARED_COPIES 64
#define CKPT_MAX_DROPPED 256

/* Files registered by file operations between two checkpoints. */
#define CKPT_MAX_TOUCHED 1024

/* Written ranges (file_spans.cpp). Per descriptor below CKPT_SPAN_FDS:
 * where its sequential writes began since the last checkpoint and the
 * positional writes (pwrite) since then, coalesced. The coordinator reads
 * and re-arms the table while the group is stopped; what happens between
 * two checkpoints to a descriptor that goes away (close, exit, exec,
 * lseek) reaches it as CkptFileReport messages. */
#define CKPT_SPAN_FDS 1024
#define CKPT_SPAN_APPEND 1u       /* O_APPEND: writes land at the end */
#define CKPT_SPAN_UNSURE 2u       /* writes the spans cannot follow since the checkpoint */
#define CKPT_SPAN_STICKY 4u       /* read-write stdio stream: unsure until closed */
#define CKPT_SPAN_TO_END (~(uint64_t)0)
typedef struct CkptFileSpan {
  uint64_t dev, ino;        /* 0/0: no span (not a regular file written through here) */
  uint64_t start_plus_one;  /* 0: unknown */
  uint64_t pwrite_low, pwrite_high;  /* low == high: none */
  uint32_t flags;
  uint32_t reports;         /* reports sent for it since the checkpoint */
} CkptFileSpan;

enum CkptFileReportKind {
  CKPT_REPORT_TOUCHED = 1,  /* path: may change (in-flight table entry) */
  CKPT_REPORT_RANGE = 2,    /* [start, end) written; end CKPT_SPAN_TO_END: to the end of the file */
  CKPT_REPORT_TRUNCATED = 3, /* size set to start */
  CKPT_REPORT_UNSURE = 4,   /* written in ways the ranges cannot follow */
  CKPT_REPORT_EXITED = 5    /* the process ends; every range of it was reported */
};
typedef struct CkptFileReport {
  CkptMessageHeader header;
  uint32_t kind;
  uint32_t pad;
  uint64_t dev, ino;
  uint64_t start, end;
  char path[CKPT_PATH_BYTES]; /* TOUCHED only; the message ends after its NUL */
} CkptFileReport;

/* The agent's whole state, one static object per process. The coordinator
 * reads it (process_vm_readv) to fill the image tables; the restorer and
 * the restored agent use it to rebuild threads and process state. */
typedef struct {
  uint64_t magic;
  uint32_t version;
  uint32_t thread_count;
  uint64_t epoch;
  /* set by the restorer before it jumps into the main thread */
  uint64_t restored;            /* non-zero after a restart */
  uint64_t restorer_start, restorer_end;  /* restorer mapping to unmap */
  /* thread parking */
  volatile int32_t parked;      /* futex: threads parked so far */
  volatile int32_t release;     /* futex: bumped to release parked threads */
  volatile int32_t revived;     /* futex: threads re-created after restart */
  volatile int32_t quiescing;   /* 1 while a checkpoint parks threads */
  volatile int32_t left;        /* futex: released threads out of the handler */
  int32_t pad_left;
  CkptThreadRecord threads[CKPT_MAX_THREADS];
  /* process state captured at the checkpoint */
  uint32_t umask;
  uint32_t descriptor_count;
  CkptKernelSigaction actions[65]; /* index = signal number */
  CkptTimer timers[3];             /* ITIMER_REAL, VIRTUAL, PROF */
  uint64_t rlimits[16][2];
  char cwd[4096];
  char exe[4096];                  /* /proc/self/exe */
  CkptDescriptorRecord descriptors[CKPT_MAX_DESCRIPTORS];
  /* signals taken off the queues at the checkpoint (pending_signals.cpp) */
  uint32_t pending_count;
  uint32_t shared_copy_count;      /* set in the twin only */
  uint32_t fork_advice_seen;       /* the application called madvise() with such advice */
  uint32_t fork_advice_count;
  CkptForkAdvice fork_advice[CKPT_MAX_FORK_ADVICE];
  CkptPendingSignal pending[CKPT_MAX_PENDING_SIGNALS];
  CkptSharedCopy shared_copies[CKPT_MAX_SHARED_COPIES];
  /* set by the restorer: the memory descriptor fields it restored, for
   * setting /proc/self/exe once the restorer's own mapping is gone */
  uint64_t restored_mm[CKPT_MM_FIELDS];
  /* where children and exec'd programs register (set at start-up; the
   * restorer sets it again after a restart), and the agent's own path */
  char agent_socket[CKPT_AGENT_SOCKET_BYTES];
  char library[CKPT_PATH_BYTES];
  int32_t control_fd;           /* -1: inert (not under ckpt) */
  int32_t pad_control;
  /* The in-flight file-operation table (file_wrappers.cpp): a file
   * operation that may change a file registers the file here before it
   * starts, under the wrapper guard, so no checkpoint falls between the
   * registration and the start of the operation. The coordinator reads the
   * table while the group is stopped (those files go into the storage
   * checkpoint) and empties it. */
  uint32_t touched_count;
  uint32_t touched_overflow;       /* more files than slots: the coordinator warns */
  uint64_t touched_hash[CKPT_MAX_TOUCHED];
  char touched[CKPT_MAX_TOUCHED][CKPT_PATH_BYTES];
  CkptFileSpan spans[CKPT_SPAN_FDS];
  /* Dirty pages (dirty_tracking.cpp), written at each checkpoint while
   * the application is parked, before the twin is forked. Both lists are
   * CkptRange arrays in the agent's memory (read through the twin):
   * `tracked`, the ranges whose every write since the checkpoint of epoch
   * `dirty_since_epoch` is known, and `written`, those writes (ascending,
   * then the pages dropped by madvise, unsorted). */
  uint32_t dirty_engine;           /* CKPT_DIRTY_* that made the lists; NONE: no lists */
  uint32_t dirty_complete;         /* 0: a list overflowed (use none of it) */
  uint64_t dirty_since_epoch;      /* 0: not armed before this checkpoint */
  uint64_t dirty_tracked, dirty_tracked_count;
  uint64_t dirty_written, dirty_written_count;
  /* pages dropped by madvise(MADV_DONTNEED/FREE/REMOVE) since the last
   * checkpoint: they read as zeros but no write marked them */
  uint32_t dirty_dropped_count;    /* may exceed the array: then incomplete */
  uint32_t pad_dirty;
  CkptRange dirty_dropped[CKPT_MAX_DROPPED];
} CkptAgentState;

#ifdef __cplusplus
}
#endif

#endif
