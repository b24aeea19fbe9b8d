// The three gdi-forward commands: run one app, serve a registry, list it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gdi_forward {

struct Options {
  std::string command;  // run, serve, list
  std::string user;
  std::string registry;
  unsigned close_timeout_ms = 5000;
  size_t clipboard_max = 1u << 20;  // run: 0 leaves the clipboard alone
  bool json = false;
  int verbose = 0;
  std::vector<std::string> app;  // run: program and its arguments
};

int run_command(const Options& o);
int serve_command(const Options& o);
int list_command(const Options& o);

// One-line error on stderr: "gdi-forward: message".
void report(const std::string& message);
void write_stdout(const std::string& text);

}  // namespace gdi_forward
