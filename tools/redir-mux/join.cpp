// redir-mux join: merge several streams (files, '-', exec:COMMAND) into one,
// renumbering channels; input coming back on stdin goes to its source.
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "sys/cli.hpp"
#include "sys/stdio_files.hpp"
#include "stream_endpoint.hpp"
#include "stream_join.hpp"
#include "stream_pump.hpp"
#include "stream_recorder.hpp"
#include "subcommands.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace redir_mux {

namespace {

struct JoinOptions {
  std::vector<std::string> inputs;
  std::string output = "-";
  bool no_input = false;
  std::string record;
};

struct Source {
  StreamEndpoint endpoint;
  StreamPump pump;
  Event pending;
  bool has_pending = false;
  std::unique_ptr<StreamWriter> upstream;
  bool upstream_dead = false;
};

Status run_join(const JoinOptions& opt) {
  install_interrupt_handlers();
  if (opt.inputs.empty()) return fail(kExitUsage, "join: at least one input is needed");
  int stdin_users = 0;
  for (const auto& in : opt.inputs) stdin_users += (in == "-");
  if (stdin_users > 1) return fail(kExitUsage, "join: '-' (stdin) can be given only once");

  OutputFile out;
  if (Status st = out.open(opt.output); !st) return st;
  // --record: the joined stream and the input coming back, in one file.
  StreamRecorder recorder;
  FrameReader recorded;
  if (!opt.record.empty())
    if (Status st = recorder.open(opt.record); !st) return st;
  StreamWriter writer([&](std::string_view d) {
    Status st = out.write(d);
    if (st && recorder.is_open()) {
      recorded.feed(reinterpret_cast<const uint8_t*>(d.data()), d.size());
      Frame f;
      std::string err;
      while (recorded.next(&f, &err) == FrameReader::Result::kFrame)
        if (Status rs = recorder.downstream(f); !rs) return rs;
    }
    return st;
  });

  std::vector<std::unique_ptr<Source>> sources;
  std::vector<JoinInput> labels;
  std::vector<StreamWriter*> upstreams;
  for (size_t i = 0; i < opt.inputs.size(); ++i) {
    auto s = std::make_unique<Source>();
    if (Status st = s->endpoint.open(opt.inputs[i], true); !st) return st;
    s->pump = StreamPump(s->endpoint.read_fd(), s->endpoint.label());
    // A command may only take input (redir-inject) and write no stream.
    s->pump.allow_empty(s->endpoint.is_command());
    labels.push_back({opt.inputs[i], s->endpoint.live()});
    if (s->endpoint.is_command()) {
      Source* raw = s.get();
      s->upstream = std::make_unique<StreamWriter>([raw](std::string_view d) {
        if (raw->upstream_dead) return Status::ok();
        Status st = write_all(raw->endpoint.write_fd(), d, raw->endpoint.label());
        if (!st) {
          // A source that stopped reading its input loses it; the join goes on.
          spdlog::info("{}: no longer reads its input", raw->endpoint.label());
          raw->upstream_dead = true;
        }
        return Status::ok();
      });
    }
    upstreams.push_back(s->upstream.get());
    sources.push_back(std::move(s));
  }

  StreamJoiner joiner(&writer, labels);
  UpstreamRouter router(&joiner, upstreams);
  joiner.set_ack_map([&router](size_t input, uint16_t ch) { return router.consumer_id(input, ch); });

  // Input coming back: stdin, unless it is one of the inputs, a terminal, or
  // turned off. A command source gets EOF on its stdin when there is none.
  const bool upstream_on = !opt.no_input && stdin_users == 0 && !::isatty(0);
  StreamPump back(upstream_on ? 0 : -1, "stdin");
  back.allow_empty(true);
  if (!upstream_on)
    for (auto& s : sources) s->endpoint.close_write();

  // The join's clock; the writer's own clock is fixed per frame by the joiner.
  const auto t0 = std::chrono::steady_clock::now();
  auto now_us = [t0] {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
  };
  if (Status st = joiner.begin("redir-mux"); !st) return st;

  auto stop = [&](Status st, size_t input) -> Status {
    // Damage in one input ends the joined stream with a reason, then exits.
    joiner.abandon(input, st.message());
    joiner.finish();
    return st;
  };

  while (!joiner.all_ended()) {
    if (interrupted()) {
      for (size_t i = 0; i < sources.size(); ++i) joiner.abandon(i, "interrupted");
      writer.end(EndReason::kInterrupted, "interrupted");
      return fail(kExitInterrupted, "interrupted");
    }
    // 1. Get the next event of every input that has one ready; files block.
    for (size_t i = 0; i < sources.size(); ++i) {
      Source& s = *sources[i];
      if (joiner.ended(i) || s.has_pending) continue;
      for (;;) {
        Status st;
        auto r = s.pump.next(&s.pending, &st);
        if (r == StreamPump::Result::kEvent) {
          s.has_pending = true;
          break;
        }
        if (r == StreamPump::Result::kError) return stop(st, i);
        if (r == StreamPump::Result::kEnd) {  // a command that wrote nothing
          if (Status es = joiner.end_input(i, EndReason::kNormal, ""); !es) return es;
          break;
        }
        if (s.endpoint.live()) break;  // wait for poll
        if (Status rs = s.pump.read_some(); !rs) return stop(rs, i);
      }
    }
    // 2. Emit: live inputs as they come, files in timestamp order.
    bool emitted = false;
    std::optional<size_t> earliest;
    uint64_t earliest_ts = 0;
    bool files_ready = true;
    for (size_t i = 0; i < sources.size(); ++i) {
      Source& s = *sources[i];
      if (joiner.ended(i)) continue;
      if (s.endpoint.live()) {
        if (!s.has_pending) continue;
        if (Status st = joiner.add(i, s.pending, now_us()); !st) return st;
        s.has_pending = false;
        emitted = true;
        continue;
      }
      if (!s.has_pending) {
        files_ready = false;
        continue;
      }
      uint64_t ts = joiner.timestamp(i, s.pending.frame.header.timestamp_us, 0);
      if (!earliest || ts < earliest_ts) earliest = i, earliest_ts = ts;
    }
    if (files_ready && earliest) {
      Source& s = *sources[*earliest];
      if (Status st = joiner.add(*earliest, s.pending, 0); !st) return st;
      s.has_pending = false;
      emitted = true;
    }
    // 3. Wait for live inputs and input coming back.
    std::vector<pollfd> fds;
    std::vector<int> who;  // source index, or -1 for stdin
    for (size_t i = 0; i < sources.size(); ++i)
      if (!joiner.ended(i) && sources[i]->endpoint.live() && !sources[i]->has_pending) {
        fds.push_back({sources[i]->endpoint.read_fd(), POLLIN, 0});
        who.push_back(static_cast<int>(i));
      }
    if (back.active()) {
      fds.push_back({0, POLLIN, 0});
      who.push_back(-1);
    }
    if (fds.empty()) continue;
    int rc = ::poll(fds.data(), fds.size(), emitted ? 0 : 1000);
    if (rc < 0 && errno != EINTR) return fail(kExitFailure, std::string("poll: ") + std::strerror(errno));
    for (size_t k = 0; rc > 0 && k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (who[k] >= 0) {
        if (Status st = sources[who[k]]->pump.read_some(); !st) return stop(st, who[k]);
        continue;
      }
      if (Status st = back.read_some(); !st) {
        writer.end(EndReason::kError, st.message());
        return st;
      }
      Event ev;
      for (;;) {
        Status st;
        auto r = back.next(&ev, &st);
        if (r == StreamPump::Result::kEvent) {
          if (Status rs = recorder.upstream(ev.frame); !rs) return rs;
          if (Status rs = router.add(ev); !rs) return rs;
          continue;
        }
        if (r == StreamPump::Result::kError) {
          writer.end(EndReason::kError, st.message());
          return st;
        }
        break;
      }
      if (!back.active()) {
        if (Status rs = router.finish(); !rs) return rs;
        for (auto& s : sources) s->endpoint.close_write();
      }
    }
  }
  if (Status st = joiner.finish(); !st) return st;
  router.finish();
  if (router.dropped()) spdlog::info("{} input frame(s) had no source that takes input", router.dropped());
  for (auto& s : sources) {
    int code = s->endpoint.finish(5);
    if (code > 0) spdlog::debug("{} exited with {}", s->endpoint.label(), code);
  }
  if (Status st = recorder.close(); !st) return st;
  return out.close();
}

}  // namespace

Runner add_join(CLI::App& app) {
  auto opt = std::make_shared<JoinOptions>();
  auto* sub = app.add_subcommand(
      "join", "Merge several streams into one: channels renumbered, one time base, input routed back");
  sub->add_option("inputs", opt->inputs, "Streams to merge: FILE, '-' (stdin) or exec:COMMAND")->required();
  sub->add_option("-o,--output", opt->output, "Write the joined stream here ('-': stdout, the default)");
  sub->add_option("--record", opt->record, "Also record the joined stream and the input coming back into FILE");
  sub->add_flag("--no-input", opt->no_input, "Do not read input frames from stdin to route back to the sources");
  return [opt] { return run_join(*opt); };
}

}  // namespace redir_mux
