#include "sys/cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <iostream>

namespace vredir {

void init_logging(const std::string& tool_name, int verbosity) {
  // spdlog's default logger writes to stdout, which carries data here.
  spdlog::drop(tool_name);
  auto logger = spdlog::stderr_color_mt(tool_name);
  logger->set_pattern(tool_name + ": %^%v%$");
  spdlog::level::level_enum level = spdlog::level::info;
  if (verbosity >= 2) level = spdlog::level::trace;
  else if (verbosity == 1) level = spdlog::level::debug;
  else if (verbosity == -1) level = spdlog::level::warn;
  else if (verbosity <= -2) level = spdlog::level::err;
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

Tool::Tool(std::string name, std::string description) : name_(std::move(name)), app_(description, name_) {
  std::signal(SIGPIPE, SIG_IGN);
  init_logging(name_, 0);
  app_.set_version_flag("-V,--version", name_ + " (vredir) " VREDIR_VERSION);
  app_.add_flag("-v,--verbose", verbose_, "More logging on stderr (repeat for more)");
  app_.add_flag("-q,--quiet", quiet_, "Less logging on stderr (repeat for less)");
  app_.footer("Exit status: 0 ok, 1 failure, 2 usage, 3 not found, 4 denied, 5 timed out,\n"
              "6 peer closed or stream truncated, 7 malformed stream, 130 interrupted.");
}

int Tool::parse(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    std::cout.flush();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app_.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    std::cout << app_.version() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    return usage_error(msg);
  }
  init_logging(name_, verbose_ - quiet_);
  return -1;
}

namespace {
CLI::Validator number_at_least(bool zero_ok) {
  return CLI::Validator(
      [zero_ok](std::string& text) -> std::string {
        const char* what = zero_ok ? "a number, 0 or more" : "a number above 0";
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v) ||
            (zero_ok ? v < 0 : v <= 0))
          return "needs " + std::string(what) + " (got '" + text.substr(0, 64) + "')";
        return "";
      },
      zero_ok ? "NONNEGATIVE" : "POSITIVE");
}
}  // namespace

const CLI::Validator kNonNegative = number_at_least(true);
const CLI::Validator kPositive = number_at_least(false);

int Tool::usage_error(const std::string& message) const {
  std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", name_.c_str(), message.c_str(), name_.c_str());
  return kExitUsage;
}

int Tool::finish(const Status& status) const {
  if (!status.is_ok() && !status.message().empty())
    std::fprintf(stderr, "%s: %s\n", name_.c_str(), status.message().c_str());
  return status.code();
}

}  // namespace vredir
