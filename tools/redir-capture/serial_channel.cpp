#include "serial_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/stdio_files.hpp"
#include "virt/domain_devices.hpp"
#include "wire/stream_format.hpp"

namespace vredir {

Status SerialWait::create(const std::string& regex, std::unique_ptr<SerialWait>* out) {
  std::unique_ptr<SerialWait> w(new SerialWait(regex));
  try {
    w->re_ = std::regex(regex, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return fail(kExitUsage, "--until-serial: bad regular expression '" + regex + "': " + e.what());
  }
  *out = std::move(w);
  return Status::ok();
}

bool SerialWait::check(std::string& line, nlohmann::ordered_json* report) {
  if (line.size() > kMaxLine) line.erase(0, line.size() - kMaxLine);
  std::smatch m;
  if (!std::regex_search(line, m, re_)) return false;
  *report = {{"event", "serial"}, {"regex", regex_}, {"text", m.str(0)}, {"line", line}};
  return true;
}

bool SerialWait::feed(std::string_view bytes, nlohmann::ordered_json* report) {
  for (char c : bytes) {
    if (c == '\r') continue;
    if (c == '\n') {
      if (check(line_, report)) return true;
      last_line_ = std::move(line_);
      line_.clear();
      continue;
    }
    line_ += c;
    if (line_.size() > 2 * kMaxLine) line_.erase(0, line_.size() - kMaxLine);
  }
  return !line_.empty() && check(line_, report);
}

std::string SerialWait::failure(const std::string& label) const {
  std::string seen = line_.empty() ? last_line_ : line_;
  if (seen.size() > 160) seen = "..." + seen.substr(seen.size() - 157);
  std::string shown;
  for (unsigned char c : seen) shown += c < 0x20 || c == 0x7f ? '.' : static_cast<char>(c);
  return "no console output matching '" + regex_ + "' from " + label +
         (shown.empty() ? "" : " (last line: \"" + shown + "\")");
}

std::string SerialWait::progress(const std::string& label) const {
  return "still waiting for console output matching '" + regex_ + "' from " + label;
}

SerialInput::~SerialInput() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

Status SerialInput::open(const std::string& path) {
  if (path.empty() || path == "-") {
    fd_ = 0;
    path_ = "stdin";
    return Status::ok();
  }
  // O_NONBLOCK: a FIFO opens at once, before its writer; it then reports
  // its end only after a writer came and went.
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0)
    return fail(errno == ENOENT ? kExitNotFound : kExitFailure,
                "cannot open the serial input '" + path + "': " + std::strerror(errno));
  owned_ = true;
  path_ = path;
  return Status::ok();
}

Status SerialInput::read(std::string* out) {
  if (ended_) return Status::ok();
  uint8_t buf[65536];
  ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return Status::ok();
    return fail(kExitFailure, "cannot read the serial input " + path_ + ": " + std::strerror(errno));
  }
  if (n == 0) {
    ended_ = true;
    return Status::ok();
  }
  return feed(buf, static_cast<size_t>(n), out);
}

Status SerialInput::feed(const uint8_t* data, size_t size, std::string* out) {
  decoder_.feed(data, size);
  for (;;) {
    stream::Event ev;
    std::string err;
    stream::StreamDecoder::Result r = decoder_.next(&ev, &err);
    if (r == stream::StreamDecoder::Result::kNeedMore) break;
    if (r == stream::StreamDecoder::Result::kError) {
      ended_ = true;
      return fail(kExitMalformed, "the serial input " + path_ + ": " + err);
    }
    if (ev.what != stream::Event::What::kFrame) continue;
    if (ev.type() == stream::FrameType::kEnd) {
      ended_ = true;
      break;
    }
    if (ev.type() != stream::FrameType::kData || !ev.channel) continue;
    auto purpose = ev.channel->params.find("purpose");
    if (purpose == ev.channel->params.end() || purpose->second != stream::kPurposeSerial) continue;
    out->append(reinterpret_cast<const char*>(ev.frame.payload.data()), ev.frame.payload.size());
  }
  return Status::ok();
}


Status SerialSession::open(const Domain& domain, const Options& o) {
  o_ = o;
  domain_ = domain.name();
  if (!o.until.empty())
    if (Status st = SerialWait::create(o.until, &wait_); !st) return st;
  if (!o.input.empty()) {
    if (Status st = input_.open(o.input); !st) return st;
    has_input_ = true;
  }
  // Only a domain with a console offers the channel: asking for it on one
  // without is "not found", like a missing domain.
  std::string xml;
  DomainDevices devices;
  if (Status st = domain.xml(&xml); !st) return st;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  if (!session_channels(devices).offers(stream::kPurposeSerial))
    return fail(kExitNotFound, "domain '" + domain_ + "' has no pty serial console, so no serial channel (add " +
                                   "<serial type='pty'/>; see: vm-list --json --name " + domain_ + ")");
  if (Status st = console_.open(domain, ConsoleStream::Takeover::kRefuse,
                                "end the other client first; virsh console ends with Ctrl-]");
      !st)
    return st;
  start_ = Clock::now();
  deadline_ = o.timeout_s > 0 ? start_ + std::chrono::microseconds(static_cast<int64_t>(o.timeout_s * 1e6))
                              : Clock::time_point::max();
  next_note_ = start_ + std::chrono::seconds(10);
  return Status::ok();
}

void SerialSession::fds(std::vector<int>* out) const {
  if (console_.is_open()) out->push_back(console_.wake_fd());
  if (has_input_ && input_.fd() >= 0) out->push_back(input_.fd());
}

Status SerialSession::service(Clock::time_point now, std::string* output, std::optional<Status>* wait_result) {
  if (!console_.is_open()) return Status::ok();
  console_.drain_wake();
  const size_t before = output->size();
  Status ended = console_.take(output);
  if (wait_ && output->size() > before) {
    nlohmann::ordered_json report;
    if (wait_->feed(std::string_view(*output).substr(before), &report)) {
      const double took = std::chrono::duration<double>(now - start_).count();
      spdlog::info("found '{}' on {} after {:.1f} s", report["text"].get<std::string>(), console_.label(), took);
      report["elapsed_s"] = took;
      Status st = o_.json ? write_stdout(report.dump() + "\n") : Status::ok();
      wait_.reset();
      *wait_result = st;
      return Status::ok();
    }
  }
  if (!ended) {
    if (wait_) {
      wait_.reset();
      *wait_result = ended;
      return Status::ok();
    }
    return ended;
  }
  if (has_input_ && input_.fd() >= 0) {
    pollfd p{input_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      std::string bytes;
      Status st = input_.read(&bytes);
      if (!bytes.empty())
        if (Status w = console_.write(bytes); !w) return w;
      if (!st) return st;
      if (input_.ended()) spdlog::debug("the serial input {} ended", input_.path());
    }
  }
  if (wait_) {
    if (now >= deadline_) {
      std::string msg = wait_->failure(console_.label()) + " within " + fmt::format("{:g}", o_.timeout_s) + " s";
      wait_.reset();
      *wait_result = fail(kExitTimeout, msg);
    } else if (now >= next_note_) {
      next_note_ = now + std::chrono::seconds(10);
      spdlog::info("{} ({:.0f} s)", wait_->progress(console_.label()),
                   std::chrono::duration<double>(now - start_).count());
    }
  }
  return Status::ok();
}

}  // namespace vredir
