#include "stream_text.hpp"

#include <cstdio>

#include "sys/log_text.hpp"

namespace vredir::stream {

namespace {

// A GDI frame's record (already checked by the decoder) and the last STATE
// sent for its target, if any.
bool gdi_record(const Event& ev, gdi::Record* rec, const gdi::State** state) {
  if (ev.what != Event::What::kFrame || ev.type() != FrameType::kGdi) return false;
  if (!gdi::decode_record(ev.frame.payload, rec, nullptr)) return false;
  *state = nullptr;
  if (ev.channel) {
    auto it = ev.channel->gdi_states.find(gdi::target_of(*rec));
    if (it != ev.channel->gdi_states.end()) *state = &it->second;
  }
  return true;
}

// JSON needs valid UTF-8: untrusted strings go through json_safe_text.
nlohmann::json params_json(const Params& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : p) j[json_safe_text(k)] = json_safe_text(v);
  return j;
}

nlohmann::json field_json(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Quoted>) return json_safe_text(x.s);
        else if constexpr (std::is_same_v<T, Word>) return x.s;
        else if constexpr (std::is_same_v<T, JsonText>) return nlohmann::json::parse(x.s);
        else if constexpr (std::is_same_v<T, Params>) return params_json(x);
        else return x;
      },
      v);
}

}  // namespace

std::string describe_text(const Event& ev) { return describe(ev).text_line(); }

nlohmann::json describe_json(const Event& ev) {
  nlohmann::json j = nlohmann::json::object();
  const Description d = describe(ev);
  for (const Field& f : d.fields())
    if (!f.json_key.empty()) j[f.json_key] = field_json(f.value);
  return j;
}

void StreamStats::add(const Event& ev) {
  uint16_t id = ev.frame.header.channel;
  ChannelStats& s = channels_[id];
  s.id = id;
  if (id == 0) {
    s.name = "(stream)";
    s.kind = "stream";
  } else if (ev.channel) {
    s.name = ev.channel->name;
    s.kind = ev.channel->kind_label();
  }
  // A declaration counts toward its new channel's name but the stream's bytes.
  if (ev.type() == FrameType::kDeclare && ev.channel) {
    ChannelStats& c = channels_[ev.channel->id];
    c.id = ev.channel->id;
    c.name = ev.channel->name;
    c.kind = ev.channel->kind_label();
  }
  s.frames++;
  s.bytes += kFrameHeaderSize + ev.frame.header.length;
  gdi::Record rec;
  const gdi::State* state = nullptr;
  if (gdi_record(ev, &rec, &state)) {
    uint64_t n = kFrameHeaderSize + ev.frame.header.length;
    if (gdi::is_command_update(rec)) {
      s.gdi_commands++;
      s.gdi_command_bytes += n;
    }
    if (gdi::is_pixel_update(rec)) s.gdi_pixel_updates++;
    if (gdi::carries_pixels(rec)) s.gdi_pixel_bytes += n;
  }
  if (ev.what != Event::What::kFrame) s.unknown++;
  uint64_t t = ev.frame.header.timestamp_us;
  if (!s.any) {
    s.first_us = s.last_us = t;
    s.any = true;
  }
  s.first_us = std::min(s.first_us, t);
  s.last_us = std::max(s.last_us, t);
}

std::string StreamStats::table() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-5s %-16s %-9s %8s %12s %10s %12s %9s %s\n", "CH", "NAME", "KIND", "FRAMES",
                "BYTES", "SPAN_S", "BYTES/S", "FRAMES/S", "SKIPPED");
  out += line;
  for (const auto& [id, s] : channels_) {
    double span = s.any ? double(s.last_us - s.first_us) / 1e6 : 0.0;
    double bps = span > 0 ? double(s.bytes) / span : 0.0;
    double fps = span > 0 ? double(s.frames) / span : 0.0;
    std::string name = printable(s.name);
    name = name.substr(1, name.size() - 2);
    std::snprintf(line, sizeof(line), "%-5u %-16s %-9s %8llu %12llu %10.3f %12.0f %9.2f %llu\n", id,
                  name.c_str(), s.kind.c_str(), static_cast<unsigned long long>(s.frames),
                  static_cast<unsigned long long>(s.bytes), span, bps, fps,
                  static_cast<unsigned long long>(s.unknown));
    out += line;
  }
  for (const auto& [id, s] : channels_) {
    if (s.kind != "gdi") continue;
    uint64_t updates = s.gdi_commands + s.gdi_pixel_updates;
    uint64_t bytes = s.gdi_command_bytes + s.gdi_pixel_bytes;
    std::snprintf(line, sizeof(line),
                  "gdi ch=%u commands=%llu command_bytes=%llu pixel_updates=%llu pixel_bytes=%llu "
                  "command_share=%.1f%% command_byte_share=%.1f%%\n",
                  id, static_cast<unsigned long long>(s.gdi_commands),
                  static_cast<unsigned long long>(s.gdi_command_bytes),
                  static_cast<unsigned long long>(s.gdi_pixel_updates),
                  static_cast<unsigned long long>(s.gdi_pixel_bytes),
                  updates ? 100.0 * double(s.gdi_commands) / double(updates) : 0.0,
                  bytes ? 100.0 * double(s.gdi_command_bytes) / double(bytes) : 0.0);
    out += line;
  }
  return out;
}

std::vector<nlohmann::json> StreamStats::json() const {
  std::vector<nlohmann::json> rows;
  for (const auto& [id, s] : channels_) {
    double span = s.any ? double(s.last_us - s.first_us) / 1e6 : 0.0;
    nlohmann::json j;
    j["channel"] = id;
    j["name"] = json_safe_text(s.name);
    j["kind"] = s.kind;
    j["frames"] = s.frames;
    j["bytes"] = s.bytes;
    j["skipped"] = s.unknown;
    j["first_us"] = s.first_us;
    j["last_us"] = s.last_us;
    j["span_s"] = span;
    j["bytes_per_s"] = span > 0 ? double(s.bytes) / span : 0.0;
    j["frames_per_s"] = span > 0 ? double(s.frames) / span : 0.0;
    if (s.kind == "gdi") {
      j["gdi_commands"] = s.gdi_commands;
      j["gdi_command_bytes"] = s.gdi_command_bytes;
      j["gdi_pixel_updates"] = s.gdi_pixel_updates;
      j["gdi_pixel_bytes"] = s.gdi_pixel_bytes;
    }
    rows.push_back(j);
  }
  return rows;
}

}  // namespace vredir::stream
