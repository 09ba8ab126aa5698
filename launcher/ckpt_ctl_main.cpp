// ckpt-ctl: talk to a running group, found from its image path.
//   ckpt-ctl --image IMAGE.h5 checkpoint       blocks until committed, prints the generation
//   ckpt-ctl --image IMAGE.h5 status           processes, threads, last and next checkpoint
//   ckpt-ctl --image IMAGE.h5 stop [--checkpoint]
#include <sys/socket.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "stderr_line.hpp"
#include "ckpt/version.hpp"
#include "control_socket.hpp"

namespace po = boost::program_options;

namespace {

constexpr int kOk = 0;
constexpr int kRequestFailed = 1;
constexpr int kUsage = 2;
constexpr int kNotRunning = 3;

int fail(const std::string& message, int code) {
  ckpt::engine::write_stderr_line("ckpt-ctl", message);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description visible(
      "Usage: ckpt-ctl --image IMAGE.h5 checkpoint | status | stop [--checkpoint]\n\nOptions");
  visible.add_options()("help,h", "show this help and exit")("version", "show the version and exit")(
      "image,i", po::value<std::string>()->value_name("IMAGE.h5"), "the running group's image")(
      "checkpoint", "with stop: take a final checkpoint first");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("command", 1);
  std::string request;
  std::string image;
  try {
    po::options_description all;
    all.add(visible).add(hidden);
    po::variables_map values;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), values);
    po::notify(values);
    if (values.count("help")) {
      std::cout << visible << "\nExit status: 0 done, 1 the request failed (reason on stderr),\n"
                             "2 usage error, 3 no running group for this image.\n";
      return kOk;
    }
    if (values.count("version")) {
      std::cout << "ckpt-ctl (ckpt) " << ckpt::kVersion << '\n';
      return kOk;
    }
    if (!values.count("image")) throw po::error("--image is required");
    if (!values.count("command")) throw po::error("missing command: checkpoint, status or stop");
    image = values["image"].as<std::string>();
    request = values["command"].as<std::string>();
    if (request != "checkpoint" && request != "status" && request != "stop") {
      throw po::error("unknown command '" + request + "'");
    }
    if (values.count("checkpoint")) {
      if (request != "stop") throw po::error("--checkpoint goes with stop only");
      request = "stop --checkpoint";
    }
  } catch (const po::error& error) {
    return fail(std::string(error.what()) + " (see ckpt-ctl --help)", kUsage);
  }
  const std::string path = ckpt::engine::control_socket_path(image);
  const int fd = ckpt::engine::connect_control_socket(path);
  if (fd < 0) return fail("no running group for " + image + " (" + std::strerror(errno) + ")", kNotRunning);
  const std::string line = request + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return fail("cannot send the request", kRequestFailed);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buffer[4096];
  for (ssize_t got; (got = ::read(fd, buffer, sizeof buffer)) > 0;) reply.append(buffer, got);
  ::close(fd);
  // The last line says ok/error; the lines before it are the report.
  while (!reply.empty() && reply.back() == '\n') reply.pop_back();
  const auto last_break = reply.rfind('\n');
  const std::string body = last_break == std::string::npos ? "" : reply.substr(0, last_break + 1);
  const std::string verdict = last_break == std::string::npos ? reply : reply.substr(last_break + 1);
  std::cout << body;
  if (verdict.rfind("ok", 0) == 0) {
    if (request == "checkpoint" || request == "stop --checkpoint") {
      std::cout << "generation " << verdict.substr(3) << " committed\n";
    }
    return kOk;
  }
  if (verdict.rfind("error ", 0) == 0) return fail(verdict.substr(6), kRequestFailed);
  return fail("the group ended the connection without an answer", kRequestFailed);
}
