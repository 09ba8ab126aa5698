// ckpt-restart: continue a checkpointed group from the newest committed
// generation of its image, in the foreground, with our stdin/stdout/stderr.
#include <boost/program_options.hpp>

#include <iostream>

#include "after_stop.hpp"
#include "stderr_line.hpp"
#include "ckpt/policy/policy.hpp"
#include "ckpt/version.hpp"
#include "engine_settings.hpp"
#include "errors.hpp"
#include "exit_codes.hpp"
#include "image.hpp"

namespace po = boost::program_options;

namespace {

int fail(const std::string& message, int code) {
  ckpt::engine::write_stderr_line("ckpt-restart", message);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description visible(
      "Usage: ckpt-restart [options] IMAGE.h5\n"
      "Restarts the group checkpointed in IMAGE.h5 from its newest committed generation and\n"
      "runs it in the foreground; exits with the application's status.\n\nOptions");
  visible.add_options()("help,h", "show this help and exit")("version", "show the version and exit")(
      "interval", po::value<std::string>()->value_name("DURATION"),
      "checkpoint interval from now on (default: the image's policy)")(
      "quiet,q", "no progress messages on stderr");
  po::options_description hidden;
  hidden.add_options()("image", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("image", 1);
  try {
    po::options_description all;
    all.add(visible).add(hidden);
    po::variables_map values;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), values);
    po::notify(values);
    if (values.count("help")) {
      std::cout << visible << '\n';
      return ckpt::launcher::kExitOk;
    }
    if (values.count("version")) {
      std::cout << "ckpt-restart (ckpt) " << ckpt::kVersion << '\n';
      return ckpt::launcher::kExitOk;
    }
    if (!values.count("image")) throw po::error("missing IMAGE.h5");
    const std::string image_path = values["image"].as<std::string>();
    const auto image = ckpt::image::Image::open(image_path);
    ckpt::policy::Policy policy =
        ckpt::policy::parse_policy(image.metadata().policy_text, image_path + " (stored policy)");
    if (values.count("interval")) {
      ckpt::policy::override_interval(policy, values["interval"].as<std::string>(), "--interval");
    }
    auto settings = ckpt::launcher::coordinator_settings(policy, image_path, "ckpt-restart");
    settings.quiet = values.count("quiet") > 0;
    int exit_code = 0;
    std::optional<ckpt::engine::StopReport> stop;
    {
      ckpt::engine::Coordinator coordinator(settings);
      exit_code = coordinator.restart();
      stop = coordinator.stop_report();
    }
    return ckpt::launcher::run_after_stop_hook(stop, exit_code, "ckpt-restart");
  } catch (const po::error& error) {
    return fail(std::string(error.what()) + " (see ckpt-restart --help)", ckpt::launcher::kExitUsageError);
  } catch (const ckpt::image::ImageError& error) {
    return fail(error.what(), ckpt::launcher::kExitUsageError);
  } catch (const ckpt::launcher::NotAvailableHere& error) {
    return fail(error.what(), ckpt::launcher::kExitNotAvailable);
  } catch (const ckpt::policy::PolicyError& error) {
    return fail(error.what(), ckpt::launcher::kExitUsageError);
  } catch (const std::exception& error) {
    return fail(error.what(), ckpt::launcher::kExitInternalError);
  }
}
