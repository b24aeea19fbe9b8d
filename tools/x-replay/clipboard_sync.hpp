// x-replay's side of an app's clipboard (the clipboard channel kind,
// vredir-stream(5)). Text an app copied becomes the local CLIPBOARD and
// PRIMARY selections, served from x-replay's own window (UTF8_STRING, STRING,
// TEXT, TARGETS). Text copied locally (a new CLIPBOARD owner, seen through
// XFixes) is fetched (also INCR transfers) and handed to send(), for the apps.
// Text over the limit is not taken either way, with one line on stderr.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "wire/status.hpp"

namespace xreplay {

class ClipboardSync {
 public:
  using Send = std::function<vredir::Status(const std::string& utf8)>;
  ClipboardSync(size_t limit, Send send);
  ~ClipboardSync();
  ClipboardSync(const ClipboardSync&) = delete;
  ClipboardSync& operator=(const ClipboardSync&) = delete;

  vredir::Status open(const std::string& display);
  int fd() const;
  // Text copied in an app (valid UTF-8, as the stream's decoder checked it).
  void from_app(const std::string& utf8);
  // Handles the X events that arrived. Fails only when send() fails.
  vredir::Status pump();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xreplay
