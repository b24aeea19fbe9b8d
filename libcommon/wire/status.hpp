// Errors are values inside libcommon: a Status carries an exit code and a
// one-line message that names the thing and the fix. Exceptions stop at main.
#pragma once

#include <string>
#include <utility>

#include "wire/exit_codes.hpp"

namespace vredir {

class Status {
 public:
  Status() = default;
  Status(int code, std::string message)
      : code_(code), stopped_(code != kExitOk), message_(std::move(message)) {}
  static Status ok() { return Status(); }
  // The reader of our output went away (EPIPE): stop quietly, exit 0.
  static Status reader_gone() {
    Status s;
    s.stopped_ = true;
    return s;
  }

  bool is_ok() const { return !stopped_; }
  bool is_reader_gone() const { return stopped_ && code_ == kExitOk; }
  explicit operator bool() const { return is_ok(); }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  int code_ = kExitOk;
  bool stopped_ = false;
  std::string message_;
};

inline Status fail(int code, std::string message) { return Status(code, std::move(message)); }

}  // namespace vredir
