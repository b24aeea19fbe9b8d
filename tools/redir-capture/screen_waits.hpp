// The CI waits of redir-capture, on the live framebuffer: until the screen
// is still, until a needle shows (a PNG, or an os-autoinst needle's JSON),
// until text matching a regular expression shows. The same waits serve the
// command line (--until-*) and the control socket (wait-*). A wait that
// succeeds reports what it found and where, as a JSON object with the box
// and its centre, so that a rig can click there (redir-inject --click X,Y).
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>

#include "media/needle.hpp"
#include "media/screen_match.hpp"
#include "media/screen_stability.hpp"
#include "media/screen_text.hpp"
#include "rfb/rfb_encodings.hpp"
#include "text_worker.hpp"
#include "wire/status.hpp"

namespace vredir {

struct WaitSpec {
  enum class Kind { kStable, kMatch, kText };
  Kind kind = Kind::kStable;
  double stable_s = 0;
  StabilityOptions stability;
  std::string needle;       // .png (today's metric) or .json (os-autoinst)
  double threshold = 0.99;  // PNG needles only
  std::string regex;
  ScreenRegion region;      // match and text: where to look
  double timeout_s = 0;     // 0: no limit
  std::string snapshot;     // PNG of the last screen, written at the end
};

const char* wait_kind_name(WaitSpec::Kind kind);

class ScreenWait {
 public:
  using Clock = std::chrono::steady_clock;

  // Loads the needle or compiles the expression: a bad one fails here.
  static Status create(const WaitSpec& spec, TextWorker* worker, std::unique_ptr<ScreenWait>* out);
  ~ScreenWait();

  // Checks the framebuffer size against the region and needle (once the
  // first frame is known): a region outside the screen is a usage error.
  Status fits(const rfb::Framebuffer& fb) const;
  // A new screen content (changed is false for the first full frame).
  void screen_changed(const rfb::Framebuffer& fb, Clock::time_point now);
  // True once the wait is satisfied; *report then says what was found.
  // A failure of the reading itself (OCR) comes back as a Status.
  Status poll(const rfb::Framebuffer& fb, Clock::time_point now, bool* done, nlohmann::ordered_json* report);

  const WaitSpec& spec() const { return spec_; }
  // "the screen ... did not stay unchanged for 2 s" etc. (no timeout part).
  std::string failure(const std::string& label) const;
  // "still waiting for ..." for the 10-second notes.
  std::string progress(const std::string& label, Clock::time_point now) const;

 private:
  explicit ScreenWait(const WaitSpec& spec) : spec_(spec), watch_(spec.stability) {}

  WaitSpec spec_;
  TextWorker* worker_ = nullptr;
  StabilityWatch watch_;
  std::optional<NeedleMatcher> png_;
  Needle needle_;
  std::optional<NeedleSearch> json_;
  std::regex re_;
  bool dirty_ = true;
  Clock::time_point next_check_{};
  uint64_t job_ = 0;  // text reading in flight (0: none)
  double best_ = -1;  // best similarity seen (needles), for the failure message
  std::string last_text_;
};

// --text --json and the control socket's "text": the text and its words.
nlohmann::ordered_json text_json(const ScreenText& text, uint32_t width, uint32_t height);

// The box and centre fields every report has.
void put_box(nlohmann::ordered_json& j, const ScreenRegion& box, uint32_t centre_x, uint32_t centre_y);

}  // namespace vredir
