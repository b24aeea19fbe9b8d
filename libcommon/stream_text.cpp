#include "stream_text.hpp"

#include <cstdio>

namespace vredir::stream {

std::string printable(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

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

std::string type_label(const Event& ev) {
  const char* n = type_name(ev.type());
  if (n) return n;
  char buf[24];
  std::snprintf(buf, sizeof(buf), "UNKNOWN(0x%02x)", ev.frame.header.type);
  return buf;
}

std::string params_text(const Params& p) {
  std::string out;
  for (const auto& [k, v] : p) {
    bool plain = !v.empty() && v.find_first_of(" \"\\\n\t=") == std::string::npos;
    for (unsigned char c : v) plain = plain && c >= 0x20 && c < 0x7f;
    out += " " + std::string(printable(k).substr(1, k.size())) + "=" + (plain ? v : printable(v));
  }
  return out;
}

// JSON needs valid UTF-8: untrusted strings that are not are written with
// every byte outside printable ASCII escaped as \xHH.
std::string json_safe(const std::string& s) {
  // The JSON library's own serializer is the judge of valid UTF-8
  // (overlong forms and surrogates included).
  bool valid = true;
  try {
    (void)nlohmann::json(s).dump();
  } catch (const nlohmann::json::exception&) {
    valid = false;
  }
  if (valid) return s;
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

nlohmann::json params_json(const Params& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : p) j[json_safe(k)] = json_safe(v);
  return j;
}

std::string hex6(uint32_t c) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06x", c & 0xffffff);
  return buf;
}

}  // namespace

std::string describe_text(const Event& ev) {
  const FrameHeader& h = ev.frame.header;
  char head[96];
  std::snprintf(head, sizeof(head), "@%llu t=%llu.%06llu ch=%u", static_cast<unsigned long long>(ev.frame.offset),
                static_cast<unsigned long long>(h.timestamp_us / 1000000),
                static_cast<unsigned long long>(h.timestamp_us % 1000000), h.channel);
  std::string out = head;
  if (ev.channel && h.channel != 0) {
    std::string qn = printable(ev.channel->name);
    out += "(" + qn.substr(1, qn.size() - 2) + ")";
  }
  out += " " + type_label(ev);
  switch (ev.what) {
    case Event::What::kUnknownType:
      return out + " len=" + std::to_string(h.length) + " unknown frame type, skipped";
    case Event::What::kUnknownChannel:
      return out + " len=" + std::to_string(h.length) + " on " + ev.channel->kind_label() + " channel, skipped";
    default:
      break;
  }
  if (h.flags) out += " flags=0x" + hex6(h.flags).substr(4);
  gdi::Record rec;
  const gdi::State* state = nullptr;
  if (gdi_record(ev, &rec, &state)) return out + " " + gdi::describe(rec, state);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Hello>) {
          out += " producer=" + printable(v.producer) + " version=" + printable(v.version) + params_text(v.params);
        } else if constexpr (std::is_same_v<T, Declare>) {
          out += " id=" + std::to_string(v.id) + " kind=" + ev.channel->kind_label() + " name=" + printable(v.name) +
                 params_text(v.params);
          if (!ev.channel->known_kind) out += " (unknown kind: its frames will be skipped)";
        } else if constexpr (std::is_same_v<T, End>) {
          out += " reason=" + std::string(end_reason_name(v.reason));
          if (!v.message.empty()) out += " message=" + printable(v.message);
        } else if constexpr (std::is_same_v<T, Surface>) {
          out += " " + std::to_string(v.width) + "x" + std::to_string(v.height) + " bgrx8888";
        } else if constexpr (std::is_same_v<T, Rect>) {
          out += " " + std::to_string(v.w) + "x" + std::to_string(v.h) + "+" + std::to_string(v.x) + "+" +
                 std::to_string(v.y);
          const char* en = encoding_name(v.encoding);
          if (!en) {
            out += " enc=" + std::to_string(static_cast<int>(v.encoding)) + " unknown encoding, skipped";
          } else {
            out += " enc=" + std::string(en);
            if (v.encoding == RectEncoding::kSolid) out += " colour=" + hex6(v.colour);
            else if (v.encoding == RectEncoding::kCopyRect)
              out += " from=" + std::to_string(v.src_x) + "," + std::to_string(v.src_y);
            else out += " bytes=" + std::to_string(v.data.size());
          }
        } else if constexpr (std::is_same_v<T, FrameEnd>) {
          out += " seq=" + std::to_string(v.seq);
        } else if constexpr (std::is_same_v<T, CursorShape>) {
          out += " " + std::to_string(v.w) + "x" + std::to_string(v.h) + " hot=" + std::to_string(v.hot_x) + "," +
                 std::to_string(v.hot_y);
        } else if constexpr (std::is_same_v<T, CursorPos>) {
          out += " " + std::to_string(v.x) + "," + std::to_string(v.y) + (v.visible ? "" : " hidden");
        } else if constexpr (std::is_same_v<T, AudioData>) {
          uint64_t per = ev.channel ? uint64_t(ev.channel->channels) * 2 : 2;
          out += " samples=" + std::to_string(v.pcm.size() / per) + " bytes=" + std::to_string(v.pcm.size());
        } else if constexpr (std::is_same_v<T, Key>) {
          out += " seq=" + std::to_string(v.seq) + " code=" + std::to_string(v.code) + (v.down ? " down" : " up");
          if (v.keysym) out += " keysym=0x" + hex6(v.keysym);
        } else if constexpr (std::is_same_v<T, Pointer>) {
          out += " seq=" + std::to_string(v.seq) + " " + std::to_string(v.x) + "," + std::to_string(v.y) +
                 " buttons=" + std::to_string(v.buttons);
        } else if constexpr (std::is_same_v<T, Text>) {
          out += " seq=" + std::to_string(v.seq) + " " + printable(v.utf8);
        } else if constexpr (std::is_same_v<T, Ack>) {
          out += " channel=" + std::to_string(v.channel) + " seq=" + std::to_string(v.seq) +
                 (v.status == AckStatus::kDelivered ? " delivered" : " failed");
        } else if constexpr (std::is_same_v<T, Control>) {
          out += " " + printable(v.verb) + params_text(v.args);
        } else {
          if (ev.type() != FrameType::kClose) out += " bytes=" + std::to_string(h.length);
        }
      },
      ev.payload);
  return out;
}

nlohmann::json describe_json(const Event& ev) {
  const FrameHeader& h = ev.frame.header;
  nlohmann::json j;
  j["offset"] = ev.frame.offset;
  j["t_us"] = h.timestamp_us;
  j["channel"] = h.channel;
  if (ev.channel) {
    j["channel_name"] = json_safe(ev.channel->name);
    j["kind"] = ev.channel->kind_label();
  }
  const char* tn = type_name(ev.type());
  j["type"] = tn ? tn : "UNKNOWN";
  j["type_code"] = h.type;
  j["flags"] = h.flags;
  j["length"] = h.length;
  if (ev.what == Event::What::kUnknownType || ev.what == Event::What::kUnknownChannel ||
      ev.what == Event::What::kUnknownEncoding) {
    j["skipped"] = true;
    j["reason"] = ev.what == Event::What::kUnknownType      ? "unknown frame type"
                  : ev.what == Event::What::kUnknownChannel ? "unknown channel kind"
                                                            : "unknown rect encoding";
  }
  gdi::Record rec;
  const gdi::State* state = nullptr;
  if (gdi_record(ev, &rec, &state)) j["gdi"] = nlohmann::json::parse(gdi::to_json(rec, state));
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Hello>) {
          j["producer"] = json_safe(v.producer);
          j["version"] = json_safe(v.version);
          j["params"] = params_json(v.params);
        } else if constexpr (std::is_same_v<T, Declare>) {
          j["id"] = v.id;
          j["declared_kind"] = ev.channel->kind_label();
          j["name"] = json_safe(v.name);
          j["params"] = params_json(v.params);
        } else if constexpr (std::is_same_v<T, End>) {
          j["reason"] = end_reason_name(v.reason);
          j["message"] = json_safe(v.message);
        } else if constexpr (std::is_same_v<T, Surface>) {
          j["width"] = v.width;
          j["height"] = v.height;
        } else if constexpr (std::is_same_v<T, Rect>) {
          j["x"] = v.x;
          j["y"] = v.y;
          j["w"] = v.w;
          j["h"] = v.h;
          const char* en = encoding_name(v.encoding);
          j["encoding"] = en ? nlohmann::json(en) : nlohmann::json(static_cast<int>(v.encoding));
          if (v.encoding == RectEncoding::kSolid) j["colour"] = hex6(v.colour);
          if (v.encoding == RectEncoding::kCopyRect) {
            j["src_x"] = v.src_x;
            j["src_y"] = v.src_y;
          }
          if (v.encoding == RectEncoding::kRaw || v.encoding == RectEncoding::kZlib) j["bytes"] = v.data.size();
        } else if constexpr (std::is_same_v<T, FrameEnd>) {
          j["seq"] = v.seq;
        } else if constexpr (std::is_same_v<T, CursorShape>) {
          j["w"] = v.w;
          j["h"] = v.h;
          j["hot_x"] = v.hot_x;
          j["hot_y"] = v.hot_y;
        } else if constexpr (std::is_same_v<T, CursorPos>) {
          j["x"] = v.x;
          j["y"] = v.y;
          j["visible"] = v.visible;
        } else if constexpr (std::is_same_v<T, AudioData>) {
          j["bytes"] = v.pcm.size();
        } else if constexpr (std::is_same_v<T, Key>) {
          j["seq"] = v.seq;
          j["code"] = v.code;
          j["down"] = v.down;
          j["keysym"] = v.keysym;
        } else if constexpr (std::is_same_v<T, Pointer>) {
          j["seq"] = v.seq;
          j["x"] = v.x;
          j["y"] = v.y;
          j["buttons"] = v.buttons;
        } else if constexpr (std::is_same_v<T, Text>) {
          j["seq"] = v.seq;
          j["text"] = json_safe(v.utf8);
        } else if constexpr (std::is_same_v<T, Ack>) {
          j["acked_channel"] = v.channel;
          j["seq"] = v.seq;
          j["status"] = v.status == AckStatus::kDelivered ? "delivered" : "failed";
        } else if constexpr (std::is_same_v<T, Control>) {
          j["verb"] = json_safe(v.verb);
          j["args"] = params_json(v.args);
        }
      },
      ev.payload);
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
    j["name"] = json_safe(s.name);
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
