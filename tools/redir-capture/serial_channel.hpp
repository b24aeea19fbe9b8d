// redir-capture's serial console (--serial): the pieces that sit around the
// console itself (virt/console_stream.hpp), each small and testable alone.
//   SerialWait   --until-serial: a regular expression looked for in the
//                console's output, line by line (the line being written
//                counts too, so a prompt without a newline can match)
//   SerialInput  --serial-input: a vredir stream (a FIFO, a file or stdin)
//                whose serial DATA frames are written to the console
// The console's output goes into the capture's stream as DATA frames of a
// bytes channel with purpose "serial" (vredir-stream(5)).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "virt/console_stream.hpp"
#include "wire/status.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir {

class SerialWait {
 public:
  // A bad expression is a usage error (exit 2).
  static Status create(const std::string& regex, std::unique_ptr<SerialWait>* out);

  // Console output as it arrives; true once a line matched, with *report:
  // {"event":"serial","regex":...,"text":the match,"line":its line}.
  bool feed(std::string_view bytes, nlohmann::ordered_json* report);

  const std::string& regex() const { return regex_; }
  // "no console output matching 'R' from LABEL (last line: "...")"
  std::string failure(const std::string& label) const;
  std::string progress(const std::string& label) const;

  static constexpr size_t kMaxLine = 2048;  // longer lines are looked at in their last kMaxLine bytes

 private:
  explicit SerialWait(std::string regex) : regex_(std::move(regex)) {}
  bool check(std::string& line, nlohmann::ordered_json* report);

  std::string regex_;
  std::regex re_;
  std::string line_;       // the line being written
  std::string last_line_;  // the last complete line, for the failure message
};

class SerialInput {
 public:
  SerialInput() = default;
  ~SerialInput();
  SerialInput(const SerialInput&) = delete;
  SerialInput& operator=(const SerialInput&) = delete;

  // "-" is stdin. A FIFO is opened without waiting for its writer.
  Status open(const std::string& path);
  // -1 once the input has ended (its writer closed it, or END).
  int fd() const { return ended_ ? -1 : fd_; }
  // Reads what is waiting (call when fd() is readable) and appends the bytes
  // of DATA frames on serial bytes channels to *out. A malformed stream is
  // kExitMalformed naming the input.
  Status read(std::string* out);
  // The frames themselves, for feeding bytes already read (tests).
  Status feed(const uint8_t* data, size_t size, std::string* out);
  bool ended() const { return ended_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  bool owned_ = false;
  bool ended_ = false;
  std::string path_;
  stream::StreamDecoder decoder_;
};

// The console, its input and its wait, as a capture drives them: the
// capture's loop (with a stream) and the serial-only wait (no display) call
// the same service().
class SerialSession {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::string input;     // --serial-input PATH ("" none)
    std::string until;     // --until-serial REGEX ("" none)
    double timeout_s = 0;  // for the wait; 0 none
    bool json = false;     // the wait's report on stdout
  };

  // Checks the expression and opens the input, then the console (refusing a
  // console held by another client). enable_libvirt_events() must have run
  // before the domain's connection was opened.
  Status open(const Domain& domain, const Options& o);
  // The descriptors whose readiness service() wants to hear about.
  void fds(std::vector<int>* out) const;
  // Moves what is waiting both ways: console output is appended to *output
  // (and fed to the wait), the input's serial bytes go to the console. Once
  // the wait is over, *wait_result holds how it ended: found (its report on
  // stdout with --json), timed out (exit 5) or the console gone (exit 6).
  // A failure returned here: the console ended (exit 6, no wait pending)
  // or the input is malformed (exit 7).
  Status service(Clock::time_point now, std::string* output, std::optional<Status>* wait_result);
  bool waiting() const { return wait_ != nullptr; }
  const std::string& label() const { return console_.label(); }
  void close() { console_.close(); }

 private:
  Options o_;
  ConsoleStream console_;
  SerialInput input_;
  bool has_input_ = false;
  std::unique_ptr<SerialWait> wait_;
  Clock::time_point start_, deadline_, next_note_;
  std::string domain_;
};

}  // namespace vredir
