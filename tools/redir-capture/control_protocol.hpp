// The control socket's requests (redir-capture --control SOCKET): one line
// each, answered by one JSON line. A request is either words,
//
//   snapshot FILE
//   text [--region X,Y,W,H]
//   wait-text [--timeout S] [--region X,Y,W,H] [--snapshot FILE] REGEX
//   wait-match [--timeout S] [--region X,Y,W,H] [--threshold T] [--snapshot FILE] NEEDLE
//   wait-stable [--timeout S] [--psnr DB] [--ignore X,Y,W,H]... [--no-blink-filter] [--snapshot FILE] SECONDS
//   needle-new --area X,Y,W,H... [--ignore X,Y,W,H]... NAME
//
// where the last argument is the rest of the line (a regular expression may
// hold spaces) and option values may not, or the same as a JSON object
// ({"request":"wait-text","regex":"...","timeout":30,...}), which is what
// redir-capture --via sends. Replies: {"status":0, ...what was found...} or
// {"status":5,"error":"...","snapshot":"/tmp/..."}; status is the exit
// code the command line would give. The bytes come from any local process
// that may open the socket, so the parser takes nothing on trust.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "media/screen_match.hpp"
#include "screen_waits.hpp"

namespace vredir {

inline constexpr size_t kMaxControlLine = 64 * 1024;

struct ControlRequest {
  enum class Verb { kSnapshot, kText, kWait, kNeedleNew };
  Verb verb = Verb::kSnapshot;
  std::string file;                  // snapshot FILE, needle-new NAME
  ScreenRegion region;               // text
  WaitSpec wait;                     // wait-*
  std::vector<ScreenRegion> areas;   // needle-new
  std::vector<ScreenRegion> ignore;  // needle-new
};

// Parses one request line (without its newline). False with *err naming
// what is wrong.
bool parse_control_request(std::string_view line, ControlRequest* out, std::string* err);

// The JSON form of a request, one line (what --via sends).
std::string control_request_json(const ControlRequest& request);

}  // namespace vredir
