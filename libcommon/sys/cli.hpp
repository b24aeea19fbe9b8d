// The command-line contract every tool follows: one parse helper, one stderr
// logger, -h/--help, -V/--version, -v/-q, and CLI11's own error codes never
// leaking out (usage errors are exit 2 with "Try 'NAME --help'.").
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "sys/signals.hpp"
#include "wire/status.hpp"

namespace vredir {

class Tool {
 public:
  // Installs the stderr logger and ignores SIGPIPE (a closed reader shows up
  // as EPIPE on write, which the output helpers turn into a quiet exit 0).
  Tool(std::string name, std::string description);

  CLI::App& app() { return app_; }
  const std::string& name() const { return name_; }

  // Returns -1 when the tool should go on, otherwise the exit code to return
  // (0 after --help/--version, 2 after a usage error).
  int parse(int argc, char** argv);

  // Prints "NAME: message" (unless empty) and returns the status's code.
  int finish(const Status& status) const;

  // One-line usage error from the tool itself, exit 2.
  int usage_error(const std::string& message) const;

 private:
  std::string name_;
  CLI::App app_;
  int verbose_ = 0;
  int quiet_ = 0;
};

// Number checks for options, with a message that says what was expected
// (CLI11's own name the whole range of a double).
extern const CLI::Validator kNonNegative;  // a number >= 0
extern const CLI::Validator kPositive;     // a number > 0
// Installs a stderr logger named after the tool as spdlog's default logger.
void init_logging(const std::string& tool_name, int verbosity);

}  // namespace vredir
