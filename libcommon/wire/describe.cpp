#include "wire/describe.hpp"

#include <cstdio>

#include "wire/stream_decoder.hpp"

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

std::string params_text(const Params& p) {
  std::string out;
  for (const auto& [k, v] : p) {
    bool plain = !v.empty() && v.find_first_of(" \"\\\n\t=") == std::string::npos;
    for (unsigned char c : v) plain = plain && c >= 0x20 && c < 0x7f;
    if (!out.empty()) out += " ";
    out += std::string(printable(k).substr(1, k.size())) + "=" + (plain ? v : printable(v));
  }
  return out;
}

std::string value_text(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, uint64_t> || std::is_same_v<T, int64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%.3f", x);
          return buf;
        } else if constexpr (std::is_same_v<T, Quoted>) return printable(x.s);
        else if constexpr (std::is_same_v<T, Params>) return params_text(x);
        else return x.s;  // Word, JsonText
      },
      v);
}

}  // namespace

std::string Description::text_line() const {
  std::string out;
  for (const Field& f : fields_) {
    if (!f.in_text) continue;
    std::string v = value_text(f.value);
    std::string piece = f.text_key.empty() ? v : f.text_key + "=" + v;
    if (piece.empty()) continue;
    if (!out.empty()) out += " ";
    out += piece;
  }
  return out;
}

Description describe(const Event& ev) {
  const FrameHeader& h = ev.frame.header;
  Description d;
  d.text("@" + std::to_string(ev.frame.offset));
  d.json("offset", uint64_t(ev.frame.offset));
  char t[48];
  std::snprintf(t, sizeof(t), "t=%llu.%06llu", static_cast<unsigned long long>(h.timestamp_us / 1000000),
                static_cast<unsigned long long>(h.timestamp_us % 1000000));
  d.text(t);
  d.json("t_us", uint64_t(h.timestamp_us));
  std::string ch = "ch=" + std::to_string(h.channel);
  if (ev.channel && h.channel != 0) {
    std::string qn = printable(ev.channel->name);
    ch += "(" + qn.substr(1, qn.size() - 2) + ")";
  }
  d.text(ch);
  d.json("channel", uint64_t(h.channel));
  if (ev.channel) {
    d.json("channel_name", Quoted{ev.channel->name});
    d.json("kind", Word{ev.channel->kind_label()});
  }
  if (ev.type_entry) {
    d.text(ev.type_entry->name);
  } else {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "UNKNOWN(0x%02x)", h.type);
    d.text(buf);
  }
  d.json("type", Word{ev.type_entry ? ev.type_entry->name : "UNKNOWN"});
  d.json("type_code", uint64_t(h.type));
  d.json("flags", uint64_t(h.flags));
  d.json("length", uint64_t(h.length));
  switch (ev.what) {
    case Event::What::kUnknownType:
      d.json("skipped", true);
      d.json("reason", Word{"unknown frame type"});
      d.text("len", uint64_t(h.length));
      d.text("unknown frame type, skipped");
      return d;
    case Event::What::kUnknownChannel:
      d.json("skipped", true);
      d.json("reason", Word{"unknown channel kind"});
      d.text("len", uint64_t(h.length));
      d.text("on " + ev.channel->kind_label() + " channel, skipped");
      return d;
    case Event::What::kUnknownEncoding:
      d.json("skipped", true);
      d.json("reason", Word{"unknown rect encoding"});
      break;
    case Event::What::kFrame:
      break;
  }
  if (h.flags) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%02x", h.flags);
    d.text("flags", Word{std::string("0x") + buf});
  }
  if (ev.type_entry && ev.type_entry->describe) ev.type_entry->describe(ev, &d);
  return d;
}

}  // namespace vredir::stream
