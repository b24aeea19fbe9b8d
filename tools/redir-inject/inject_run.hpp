// redir-inject's run: resolves the actions given as flags or scripts, opens
// the VM's VNC display (and its virtio keyboard when it has one), and
// delivers the actions, then a stream's input channels, in order, with
// acknowledgements on stdout when asked. main.cpp only parses the options.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "input/input_script.hpp"
#include "wire/status.hpp"

namespace vredir {

// An action flag as given on the command line, in command-line order.
enum class ActionFlag { kType, kKey, kMove, kMoveRel, kClick, kScroll, kScript };

struct InjectOptions {
  std::string domain, uri, vnc;
  std::string input;  // a stream to read; "" with no actions means stdin
  std::string keymap = "us";
  std::string keyboard = "auto";  // auto, virtio or vnc
  bool ack = false;
  bool no_timing = false;
  double key_interval_ms = -1;  // by path when < 0
  std::vector<std::pair<ActionFlag, std::string>> actions;
  // --serial-text: bytes for the serial console (escapes as --type), in
  // order; --force takes the console from another client.
  std::vector<std::string> serial_texts;
  bool force = false;
  // --seat N: keys through a virtio keyboard of the run's own, bound to head
  // N and hot-plugged for the run (-1: the VM's shared devices).
  int seat = -1;
};

// The --serial-text flags unescaped and joined; a bad escape is a usage error.
Status serial_bytes(const InjectOptions& o, std::string* out);

// Turns the flags and scripts into actions; a bad one is a usage error
// (kExitUsage) naming the flag, before any input is sent.
Status resolve_actions(const InjectOptions& o, std::vector<InputAction>* out);

// Checks what the options parser cannot: one usage error, or ok.
Status check_inject_options(const InjectOptions& o);

Status run_inject(const InjectOptions& o);

}  // namespace vredir
