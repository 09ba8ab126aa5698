// The control socket through which ckpt-ctl reaches a running group:
// found from the image path alone. Stream socket, one request line, reply
// lines ending with "ok ..." or "error ...". Only the owner may connect.
#pragma once

#include <string>

namespace ckpt::engine {

// /tmp/ckpt-<uid>/<xxh3 of the absolute image path>.sock
std::string control_socket_path(const std::string& image_path);

// Listens on the path (replacing a stale socket; refusing a live one).
// Throws std::runtime_error.
int listen_control_socket(const std::string& path);

// Connects; returns -1 with errno set when nothing listens.
int connect_control_socket(const std::string& path);

// Where the group's processes register: the control socket's path with
// ".agents" instead of ".sock" (SOCK_SEQPACKET, every message carries its
// sender's PID). Listened on while a group runs.
std::string agent_socket_path(const std::string& image_path);
int listen_agent_socket(const std::string& path);

// Whether the peer of a connected socket runs as our uid.
bool peer_is_owner(int fd);

}  // namespace ckpt::engine
