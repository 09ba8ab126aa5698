// Written ranges: which bytes of which files the group wrote since the
// last checkpoint, kept cheaply enough that write() itself is not wrapped.
//
// A descriptor's sequential writes (write, writev, stdio, sendfile...)
// land between where its offset was at the checkpoint (or at open) and
// where it is now, as long as nobody moves it: the coordinator reads both
// ends while the group is stopped. Only what breaks that picture is
// wrapped: lseek/fseek (the span so far is reported, a new one starts),
// close/fclose/dup2 (reported), positional writes (pwrite: coalesced),
// truncation, fallocate, copy_file_range with an explicit offset, shared
// writable mappings (the file is "unsure": saved whole if it changed),
// exec and exit (every span reported, then EXITED). Reports are
// CkptFileReport messages on the control socket; the coordinator reads
// them at any time, also after the process ended.
#pragma once

#include <stdint.h>

#include "protocol.h"

namespace ckpt::agent {

// Sends one report (no reply). Safe in any thread; a no-op when inert.
void send_file_report(uint32_t kind, uint64_t dev, uint64_t ino, uint64_t start, uint64_t end);
void send_touched_report(const char* absolute_path);

// A descriptor was opened with `flags` (`sticky_unsure`: a read-write
// stdio stream, whose writes the span cannot follow while it is open).
void span_opened(int fd, int flags, bool sticky_unsure);
// Whether `fd` has a span; marks it unsure until closed.
bool span_exists(int fd);
void span_mark_sticky(int fd);
// A descriptor is about to be closed: its span is reported. `to_end`:
// report to the end of the file (buffered stdio bytes may still follow).
void span_closing(int fd, bool to_end);
// `target` now refers to the same open file description as `source`.
void span_duplicated(int source, int target);
// Before exec: every span is reported and forgotten (a new program starts
// with none; the coordinator treats its inherited writers as unknown).
void spans_before_exec();
// The process ends normally: every span reported, then EXITED.
void spans_at_exit();

}  // namespace ckpt::agent
