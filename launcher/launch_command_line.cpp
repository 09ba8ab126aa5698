#include "launch_command_line.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <sstream>

#include "ckpt/policy/suggest.hpp"

namespace ckpt::launcher {
namespace {

namespace po = boost::program_options;

po::options_description visible_options() {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("policy", po::value<std::string>()->value_name("FILE"),
       "policy file (TOML); without it the built-in default policy is used")
      ("image", po::value<std::string>()->value_name("PATH"),
       "image path template, overrides [storage] image")
      ("interval", po::value<std::string>()->value_name("DURATION"),
       "checkpoint interval like 15m or off, overrides [checkpoint] interval")
      ("print-policy", "print the effective policy as TOML and exit")
      ("check-policy", "validate the effective policy, print 'FILE: ok' and exit")
      ("help,h", "print this help and exit")
      ("version", "print the version and exit");
  // clang-format on
  return options;
}

std::vector<std::string_view> long_option_names(const po::options_description& options) {
  std::vector<std::string_view> names;
  for (const auto& option : options.options()) names.push_back(option->long_name());
  return names;
}

std::string unknown_option_message(const po::unknown_option& error,
                                   const po::options_description& options) {
  const std::string name = error.get_option_name();
  std::string message = "unknown option '" + name + "'";
  const std::size_t name_start = std::min(name.find_first_not_of('-'), name.size());
  const std::string_view bare = std::string_view(name).substr(name_start);
  const auto names = long_option_names(options);
  if (const auto suggestion = policy::closest_match(bare, names)) {
    message += "; did you mean '--" + std::string(*suggestion) + "'?";
  }
  return message;
}

}  // namespace

LaunchCommandLine parse_launch_command_line(const std::vector<std::string>& arguments) {
  const auto separator = std::find(arguments.begin(), arguments.end(), "--");
  const std::vector<std::string> option_arguments(arguments.begin(), separator);

  const po::options_description options = visible_options();
  po::options_description all_options;
  all_options.add(options).add_options()("stray", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("stray", -1);

  po::variables_map values;
  try {
    const int style =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(option_arguments)
                  .options(all_options)
                  .positional(positional)
                  .style(style)
                  .run(),
              values);
  } catch (const po::unknown_option& error) {
    throw UsageError(unknown_option_message(error, options));
  } catch (const po::error& error) {
    throw UsageError(error.what());
  }

  if (values.count("stray") != 0) {
    throw UsageError("unexpected argument '" +
                     values["stray"].as<std::vector<std::string>>().front() +
                     "'; put the command after '--'");
  }

  LaunchCommandLine command_line;
  if (values.count("policy") != 0)
    command_line.policy.policy_file = values["policy"].as<std::string>();
  if (values.count("image") != 0) command_line.policy.image = values["image"].as<std::string>();
  if (values.count("interval") != 0)
    command_line.policy.interval = values["interval"].as<std::string>();
  if (separator != arguments.end())
    command_line.policy.command.assign(separator + 1, arguments.end());
  command_line.print_policy = values.count("print-policy") != 0;
  command_line.check_policy = values.count("check-policy") != 0;
  command_line.help = values.count("help") != 0;
  command_line.version = values.count("version") != 0;
  if (command_line.print_policy && command_line.check_policy) {
    throw UsageError("--print-policy and --check-policy cannot be combined");
  }
  return command_line;
}

std::string launch_help() {
  std::ostringstream help;
  help << "Usage: ckpt-launch [options] -- CMD [ARGS...]\n"
          "       ckpt-launch --policy FILE [options]   (the policy lists the applications)\n"
          "\n"
          "Runs a group of applications under transparent checkpointing.\n"
          "\n"
       << visible_options()
       << "\n"
          "Exit status: the application's (128+N when signal N ended it). Before it runs:\n"
          "1 cannot start (no user namespaces, system error), 2 bad option or policy,\n"
          "3 not available here (a static program, a dirty-page engine the kernel lacks),\n"
          "127 command not found. See ckpt-launch(1), docs/policy.md.\n";
  return help.str();
}

}  // namespace ckpt::launcher
