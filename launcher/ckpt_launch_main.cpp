// ckpt-launch: run a group of applications under checkpointing.

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "after_stop.hpp"
#include "stderr_line.hpp"
#include "ckpt/policy/policy.hpp"
#include "ckpt/version.hpp"
#include "engine_settings.hpp"
#include "program_check.hpp"
#include "exit_codes.hpp"
#include "launch_command_line.hpp"
#include "load_policy.hpp"

namespace {

using namespace ckpt::launcher;

int fail(std::string_view message, int exit_code) {
  ckpt::engine::write_stderr_line("ckpt-launch", message);
  return exit_code;
}

int run(const std::vector<std::string>& arguments) {
  const LaunchCommandLine command_line = parse_launch_command_line(arguments);
  if (command_line.help) {
    std::cout << launch_help();
    return kExitOk;
  }
  if (command_line.version) {
    std::cout << "ckpt-launch (ckpt) " << ckpt::kVersion << '\n';
    return kExitOk;
  }

  const ckpt::policy::Policy policy = load_effective_policy(command_line.policy);
  if (command_line.print_policy) {
    std::cout << ckpt::policy::print_policy(policy);
    return kExitOk;
  }
  if (command_line.check_policy) {
    std::cout << policy_source_name(command_line.policy) << ": ok\n";
    return kExitOk;
  }
  if (policy.groups.empty()) {
    return fail(
        "no command given and the policy has no [[group]]; usage: ckpt-launch "
        "[options] -- CMD ARGS...",
        kExitUsageError);
  }
  if (policy.groups.size() != 1) {
    return fail("the policy has " + std::to_string(policy.groups.size()) +
                    " groups; one ckpt-launch runs one group (start one per group)",
                kExitNotAvailable);
  }
  const std::vector<ckpt::engine::AppCommand> commands = group_applications(policy);
  for (const auto& command : commands) {
    if (const auto why = ckpt::engine::static_program_refusal(command.argv.front())) {
      return fail(*why, kExitNotAvailable);
    }
  }
  int exit_code = 0;
  std::optional<ckpt::engine::StopReport> stop;
  {
    ckpt::engine::Coordinator coordinator(
        coordinator_settings(policy, image_path_of(policy), "ckpt-launch"));
    exit_code = coordinator.launch(commands);
    stop = coordinator.stop_report();
  }
  return run_after_stop_hook(stop, exit_code, "ckpt-launch");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> arguments(argv + std::min(argc, 1), argv + argc);
    const int exit_code = run(arguments);
    std::cout.flush();
    if (!std::cout) return fail("cannot write to standard output", kExitInternalError);
    return exit_code;
  } catch (const UsageError& error) {
    return fail(std::string(error.what()) + " (see ckpt-launch --help)", kExitUsageError);
  } catch (const ckpt::launcher::NotAvailableHere& error) {
    return fail(error.what(), kExitNotAvailable);
  } catch (const ckpt::policy::PolicyError& error) {
    return fail(error.what(), kExitUsageError);
  } catch (const std::exception& error) {
    return fail(error.what(), kExitInternalError);
  }
}
