#include "dump_run.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <regex>

#include "extract.hpp"
#include "media/png_encoder.hpp"
#include "media/screen_text.hpp"
#include "stream_screens.hpp"
#include "stream_text.hpp"
#include "sys/signals.hpp"
#include "sys/stdio_files.hpp"
#include "wire/interrupt.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir {

namespace {

using Clock = std::chrono::steady_clock;

// --timeout on a live stream: SIGALRM cuts the blocking read short and the
// reader asks whether to stop (the deadline counts as a request to stop).
volatile sig_atomic_t g_deadline_passed = 0;
void on_alarm(int) { g_deadline_passed = 1; }
bool stop_or_deadline() { return interrupted() || g_deadline_passed; }

void arm_timeout(double seconds) {
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the read returns EINTR
  sigaction(SIGALRM, &sa, nullptr);
  set_interrupt_check(stop_or_deadline);
  alarm(static_cast<unsigned>(std::ceil(seconds)));
}

bool channel_matches(const std::vector<std::string>& wanted, const stream::Event& ev) {
  if (wanted.empty()) return true;
  uint16_t id = ev.frame.header.channel;
  // Declarations belong to the channel they declare.
  if (ev.type() == stream::FrameType::kDeclare && ev.channel) id = ev.channel->id;
  for (const auto& w : wanted) {
    if (w == std::to_string(id)) return true;
    if (ev.channel && ev.channel->id == id && w == ev.channel->name) return true;
  }
  return false;
}

// The progress of a long extraction, on a terminal only.
class Progress {
 public:
  Progress(const std::string& what, int fd) : what_(what) {
    struct stat sb {};
    if (::isatty(2) && ::fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) total_ = static_cast<uint64_t>(sb.st_size);
    on_ = ::isatty(2);
    start_ = Clock::now();
  }
  void update(uint64_t bytes, uint64_t frames, uint64_t stream_us) {
    if (!on_) return;
    auto now = Clock::now();
    if (now - start_ < std::chrono::milliseconds(500) || now < next_) return;
    next_ = now + std::chrono::milliseconds(100);
    std::string line = "\r" + what_ + " ";
    if (total_) {
      int pct = static_cast<int>(std::min<uint64_t>(100, bytes * 100 / total_));
      line += "[" + std::string(static_cast<size_t>(pct / 5), '#') + std::string(static_cast<size_t>(20 - pct / 5), '-') +
              "] " + std::to_string(pct) + "%  ";
    }
    uint64_t s = stream_us / 1000000;
    line += std::to_string(frames) + " frames, " + std::to_string(s / 60) + ":" + (s % 60 < 10 ? "0" : "") +
            std::to_string(s % 60) + " of the stream";
    (void)!::write(2, line.data(), line.size());
    shown_ = true;
  }
  void done() {
    if (shown_) (void)!::write(2, "\r\033[K", 4);
  }

 private:
  std::string what_;
  uint64_t total_ = 0;
  bool on_ = false, shown_ = false;
  Clock::time_point start_, next_;
};

}  // namespace

Status run_dump(const DumpOptions& opt) {
  InputFile in;
  if (Status st = in.open(opt.input); !st) return st;
  stream::StreamReader reader(in.fd(), opt.input == "-" ? "stdin" : opt.input);
  stream::StreamStats stats;
  Extractor extractor;
  if (!opt.extract.empty())
    if (Status st = extractor.open(opt.extract, opt.to); !st) return st;
  const bool reading_text = opt.text || !opt.until_text.empty();
  const bool per_frame = !opt.stats && !opt.check && opt.extract.empty() && !reading_text;
  StreamScreens screens(opt.channels);
  std::regex re;
  if (!opt.until_text.empty()) {
    std::string err;
    if (!compile_text_regex(opt.until_text, &re, &err)) return fail(kExitUsage, err);
  }
  if (opt.timeout_s > 0) arm_timeout(opt.timeout_s);
  Progress progress("extracting " + opt.to, in.fd());
  std::map<uint16_t, uint64_t> last_ocr_us;
  std::map<uint16_t, bool> read_last_frame;

  // --until-text: whether a screen shows the text now; the report on stdout.
  auto look = [&](StreamScreens::Screen& s, bool ocr_allowed, bool* found) -> Status {
    ScreenText text;
    Status st = screens.text(s, opt.region, ocr_allowed, &text);
    if (!st) return ocr_allowed ? st : Status::ok();  // not a text screen: wait for OCR's turn
    read_last_frame[s.id] = true;
    TextMatch m;
    if (!find_text(text, re, &m)) return Status::ok();
    *found = true;
    spdlog::info("found '{}' at {},{} on channel {} at {:.3f} s", m.text, m.box.x, m.box.y, s.name, s.shown_us / 1e6);
    if (!opt.json) return Status::ok();
    nlohmann::ordered_json j = {{"event", "text"}, {"regex", opt.until_text}, {"text", m.text},
                                {"x", m.box.x},    {"y", m.box.y},            {"width", m.box.w},
                                {"height", m.box.h}};
    j["centre"] = {{"x", m.centre_x()}, {"y", m.centre_y()}};
    j["source"] = text.source;
    j["channel"] = s.id;
    j["name"] = s.name;
    j["t"] = s.shown_us / 1e6;
    return write_stdout(j.dump() + "\n");
  };

  stream::Event ev;
  Status result = Status::ok();
  uint64_t skipped = 0, last_us = 0;
  for (;;) {
    Status st;
    auto res = reader.next(&ev, &st);
    if (res == stream::StreamReader::Result::kEnd) break;
    if (res == stream::StreamReader::Result::kError) {
      if (g_deadline_passed)
        st = fail(kExitTimeout, "no text matching '" + opt.until_text + "' within " + fmt::format("{:g}", opt.timeout_s) + " s");
      result = st;
      break;
    }
    last_us = ev.frame.header.timestamp_us;
    if (ev.what != stream::Event::What::kFrame) {
      ++skipped;
      spdlog::debug("skipped {}", stream::describe_text(ev));
    }
    if (!opt.extract.empty()) {
      if (Status xs = extractor.add(ev); !xs) {
        result = xs;
        break;
      }
      progress.update(reader.bytes_read(), extractor.frames(), last_us);
    }
    if (reading_text) {
      StreamScreens::Screen* done = nullptr;
      if (Status ss = screens.add(ev, &done); !ss) {
        result = ss;
        break;
      }
      if (done && !opt.until_text.empty()) {
        read_last_frame[done->id] = false;
        // OCR is slow: at most once a second of stream time per screen; a
        // text screen (the VGA font) and gdi text are read at every frame.
        bool ocr = done->gdi || done->shown_us >= last_ocr_us[done->id] + 1000000 || !last_ocr_us.count(done->id);
        bool found = false;
        Status ls = look(*done, ocr, &found);
        if (ocr && !done->gdi) last_ocr_us[done->id] = done->shown_us;
        if (!ls) return ls;
        if (found) return Status::ok();
      }
    }
    if (!channel_matches(opt.channels, ev)) continue;
    stats.add(ev);
    if (per_frame) {
      std::string line = opt.json ? stream::describe_json(ev).dump() : stream::describe_text(ev);
      line += '\n';
      if (Status ws = write_stdout(line); !ws) return ws;
    }
  }
  progress.done();
  if (!opt.until_text.empty() && (result || result.code() == kExitPeerLost)) {
    // The last screens, read in full where they were not yet.
    for (StreamScreens::Screen* s : screens.screens()) {
      if (read_last_frame[s->id]) continue;
      bool found = false;
      if (Status ls = look(*s, true, &found); !ls) return ls;
      if (found) return Status::ok();
    }
  }
  if (!opt.until_text.empty() && (result || result.code() == kExitTimeout)) {
    std::string msg = result ? "no text matching '" + opt.until_text + "' in the stream" : result.message();
    for (StreamScreens::Screen* s : screens.screens()) {
      if (s->gdi || !s->surface.width()) continue;
      // The last screen, as redir-capture leaves one when a wait fails.
      std::string path;
      const auto& px = s->surface.pixels();
      if (write_temporary_png("redir-dump-" + s->name, px.data(), s->surface.width(), s->surface.height(), &path))
        msg += " (last screen: " + path + ")";
      break;
    }
    return fail(kExitTimeout, msg);
  }
  if (opt.text && (result || result.code() == kExitPeerLost)) {
    std::vector<StreamScreens::Screen*> all = screens.screens();
    std::string out;
    for (StreamScreens::Screen* s : all) {
      ScreenText text;
      if (Status ts = screens.text(*s, opt.region, true, &text); !ts) return ts;
      if (opt.json) {
        nlohmann::ordered_json j = {{"event", "text"}, {"channel", s->id}, {"name", s->name}, {"t", s->shown_us / 1e6}};
        const nlohmann::ordered_json t = screen_text_json(text);
        for (auto& [k, v] : t.items()) j[k] = v;
        out += j.dump() + "\n";
      } else {
        if (all.size() > 1) out += "== " + s->name + " (channel " + std::to_string(s->id) + ")\n";
        out += text.text() + "\n";
      }
    }
    if (all.empty() && result) return fail(kExitNotFound, "no display or gdi channel in the stream (see: redir-dump --stats)");
    if (Status ws = write_stdout(out); !ws) return ws;
  }
  if (opt.stats) {
    std::string text;
    if (opt.json)
      for (const auto& row : stats.json()) text += row.dump() + "\n";
    else
      text = stats.table();
    if (Status ws = write_stdout(text); !ws) return ws;
  }
  if (!opt.extract.empty()) {
    Status xs = extractor.finish(last_us);
    if (result && !xs) result = xs;
    if (xs) spdlog::info("extracted {} to {}", extractor.summary(), opt.to);
  }
  if (skipped) spdlog::info("{} frame(s) of unknown type, kind or encoding were skipped", skipped);
  return result;
}

}  // namespace vredir
