// redir-dump's run: frames as text or JSON, statistics, a check, an
// extraction (PNG frames, WAV, or a video), the text on the stream's screens
// (--text) and a wait for text to show (--until-text). main.cpp parses.
#pragma once

#include <string>
#include <vector>

#include "media/screen_match.hpp"
#include "wire/status.hpp"

namespace vredir {

struct DumpOptions {
  std::string input = "-";
  bool json = false;
  bool stats = false;
  bool check = false;
  std::vector<std::string> channels;
  std::string extract;
  std::string to;
  bool text = false;
  std::string until_text;
  ScreenRegion region;
  double timeout_s = 0;
};

Status run_dump(const DumpOptions& options);

}  // namespace vredir
