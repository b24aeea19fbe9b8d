// Joining and splitting vredir streams (redir-mux join / split).
//
// StreamJoiner merges the decoded events of several input streams into one
// output stream:
//  - channels are renumbered: a channel keeps its id when no other input
//    uses it, otherwise it gets the lowest free id; its DECLARE gains the
//    params input=INDEX (0-based) and source=LABEL, and a display=N param
//    that names a channel of the same input is rewritten to the joined id;
//  - timestamps share one time base: a live input (pipe, command) is rebased
//    so its first frame lands at the join's clock when it arrived; a file
//    input keeps its own timestamps (a recording's timing, exactly), and
//    files are merged in timestamp order. Output timestamps never go
//    backwards;
//  - an input's END closes its channels; when every input has ended, one END
//    goes out whose reason is the worst of the inputs' reasons.
//
// UpstreamRouter takes the frames coming back on the joined stream (input
// from a viewer) and routes each channel to the input that owns it, as one
// well-formed stream per input: a channel whose DECLARE has display=N goes to
// the input that owns joined channel N (with N mapped back); input=K picks
// input K; a channel with the id and kind of a joined channel (a control
// channel) goes to its owner under the original id; any other channel (a
// keyboard) follows the pointer: it goes to the input that last got a routed
// pointer frame, else to the first input that takes input (so does a
// display=N that names no open joined channel when the channel is declared).
//
// SplitRoutes is the routing table of redir-mux split: --route MATCH=TARGET,
// where MATCH is a channel kind, a channel name, a channel id or '*', and a
// list of them separated by commas; the first route that matches wins.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "wire/status.hpp"
#include "wire/stream_decoder.hpp"
#include "wire/stream_writer.hpp"

namespace vredir::stream {

struct JoinInput {
  std::string label;  // written as the source= param of its channels
  bool live = false;  // read as produced (pipe, command), not from a file
};

class StreamJoiner {
 public:
  StreamJoiner(StreamWriter* out, std::vector<JoinInput> inputs);

  // Writes the stream header and HELLO (params: inputs=N).
  Status begin(const std::string& producer);

  // The joined timestamp an event of this input read at join time now_us
  // gets (µs since begin). The first call for an input fixes its offset.
  uint64_t timestamp(size_t input, uint64_t ts_us, uint64_t now_us);

  // Adds one decoded event of an input; now_us as for timestamp().
  Status add(size_t input, const Event& ev, uint64_t now_us);

  // The input ended without an END of its own (it failed, or it was an
  // optional input that sent nothing): its channels are closed.
  Status end_input(size_t input, EndReason reason, const std::string& message);
  Status abandon(size_t input, const std::string& why) { return end_input(input, EndReason::kError, why); }

  bool ended(size_t input) const { return state_.at(input).ended; }
  bool all_ended() const;
  size_t size() const { return state_.size(); }

  // Writes the final END: normal when every input ended normally, else the
  // worst reason, with the inputs' messages.
  Status finish();
  EndReason final_reason() const;

  // Joined id -> (input, original id), and back.
  std::optional<std::pair<size_t, uint16_t>> origin(uint16_t joined) const;
  std::optional<uint16_t> joined_id(size_t input, uint16_t original) const;
  std::optional<uint8_t> kind_of(uint16_t joined) const;

  // Maps the channel named inside ACK payloads (an input channel of the
  // source's own upstream) to the id the joined stream's consumer used.
  void set_ack_map(std::function<std::optional<uint16_t>(size_t input, uint16_t channel)> fn) {
    ack_map_ = std::move(fn);
  }

 private:
  struct InputState {
    JoinInput info;
    bool started = false;
    int64_t offset = 0;
    bool ended = false;
    EndReason reason = EndReason::kNormal;
    std::string message;
    std::map<uint16_t, uint16_t> ids;  // original -> joined
  };
  Status close_all(size_t input);

  StreamWriter* out_;
  std::vector<InputState> state_;
  std::map<uint16_t, std::pair<size_t, uint16_t>> owner_;  // joined -> (input, original)
  std::map<uint16_t, uint8_t> kinds_;                      // joined -> kind
  uint64_t last_ts_ = 0;
  std::function<std::optional<uint16_t>(size_t, uint16_t)> ack_map_;
  std::string scratch_;
};

class UpstreamRouter {
 public:
  // writers[i] is input i's upstream (null: input i takes no input; frames
  // for it are dropped and counted). Each writer is begun lazily.
  UpstreamRouter(const StreamJoiner* joiner, std::vector<StreamWriter*> writers);

  Status add(const Event& ev);
  // Ends every begun upstream (reason of the upstream's own END, or normal).
  Status finish(EndReason reason = EndReason::kNormal, const std::string& message = "");

  // The upstream id (as the joined stream's consumer wrote it) for a
  // channel id an input saw on its upstream; for ACK remapping.
  std::optional<uint16_t> consumer_id(size_t input, uint16_t channel) const;
  uint64_t dropped() const { return dropped_; }

 private:
  struct Channel {
    Declare declare;
    std::optional<size_t> fixed;            // target input, when fixed
    std::optional<uint16_t> original;       // id to use there (mapped back)
    std::map<size_t, uint16_t> declared;    // input -> id declared there
  };
  struct Target {
    StreamWriter* writer = nullptr;
    bool begun = false;
    std::set<uint16_t> used;
    std::map<uint16_t, uint16_t> back;  // id there -> consumer id
  };
  std::optional<size_t> target_of(const Channel& ch) const;
  Status ensure_declared(uint16_t id, Channel& ch, size_t input, uint16_t* there);

  const StreamJoiner* joiner_;
  std::vector<Target> targets_;
  std::map<uint16_t, Channel> channels_;
  std::optional<size_t> focus_;
  uint64_t dropped_ = 0;
};

struct SplitRoute {
  std::vector<std::string> matches;  // kind names, channel names, ids, '*'
  std::string target;                // FILE, '-' or exec:COMMAND
};

class SplitRoutes {
 public:
  // Parses "MATCH[,MATCH...]=TARGET"; false with *err on a bad spec.
  bool add(const std::string& spec, std::string* err);
  // Index of the route for a declared channel, or nullopt (dropped).
  std::optional<size_t> route(const Declare& d) const;
  const std::vector<SplitRoute>& routes() const { return routes_; }

 private:
  std::vector<SplitRoute> routes_;
};

}  // namespace vredir::stream
