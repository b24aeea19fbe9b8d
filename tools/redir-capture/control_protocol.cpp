#include "control_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "wire/gdi_records.hpp"

namespace vredir {

namespace {

using json = nlohmann::json;

constexpr double kMaxSeconds = 1e6;
constexpr size_t kMaxRegions = 64;

bool parse_number(std::string_view s, double lo, double hi, double* out) {
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// The request's fields once its words or JSON are read.
struct Fields {
  std::string verb, arg;
  std::string timeout, region, snapshot, threshold, psnr;
  std::vector<std::string> ignore, areas;
  bool no_blink = false;
};

bool build(const Fields& f, ControlRequest* out, std::string* err) {
  static const char* const kVerbs[] = {"snapshot", "text", "wait-text", "wait-match", "wait-stable", "needle-new"};
  if (std::find(std::begin(kVerbs), std::end(kVerbs), f.verb) == std::end(kVerbs)) {
    *err = "unknown request '" + f.verb.substr(0, 32) + "' (snapshot, text, wait-text, wait-match, wait-stable, "
           "needle-new)";
    return false;
  }
  ControlRequest q;
  auto region = [&](const std::string& text, ScreenRegion* r, const char* what) {
    if (parse_region(text, r)) return true;
    *err = std::string(what) + " needs x,y,w,h, not '" + text.substr(0, 40) + "'";
    return false;
  };
  auto regions = [&](const std::vector<std::string>& in, std::vector<ScreenRegion>* r, const char* what) {
    if (in.size() > kMaxRegions) {
      *err = std::string("more than ") + std::to_string(kMaxRegions) + " " + what + " areas";
      return false;
    }
    for (const std::string& t : in) {
      ScreenRegion one;
      if (!region(t, &one, what)) return false;
      r->push_back(one);
    }
    return true;
  };
  if (!f.region.empty() && !region(f.region, &q.region, "--region")) return false;
  q.wait.region = q.region;
  if (!f.timeout.empty() && !parse_number(f.timeout, 0.001, kMaxSeconds, &q.wait.timeout_s)) {
    *err = "--timeout needs seconds (more than 0)";
    return false;
  }
  q.wait.snapshot = f.snapshot;
  const bool waits = f.verb.rfind("wait-", 0) == 0;
  if (!waits && (!f.timeout.empty() || !f.snapshot.empty())) {
    *err = "--timeout and --snapshot belong to the wait-* requests";
    return false;
  }
  if (f.verb != "wait-match" && !f.threshold.empty()) {
    *err = "--threshold belongs to wait-match";
    return false;
  }
  if (f.verb != "wait-stable" && (!f.psnr.empty() || f.no_blink)) {
    *err = "--psnr and --no-blink-filter belong to wait-stable";
    return false;
  }
  if (f.verb != "wait-stable" && f.verb != "needle-new" && !f.ignore.empty()) {
    *err = "--ignore belongs to wait-stable and needle-new";
    return false;
  }
  if (f.verb != "needle-new" && !f.areas.empty()) {
    *err = "--area belongs to needle-new";
    return false;
  }
  if ((f.verb == "wait-stable" || f.verb == "needle-new" || f.verb == "snapshot") && !f.region.empty()) {
    *err = "--region does not apply to " + f.verb;
    return false;
  }
  if (f.arg.empty() && f.verb != "text") {
    *err = f.verb + " needs an argument";
    return false;
  }
  if (f.verb == "snapshot") {
    q.verb = ControlRequest::Verb::kSnapshot;
    q.file = f.arg;
  } else if (f.verb == "text") {
    q.verb = ControlRequest::Verb::kText;
    if (!f.arg.empty()) {
      *err = "text takes no argument (only --region)";
      return false;
    }
  } else if (f.verb == "wait-text") {
    q.verb = ControlRequest::Verb::kWait;
    q.wait.kind = WaitSpec::Kind::kText;
    q.wait.regex = f.arg;
  } else if (f.verb == "wait-match") {
    q.verb = ControlRequest::Verb::kWait;
    q.wait.kind = WaitSpec::Kind::kMatch;
    q.wait.needle = f.arg;
    if (!f.threshold.empty() && !parse_number(f.threshold, 0, 1, &q.wait.threshold)) {
      *err = "--threshold needs a share from 0 to 1";
      return false;
    }
  } else if (f.verb == "wait-stable") {
    q.verb = ControlRequest::Verb::kWait;
    q.wait.kind = WaitSpec::Kind::kStable;
    if (!parse_number(f.arg, 0, kMaxSeconds, &q.wait.stable_s)) {
      *err = "wait-stable needs seconds";
      return false;
    }
    if (!f.psnr.empty() && !parse_number(f.psnr, 1, 200, &q.wait.stability.psnr_db)) {
      *err = "--psnr needs decibels (1 to 200)";
      return false;
    }
    q.wait.stability.ignore_blink = !f.no_blink;
    if (!regions(f.ignore, &q.wait.stability.ignore, "--ignore")) return false;
  } else if (f.verb == "needle-new") {
    q.verb = ControlRequest::Verb::kNeedleNew;
    q.file = f.arg;
    if (!regions(f.areas, &q.areas, "--area") || !regions(f.ignore, &q.ignore, "--ignore")) return false;
    if (q.areas.empty()) {
      *err = "needle-new needs at least one --area";
      return false;
    }
  } else {
    *err = "unknown request '" + f.verb.substr(0, 32) + "' (snapshot, text, wait-text, wait-match, wait-stable, "
           "needle-new)";
    return false;
  }
  *out = std::move(q);
  return true;
}

bool parse_words(std::string_view line, Fields* f, std::string* err) {
  auto next_word = [&](std::string_view* rest) {
    size_t sp = rest->find(' ');
    std::string_view w = rest->substr(0, sp);
    *rest = sp == std::string_view::npos ? std::string_view() : rest->substr(sp + 1);
    return w;
  };
  std::string_view rest = line;
  f->verb = std::string(next_word(&rest));
  while (!rest.empty() && rest.rfind("--", 0) == 0) {
    std::string_view opt = next_word(&rest);
    if (opt == "--no-blink-filter") {
      f->no_blink = true;
      continue;
    }
    std::string* single = opt == "--timeout"     ? &f->timeout
                          : opt == "--region"    ? &f->region
                          : opt == "--snapshot"  ? &f->snapshot
                          : opt == "--threshold" ? &f->threshold
                          : opt == "--psnr"      ? &f->psnr
                                                 : nullptr;
    std::vector<std::string>* many = opt == "--ignore" ? &f->ignore : opt == "--area" ? &f->areas : nullptr;
    if (!single && !many) {
      *err = "unknown option '" + std::string(opt.substr(0, 32)) + "'";
      return false;
    }
    std::string_view value = next_word(&rest);
    if (value.empty()) {
      *err = std::string(opt) + " needs a value";
      return false;
    }
    if (single) *single = std::string(value);
    else many->emplace_back(value);
  }
  f->arg = std::string(rest);
  return true;
}

bool parse_json(std::string_view line, Fields* f, std::string* err) {
  json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *err = "not a JSON object";
    return false;
  }
  auto text = [&](const char* key, std::string* out) {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (it->is_string()) *out = it->get<std::string>();
    else if (it->is_number()) *out = it->dump();
    else {
      *err = std::string("\"") + key + "\" is neither text nor a number";
      return false;
    }
    return true;
  };
  auto list = [&](const char* key, std::vector<std::string>* out) {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (!it->is_array()) {
      *err = std::string("\"") + key + "\" is not a list";
      return false;
    }
    for (const json& v : *it) {
      if (!v.is_string()) {
        *err = std::string("\"") + key + "\" holds something other than text";
        return false;
      }
      out->push_back(v.get<std::string>());
    }
    return true;
  };
  if (!text("request", &f->verb) || !text("timeout", &f->timeout) || !text("region", &f->region) ||
      !text("snapshot", &f->snapshot) || !text("threshold", &f->threshold) || !text("psnr", &f->psnr) ||
      !list("ignore", &f->ignore) || !list("areas", &f->areas))
    return false;
  for (const char* key : {"file", "regex", "needle", "seconds", "name"}) {
    std::string v;
    if (!text(key, &v)) return false;
    if (!v.empty()) f->arg = v;
  }
  if (auto it = j.find("no_blink_filter"); it != j.end()) f->no_blink = it->is_boolean() && it->get<bool>();
  return true;
}

std::string region_words(const ScreenRegion& r) {
  return std::to_string(r.x) + "," + std::to_string(r.y) + "," + std::to_string(r.w) + "," + std::to_string(r.h);
}

}  // namespace

bool parse_control_request(std::string_view line, ControlRequest* out, std::string* err) {
  if (line.size() > kMaxControlLine) {
    *err = "request longer than 64 KiB";
    return false;
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) {
    *err = "empty request";
    return false;
  }
  // Paths and expressions travel as JSON text, which is UTF-8.
  if (!gdi::valid_utf8(line)) {
    *err = "request is not UTF-8";
    return false;
  }
  Fields f;
  if (!(line.front() == '{' ? parse_json(line, &f, err) : parse_words(line, &f, err))) return false;
  return build(f, out, err);
}

std::string control_request_json(const ControlRequest& q) {
  json j;
  auto regions = [](const std::vector<ScreenRegion>& rs) {
    json a = json::array();
    for (const ScreenRegion& r : rs) a.push_back(region_words(r));
    return a;
  };
  const WaitSpec& w = q.wait;
  switch (q.verb) {
    case ControlRequest::Verb::kSnapshot: j = {{"request", "snapshot"}, {"file", q.file}}; break;
    case ControlRequest::Verb::kText: j = {{"request", "text"}}; break;
    case ControlRequest::Verb::kNeedleNew:
      j = {{"request", "needle-new"}, {"name", q.file}, {"areas", regions(q.areas)}, {"ignore", regions(q.ignore)}};
      break;
    case ControlRequest::Verb::kWait:
      switch (w.kind) {
        case WaitSpec::Kind::kText: j = {{"request", "wait-text"}, {"regex", w.regex}}; break;
        case WaitSpec::Kind::kMatch:
          j = {{"request", "wait-match"}, {"needle", w.needle}, {"threshold", w.threshold}};
          break;
        case WaitSpec::Kind::kStable:
          j = {{"request", "wait-stable"}, {"seconds", w.stable_s}, {"ignore", regions(w.stability.ignore)},
               {"no_blink_filter", !w.stability.ignore_blink}};
          if (w.stability.psnr_db > 0) j["psnr"] = w.stability.psnr_db;
          break;
      }
      if (w.timeout_s > 0) j["timeout"] = w.timeout_s;
      if (!w.snapshot.empty()) j["snapshot"] = w.snapshot;
      break;
  }
  if (q.region.w && (q.verb == ControlRequest::Verb::kText ||
                     (q.verb == ControlRequest::Verb::kWait && w.kind != WaitSpec::Kind::kStable)))
    j["region"] = region_words(q.region);
  // Never throws: a field that is not UTF-8 (refused by the callers) would
  // come out with U+FFFD in its place.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace vredir
