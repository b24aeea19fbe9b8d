// The tools a session runs (redir-capture, redir-inject, redir-usb): found
// beside this binary first, with stdin/stdout pipes, stopped with SIGTERM
// then SIGKILL, always reaped. The server's sessions and connect --usb use it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "wire/frame_reader.hpp"
#include "wire/status.hpp"

namespace vredir::mux {

// Who a child runs as when not as us: switched to after fork, before exec
// (supplementary groups, group, user), so the tool never runs as us.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name, home;
};
// The passwd entry of a Unix user: kExitNotFound when there is none;
// kExitDenied when this process may not switch to it (neither root nor
// holding CAP_SETUID and CAP_SETGID).
Status lookup_run_as(const std::string& unix_user, RunAs* out);

// A tool run for the session: stdin/stdout pipes, in the session's process group.
struct Child {
  pid_t pid = -1;
  int in = -1;   // its stdin (we write), -1 when not wanted
  int out = -1;  // its stdout (we read)
};

// NAME beside this binary (or in the build tree's tools/NAME/), else NAME for PATH.
std::string program_path(const std::string& name);
// Both pipe ends on our side are non-blocking and close-on-exec; without
// with_stdin the child's stdin is /dev/null. The child's environment is ours
// without the variables named in env_unset, with env_set ("NAME=VALUE") on top.
// With as, the child switches to that user first (and HOME, USER and
// LOGNAME are its own).
Status spawn(const std::vector<std::string>& args, bool with_stdin, Child* c,
             const std::vector<std::string>& env_set = {}, const std::vector<std::string>& env_unset = {},
             const RunAs* as = nullptr);
// Writes what c's stdin takes now from the front of *q. A stdin that is gone
// is closed and *q dropped; with close_when_empty it is also closed once *q
// is empty (the stream for it has ended).
void feed_child(Child* c, std::string* q, bool close_when_empty = false);
// Reads c's stdout as a stream while more() holds, handing each frame to
// on_frame (false: stop reading for now). kEnded when its output ended, or
// was malformed (then *err says how); its stdout is closed either way.
enum class ChildOutput { kWaiting, kEnded };
ChildOutput read_child_frames(Child* c, stream::FrameReader* frames, const std::function<bool()>& more,
                              const std::function<bool(const stream::Frame&)>& on_frame, std::string* err);
// SIGTERM, then SIGKILL once the deadline passes; always reaped.
void stop_children(std::vector<Child*> children, std::chrono::steady_clock::time_point deadline);

}  // namespace vredir::mux
