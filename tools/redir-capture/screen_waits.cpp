#include "screen_waits.hpp"

#include <spdlog/spdlog.h>

#include "media/image_files.hpp"
#include "media/screen_text.hpp"

namespace vredir {

namespace {

constexpr auto kMatchInterval = std::chrono::milliseconds(100);

std::string region_text(const ScreenRegion& r) {
  return std::to_string(r.x) + "," + std::to_string(r.y) + "," + std::to_string(r.w) + "," + std::to_string(r.h);
}

}  // namespace

const char* wait_kind_name(WaitSpec::Kind kind) {
  switch (kind) {
    case WaitSpec::Kind::kStable: return "stable";
    case WaitSpec::Kind::kMatch: return "match";
    case WaitSpec::Kind::kText: return "text";
  }
  return "?";
}

void put_box(nlohmann::ordered_json& j, const ScreenRegion& box, uint32_t cx, uint32_t cy) {
  j["x"] = box.x;
  j["y"] = box.y;
  j["width"] = box.w;
  j["height"] = box.h;
  j["centre"] = {{"x", cx}, {"y", cy}};
}

nlohmann::ordered_json text_json(const ScreenText& text, uint32_t width, uint32_t height) {
  nlohmann::ordered_json j = {{"event", "text"}, {"width", width}, {"height", height}};
  const nlohmann::ordered_json t = screen_text_json(text);
  for (auto& [k, v] : t.items()) j[k] = v;
  return j;
}

ScreenWait::~ScreenWait() {
  if (job_ && worker_) worker_->cancel(job_);
}

Status ScreenWait::create(const WaitSpec& spec, TextWorker* worker, std::unique_ptr<ScreenWait>* out) {
  std::unique_ptr<ScreenWait> w(new ScreenWait(spec));
  w->worker_ = worker;
  switch (spec.kind) {
    case WaitSpec::Kind::kStable: break;
    case WaitSpec::Kind::kMatch:
      if (is_needle_json(spec.needle)) {
        if (Status st = load_needle(spec.needle, &w->needle_); !st) return st;
        w->json_.emplace(w->needle_);
      } else {
        Image img;
        if (Status st = read_png(spec.needle, &img); !st) return st;
        if (img.width == 0 || img.height == 0) return fail(kExitFailure, "needle " + spec.needle + " is empty");
        w->png_.emplace(img);
      }
      break;
    case WaitSpec::Kind::kText: {
      std::string err;
      if (!compile_text_regex(spec.regex, &w->re_, &err)) return fail(kExitUsage, err);
      if (!worker) return fail(kExitFailure, "no text reader");
      break;
    }
  }
  *out = std::move(w);
  return Status::ok();
}

Status ScreenWait::fits(const rfb::Framebuffer& fb) const {
  const ScreenRegion& r = spec_.region;
  if (r.w && (uint64_t(r.x) + r.w > fb.width || uint64_t(r.y) + r.h > fb.height))
    return fail(kExitUsage, "--region " + region_text(r) + " lies outside the " + std::to_string(fb.width) + "x" +
                                std::to_string(fb.height) + " screen");
  if (png_ && r.w && (r.w < png_->width() || r.h < png_->height()))
    return fail(kExitUsage, "--region is smaller than the needle");
  return Status::ok();
}

void ScreenWait::screen_changed(const rfb::Framebuffer& fb, Clock::time_point now) {
  dirty_ = true;
  if (spec_.kind == WaitSpec::Kind::kStable) watch_.observe(fb.pixels.data(), fb.width, fb.height, now);
}

Status ScreenWait::poll(const rfb::Framebuffer& fb, Clock::time_point now, bool* done,
                        nlohmann::ordered_json* report) {
  *done = false;
  switch (spec_.kind) {
    case WaitSpec::Kind::kStable:
      if (!watch_.settled_for(spec_.stable_s, now)) return Status::ok();
      *report = {{"event", "stable"}, {"seconds", spec_.stable_s}};
      if (spec_.stability.psnr_db > 0) (*report)["psnr_db"] = spec_.stability.psnr_db;
      if (watch_.blink_box().w) {
        const ScreenRegion& b = watch_.blink_box();
        (*report)["blink"] = {{"x", b.x}, {"y", b.y}, {"width", b.w}, {"height", b.h}};
      }
      *done = true;
      return Status::ok();
    case WaitSpec::Kind::kMatch: {
      if (!dirty_ || now < next_check_) return Status::ok();
      dirty_ = false;
      next_check_ = now + kMatchInterval;
      if (png_) {
        MatchResult m = png_->find(fb.pixels.data(), fb.width, fb.height, spec_.region, spec_.threshold);
        if (!m.found) return Status::ok();
        *report = {{"event", "match"}, {"needle", spec_.needle}};
        ScreenRegion box{m.x, m.y, png_->width(), png_->height()};
        put_box(*report, box, box.x + box.w / 2, box.y + box.h / 2);
        (*report)["score"] = m.score;
        *done = true;
        return Status::ok();
      }
      NeedleResult r = json_->find(fb.pixels.data(), fb.width, fb.height);
      for (const NeedleAreaResult& a : r.areas) best_ = std::max(best_, a.similarity);
      if (!r.ok || r.areas.empty()) return Status::ok();
      *report = {{"event", "match"}, {"needle", spec_.needle}};
      const NeedleAreaResult& first = r.areas.front();
      put_box(*report, first.box, first.click_x, first.click_y);
      nlohmann::ordered_json areas = nlohmann::ordered_json::array();
      for (const NeedleAreaResult& a : r.areas)
        areas.push_back({{"x", a.box.x}, {"y", a.box.y}, {"width", a.box.w}, {"height", a.box.h},
                         {"similarity", a.similarity}});
      (*report)["similarity"] = first.similarity;
      (*report)["areas"] = areas;
      *done = true;
      return Status::ok();
    }
    case WaitSpec::Kind::kText: {
      if (job_) {
        TextWorker::Result res;
        if (!worker_->take(job_, &res)) return Status::ok();
        job_ = 0;
        if (!res.status) return res.status;
        last_text_ = res.text.text();
        TextMatch m;
        if (find_text(res.text, re_, &m)) {
          *report = {{"event", "text"}, {"regex", spec_.regex}, {"text", m.text}};
          put_box(*report, m.box, m.centre_x(), m.centre_y());
          (*report)["source"] = res.text.source;
          *done = true;
          return Status::ok();
        }
      }
      if (!job_ && dirty_) {
        dirty_ = false;
        job_ = worker_->submit(fb.pixels.data(), fb.width, fb.height, spec_.region);
      }
      return Status::ok();
    }
  }
  return Status::ok();
}

std::string ScreenWait::failure(const std::string& label) const {
  switch (spec_.kind) {
    case WaitSpec::Kind::kStable:
      return "the screen of " + label + " did not stay unchanged for " + fmt::format("{:g} s", spec_.stable_s);
    case WaitSpec::Kind::kMatch:
      if (json_ && best_ >= 0)
        return spec_.needle + " did not match on " + label + fmt::format(" (best similarity {:.3f})", best_);
      return spec_.needle + " did not appear on " + label;
    case WaitSpec::Kind::kText: {
      std::string seen = last_text_;
      for (char& c : seen)
        if (c == '\n') c = '|';
      // The end of the screen is where new output shows.
      while (!seen.empty() && seen.back() == '|') seen.pop_back();
      if (seen.size() > 160) seen = "..." + seen.substr(seen.size() - 157);
      return "no text matching '" + spec_.regex + "' on " + label +
             (last_text_.empty() ? "" : " (last read: \"" + seen + "\")");
    }
  }
  return "the wait failed";
}

std::string ScreenWait::progress(const std::string& label, Clock::time_point now) const {
  switch (spec_.kind) {
    case WaitSpec::Kind::kStable:
      return fmt::format("still waiting for the screen of {} to settle (last change {:.1f} s ago: {})", label,
                         std::chrono::duration<double>(now - watch_.last_change()).count(), watch_.last_reason());
    case WaitSpec::Kind::kMatch: return "still waiting for " + spec_.needle + " on " + label;
    case WaitSpec::Kind::kText: return "still waiting for text matching '" + spec_.regex + "' on " + label;
  }
  return "";
}

}  // namespace vredir
