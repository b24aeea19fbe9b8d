// Human and JSON descriptions of stream events, and per-channel statistics:
// what redir-dump prints, and what other tools log at -v.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "wire/describe.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir::stream {

// One line, no newline: "@OFFSET t=SECONDS ch=ID(NAME) TYPE details"; and the
// same description as a JSON object. Both render wire's describe().
std::string describe_text(const Event& ev);
nlohmann::json describe_json(const Event& ev);


struct ChannelStats {
  uint16_t id = 0;
  std::string name;
  std::string kind;
  uint64_t frames = 0;
  uint64_t bytes = 0;  // headers included
  uint64_t unknown = 0;
  uint64_t first_us = 0, last_us = 0;
  bool any = false;
  // gdi channels: command vs pixel updates (vredir-gdi(5)), frame bytes
  uint64_t gdi_commands = 0, gdi_command_bytes = 0, gdi_pixel_updates = 0, gdi_pixel_bytes = 0;
};

class StreamStats {
 public:
  void add(const Event& ev);
  std::string table() const;
  std::vector<nlohmann::json> json() const;

 private:
  std::map<uint16_t, ChannelStats> channels_;
};

}  // namespace vredir::stream
