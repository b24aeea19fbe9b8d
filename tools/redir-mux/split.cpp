// redir-mux split: route the channels of one stream, by kind, name or id, to
// files or exec: commands; each output is a whole stream of its own. What the
// commands write back (input frames) is joined onto stdout.
#include <fcntl.h>
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
#include "subcommands.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace redir_mux {

namespace {

struct SplitOptions {
  std::string input = "-";
  std::vector<std::string> routes;
};

struct Output {
  StreamEndpoint endpoint;
  std::unique_ptr<StreamWriter> writer;
  bool gone = false;  // its reader went away: its frames are dropped
  int back = -1;      // index among the return paths (commands only)
};

class Splitter {
 public:
  Status run(const SplitOptions& opt);

 private:
  Status open_outputs(const SplitOptions& opt);
  Status on_input(const Event& ev);
  Status service_returns(int wait_fd);
  Status drain_return(size_t k);
  Status write_to(Output& o, std::string_view data);

  SplitRoutes routes_;
  std::vector<std::unique_ptr<Output>> outputs_;
  std::vector<size_t> route_output_;              // route index -> output index
  std::map<uint16_t, size_t> channel_output_;     // channel -> output index
  std::vector<Output*> returns_;                  // commands, in order
  std::vector<StreamPump> return_pumps_;
  OutputFile up_;
  std::unique_ptr<StreamWriter> up_writer_;
  std::unique_ptr<StreamJoiner> joiner_;
  Status return_failure_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  uint64_t now_us() const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0_).count());
  }
};

Status Splitter::write_to(Output& o, std::string_view data) {
  if (o.gone) return Status::ok();
  const int fd = o.endpoint.write_fd();
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      // The command is busy: read what it writes back meanwhile, so neither
      // side waits on the other.
      if (Status st = service_returns(fd); !st) return st;
      continue;
    }
    if (n < 0 && errno == EPIPE) {
      spdlog::info("{}: reader went away; its channels are dropped", o.endpoint.label());
      o.gone = true;
      return Status::ok();
    }
    return fail(kExitFailure, "cannot write " + o.endpoint.label() + ": " + std::strerror(errno));
  }
  return Status::ok();
}

Status Splitter::open_outputs(const SplitOptions& opt) {
  if (opt.routes.empty()) return fail(kExitUsage, "split: at least one --route MATCH=TARGET is needed");
  std::map<std::string, size_t> by_target;
  for (const auto& spec : opt.routes) {
    std::string err;
    if (!routes_.add(spec, &err)) return fail(kExitUsage, "split: " + err);
    const std::string& target = routes_.routes().back().target;
    auto it = by_target.find(target);
    if (it == by_target.end()) {
      auto o = std::make_unique<Output>();
      if (Status st = o->endpoint.open(target, false); !st) return st;
      Output* raw = o.get();
      o->writer = std::make_unique<StreamWriter>([this, raw](std::string_view d) { return write_to(*raw, d); });
      if (o->endpoint.is_command()) {
        ::fcntl(o->endpoint.write_fd(), F_SETFL, ::fcntl(o->endpoint.write_fd(), F_GETFL) | O_NONBLOCK);
        o->back = static_cast<int>(returns_.size());
        returns_.push_back(raw);
        return_pumps_.emplace_back(o->endpoint.read_fd(), target);
        return_pumps_.back().allow_empty(true);
      } else {
        o->endpoint.close_read();
      }
      it = by_target.emplace(target, outputs_.size()).first;
      outputs_.push_back(std::move(o));
    }
    route_output_.push_back(it->second);
  }
  if (!returns_.empty() && by_target.count("-"))
    // stdout carries the streams written back by the commands.
    return fail(kExitUsage, "split: a route to '-' (stdout) cannot be combined with exec: routes");
  if (!returns_.empty()) {
    if (Status st = up_.open("-"); !st) return st;
    up_writer_ = std::make_unique<StreamWriter>([this](std::string_view d) { return up_.write(d); });
    std::vector<JoinInput> labels;
    for (auto* r : returns_) labels.push_back({r->endpoint.label(), true});
    joiner_ = std::make_unique<StreamJoiner>(up_writer_.get(), labels);
    if (Status st = joiner_->begin("redir-mux"); !st) return st;
  }
  return Status::ok();
}

Status Splitter::on_input(const Event& ev) {
  const FrameType type = ev.type();
  const uint16_t ch = ev.frame.header.channel;
  const uint64_t ts = ev.frame.header.timestamp_us;
  for (auto& o : outputs_) o->writer->set_fixed_time(ts);
  if (ch == 0) {
    if (ev.what != Event::What::kFrame) return Status::ok();
    if (type == FrameType::kHello) {
      const Hello& h = std::get<Hello>(ev.payload);
      for (auto& o : outputs_)
        if (Status st = o->writer->begin(h.producer, h.params); !st) return st;
    } else if (type == FrameType::kDeclare) {
      const Declare& d = std::get<Declare>(ev.payload);
      if (auto r = routes_.route(d)) {
        size_t out = route_output_[*r];
        channel_output_[d.id] = out;
        return outputs_[out]->writer->declare_raw(d);
      }
      spdlog::debug("channel {} ({}) matches no route; dropped", d.id, d.name);
    } else if (type == FrameType::kEnd) {
      const End& e = std::get<End>(ev.payload);
      for (auto& o : outputs_) {
        if (Status st = o->writer->end(e.reason, e.message); !st) return st;
        o->endpoint.close_write();
      }
    }
    return Status::ok();
  }
  auto it = channel_output_.find(ch);
  if (it == channel_output_.end()) return Status::ok();
  StreamWriter& w = *outputs_[it->second]->writer;
  if (type == FrameType::kClose) {
    channel_output_.erase(it);
    return w.close_channel(ch);
  }
  std::string_view payload(reinterpret_cast<const char*>(ev.frame.payload.data()), ev.frame.payload.size());
  return w.frame_at(ts, ch, type, payload, ev.frame.header.flags);
}

Status Splitter::drain_return(size_t k) {
  Event ev;
  for (;;) {
    Status st;
    auto r = return_pumps_[k].next(&ev, &st);
    if (r == StreamPump::Result::kNeedMore) return Status::ok();
    if (r == StreamPump::Result::kError) {
      joiner_->abandon(k, st.message());
      if (return_failure_) return_failure_ = st;
      return Status::ok();
    }
    if (r == StreamPump::Result::kEnd) return joiner_->end_input(k, EndReason::kNormal, "");
    if (Status as = joiner_->add(k, ev, now_us()); !as) return as;
  }
}

Status Splitter::service_returns(int wait_fd) {
  std::vector<pollfd> fds;
  std::vector<size_t> who;
  for (size_t k = 0; k < return_pumps_.size(); ++k)
    if (!joiner_->ended(k) && return_pumps_[k].fd() >= 0) {
      fds.push_back({return_pumps_[k].fd(), POLLIN, 0});
      who.push_back(k);
    }
  if (wait_fd >= 0) fds.push_back({wait_fd, POLLOUT, 0});
  if (fds.empty()) return Status::ok();
  if (interrupted()) return fail(kExitInterrupted, "interrupted");
  int rc = ::poll(fds.data(), fds.size(), 1000);
  if (rc < 0 && errno != EINTR) return fail(kExitFailure, std::string("poll: ") + std::strerror(errno));
  for (size_t i = 0; rc > 0 && i < who.size(); ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    if (Status st = return_pumps_[who[i]].read_some(); !st) return st;
    if (Status st = drain_return(who[i]); !st) return st;
  }
  return Status::ok();
}

Status Splitter::run(const SplitOptions& opt) {
  install_interrupt_handlers();
  if (Status st = open_outputs(opt); !st) return st;
  InputFile in;
  if (Status st = in.open(opt.input); !st) return st;
  StreamPump input(in.fd(), opt.input == "-" ? "stdin" : opt.input);
  bool input_done = false;
  Status result;
  while (!input_done) {
    if (interrupted()) {
      result = fail(kExitInterrupted, "interrupted");
      break;
    }
    Event ev;
    Status st;
    auto r = input.next(&ev, &st);
    if (r == StreamPump::Result::kEvent) {
      if (Status os = on_input(ev); !os) return os;
      continue;
    }
    if (r == StreamPump::Result::kEnd) break;
    if (r == StreamPump::Result::kError) {
      // Outputs get an END with the reason, so each stays a valid stream.
      for (auto& o : outputs_)
        if (!o->writer->ended() && o->writer->bytes_written() > 0) o->writer->end(EndReason::kError, st.message());
      result = st;
      break;
    }
    if (returns_.empty()) {
      if (Status rs = input.read_some(); !rs) return rs;
      continue;
    }
    // Wait for the input while reading what the commands write back.
    pollfd p{in.fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) {
      std::vector<pollfd> fds{p};
      for (size_t k = 0; k < return_pumps_.size(); ++k)
        if (!joiner_->ended(k)) fds.push_back({return_pumps_[k].fd(), POLLIN, 0});
      ::poll(fds.data(), fds.size(), 1000);
      if (Status ss = service_returns(-1); !ss) return ss;
      if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    }
    if (Status rs = input.read_some(); !rs) return rs;
  }
  for (auto& o : outputs_) o->endpoint.close_write();
  if (joiner_) {
    while (!joiner_->all_ended())
      if (Status ss = service_returns(-1); !ss) return ss;
    if (Status st = joiner_->finish(); !st) return st;
  }
  for (auto& o : outputs_) {
    int code = o->endpoint.finish(5);
    if (code > 0) spdlog::debug("{} exited with {}", o->endpoint.label(), code);
  }
  if (result && !return_failure_) result = return_failure_;
  return result;
}

}  // namespace

Runner add_split(CLI::App& app) {
  auto opt = std::make_shared<SplitOptions>();
  auto* sub = app.add_subcommand("split", "Route the channels of a stream to files or commands");
  sub->add_option("input", opt->input, "Stream to split ('-' or none: stdin)");
  sub->add_option("-r,--route", opt->routes,
                  "MATCH[,MATCH...]=FILE|exec:COMMAND; MATCH is a kind, a channel name or id, or '*' (repeatable)")
      ->allow_extra_args(false);
  return [opt] { return Splitter().run(*opt); };
}

}  // namespace redir_mux
