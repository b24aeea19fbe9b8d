// vrs-build: builds a vredir stream from a readable text description, so test
// inputs are reviewable text rather than opaque blobs. See tests/README.md for
// the grammar; every line is "VERB ARGS...", '#' starts a comment.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "sys/cli.hpp"
#include "sys/stdio_files.hpp"
#include "wire/stream_writer.hpp"
#include "vrs_build_gdi.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

std::vector<std::string> tokenize(const std::string& line, std::string* err) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    if (isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
      continue;
    }
    if (line[i] == '#') break;
    std::string tok;
    // A quoted section may start a token or follow "key=" (title="a b").
    while (i < line.size() && !isspace(static_cast<unsigned char>(line[i]))) {
      if (line[i] != '"') {
        tok += line[i++];
        continue;
      }
      ++i;
      while (i < line.size() && line[i] != '"') {
        char c = line[i++];
        if (c == '\\' && i < line.size()) {
          char e = line[i++];
          if (e == 'n') c = '\n';
          else if (e == 't') c = '\t';
          else if (e == 'r') c = '\r';
          else if (e == 'x' && i + 1 < line.size()) {
            c = static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16));
            i += 2;
          } else c = e;
        }
        tok += c;
      }
      if (i >= line.size()) *err = "unterminated string";
      ++i;
    }
    out.push_back(tok);
  }
  return out;
}

uint64_t num(const std::string& s) { return std::stoull(s, nullptr, 0); }
uint32_t rgb(const std::string& s) { return static_cast<uint32_t>(std::stoul(s, nullptr, 16)); }

std::string hex_bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// Parses trailing key=value tokens from index i.
Params kv(const std::vector<std::string>& t, size_t i) {
  Params p;
  for (; i < t.size(); ++i) {
    auto eq = t[i].find('=');
    if (eq == std::string::npos) throw std::runtime_error("expected key=value, got '" + t[i] + "'");
    p[t[i].substr(0, eq)] = t[i].substr(eq + 1);
  }
  return p;
}

void put_pixel(std::string& raw, uint32_t c) {
  put_u8(raw, c & 0xff);
  put_u8(raw, (c >> 8) & 0xff);
  put_u8(raw, (c >> 16) & 0xff);
  put_u8(raw, 0);
}

// Pixels for raw/zlib rects: "fill RRGGBB" or a list of RRGGBB, one per pixel.
std::string pixels(const std::vector<std::string>& t, size_t i, uint64_t count) {
  std::string raw;
  if (i < t.size() && t[i] == "fill") {
    uint32_t c = rgb(t.at(i + 1));
    for (uint64_t k = 0; k < count; ++k) put_pixel(raw, c);
  } else {
    for (; i < t.size(); ++i) put_pixel(raw, rgb(t[i]));
  }
  return raw;
}

Status build_line(StreamWriter& w, const std::vector<std::string>& t) {
  const std::string& v = t[0];
  auto ch = [&]() { return static_cast<uint16_t>(num(t.at(1))); };
  std::string p;
  if (v == "hello") return w.begin(t.at(1).substr(t.at(1).find('=') + 1), kv(t, 2));
  if (v == "time") {
    w.set_fixed_time(num(t.at(1)));
    return Status::ok();
  }
  if (v == "declare") {
    Declare d;
    d.id = ch();
    auto kind = kind_from_name(t.at(2));
    d.kind = kind ? static_cast<uint8_t>(*kind) : static_cast<uint8_t>(num(t.at(2).substr(t.at(2).find('=') + 1)));
    d.name = t.at(3);
    d.params = kv(t, 4);
    return w.declare_raw(d);
  }
  if (v == "close") return w.close_channel(ch());
  if (v == "end") {
    EndReason reason = EndReason::kNormal;
    if (t.size() > 1 && t[1] == "source-gone") reason = EndReason::kSourceGone;
    if (t.size() > 1 && t[1] == "error") reason = EndReason::kError;
    return w.end(reason, t.size() > 2 ? t[2] : "");
  }
  if (v == "surface") return w.surface(ch(), static_cast<uint32_t>(num(t.at(2))), static_cast<uint32_t>(num(t.at(3))));
  if (v == "rect") {
    Rect r;
    r.x = static_cast<uint32_t>(num(t.at(2)));
    r.y = static_cast<uint32_t>(num(t.at(3)));
    r.w = static_cast<uint32_t>(num(t.at(4)));
    r.h = static_cast<uint32_t>(num(t.at(5)));
    const std::string& enc = t.at(6);
    std::string data;
    if (enc == "solid") {
      r.encoding = RectEncoding::kSolid;
      r.colour = rgb(t.at(7));
    } else if (enc == "copy") {
      r.encoding = RectEncoding::kCopyRect;
      r.src_x = static_cast<uint32_t>(num(t.at(7)));
      r.src_y = static_cast<uint32_t>(num(t.at(8)));
    } else if (enc == "raw" || enc == "zlib") {
      data = pixels(t, 7, uint64_t(r.w) * r.h);
      if (enc == "zlib") {
        data = zlib_compress(data, 6);
        r.encoding = RectEncoding::kZlib;
      }
    } else {
      r.encoding = static_cast<RectEncoding>(num(enc));
      data = hex_bytes(t.size() > 7 ? t[7] : "");
    }
    r.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return w.rect(ch(), r);
  }
  if (v == "frame-end") return w.frame_end(ch(), num(t.at(2)));
  if (v == "audio") {
    std::string pcm;
    if (t.at(2) == "sine") {
      double hz = std::stod(t.at(3));
      uint64_t n = num(t.at(4));
      uint32_t rate = static_cast<uint32_t>(t.size() > 5 ? num(t[5]) : 48000);
      for (uint64_t i = 0; i < n; ++i)
        put_u16le(pcm, static_cast<uint16_t>(static_cast<int16_t>(std::lround(8000 * std::sin(2 * M_PI * hz * i / rate)))));
    } else {
      for (size_t i = 3; i < t.size(); ++i) put_u16le(pcm, static_cast<uint16_t>(std::stoi(t[i])));
    }
    return w.frame(ch(), FrameType::kAudioData, pcm);
  }
  if (v == "key") {
    Key k{num(t.at(2)), static_cast<uint16_t>(num(t.at(3))), t.at(4) == "down", 0};
    Params extra = kv(t, 5);
    if (extra.count("keysym")) k.keysym = static_cast<uint32_t>(num(extra["keysym"]));
    return w.key(ch(), k, extra.count("ack") ? kFlagAckRequested : 0);
  }
  if (v == "pointer") {
    Pointer ptr{num(t.at(2)), static_cast<int32_t>(std::stol(t.at(3))), static_cast<int32_t>(std::stol(t.at(4))),
                static_cast<uint32_t>(num(t.at(5)))};
    return w.pointer(ch(), ptr);
  }
  if (v == "pointer-rel") {
    PointerRel rel{num(t.at(2)), static_cast<int32_t>(std::stol(t.at(3))), static_cast<int32_t>(std::stol(t.at(4))),
                   static_cast<uint32_t>(num(t.at(5)))};
    return w.pointer_rel(ch(), rel);
  }
  if (v == "text") {
    encode_text(Text{num(t.at(2)), t.at(3)}, p);
    return w.frame(ch(), FrameType::kText, p);
  }
  if (v == "clipboard") {
    encode_clipboard(Clipboard{ClipboardFormat::kUtf8Text, t.size() > 2 ? t[2] : ""}, p);
    return w.frame(ch(), FrameType::kClipboard, p);
  }
  if (v == "ack") {
    Ack a{static_cast<uint16_t>(num(t.at(2))), num(t.at(3)),
          t.size() > 4 && t[4] == "failed" ? AckStatus::kFailed : AckStatus::kDelivered};
    return w.ack(ch(), a);
  }
  if (v == "control") return w.control(ch(), Control{t.at(2), kv(t, 3)});
  if (v == "cursor-shape") {
    CursorShape c;
    c.w = static_cast<uint32_t>(num(t.at(2)));
    c.h = static_cast<uint32_t>(num(t.at(3)));
    c.hot_x = static_cast<uint32_t>(num(t.at(4)));
    c.hot_y = static_cast<uint32_t>(num(t.at(5)));
    std::string px;
    for (size_t i = 6; i < t.size(); ++i) put_u32le(px, static_cast<uint32_t>(std::stoul(t[i], nullptr, 16)));
    c.pixels = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(px.data()), px.size());
    encode_cursor_shape(c, p);
    return w.frame(ch(), FrameType::kCursorShape, p);
  }
  if (v == "cursor-pos") {
    encode_cursor_pos(CursorPos{static_cast<int32_t>(std::stol(t.at(2))), static_cast<int32_t>(std::stol(t.at(3))),
                                !(t.size() > 4 && t[4] == "hidden")},
                      p);
    return w.frame(ch(), FrameType::kCursorPos, p);
  }
  if (v == "gdi") {
    auto z = [](const std::string& raw) { return zlib_compress(raw, 6); };
    return w.frame(ch(), FrameType::kGdi, vrs_gdi::build(t, 2, z));
  }
  if (v == "data") return w.frame(ch(), FrameType::kData, t.size() > 2 ? hex_bytes(t[2]) : "");
  if (v == "frame") {
    // Any frame type by number with a hex payload: for unknown types.
    return w.frame(ch(), static_cast<FrameType>(num(t.at(2))), t.size() > 3 ? hex_bytes(t[3]) : "");
  }
  throw std::runtime_error("unknown verb '" + v + "'");
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("vrs-build", "Build a vredir stream from a text description (test helper).");
  std::string input = "-", output = "-";
  tool.app().add_option("input", input, "Description file ('-': stdin)");
  tool.app().add_option("-o,--output", output, "Stream file ('-': stdout)");
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;

  std::ifstream file;
  std::istream* in = &std::cin;
  if (input != "-") {
    file.open(input);
    if (!file) return tool.finish(fail(kExitNotFound, "cannot open '" + input + "'"));
    in = &file;
  }
  OutputFile out;
  if (Status st = out.open(output); !st) return tool.finish(st);
  StreamWriter w([&](std::string_view d) { return out.write(d); });
  w.set_fixed_time(0);
  std::string line;
  int lineno = 0;
  while (std::getline(*in, line)) {
    ++lineno;
    std::string err;
    auto toks = tokenize(line, &err);
    if (!err.empty()) return tool.finish(fail(kExitUsage, input + ":" + std::to_string(lineno) + ": " + err));
    if (toks.empty()) continue;
    try {
      if (Status st = build_line(w, toks); !st) return tool.finish(st);
    } catch (const std::exception& e) {
      return tool.finish(fail(kExitUsage, input + ":" + std::to_string(lineno) + ": " + e.what()));
    }
  }
  return tool.finish(out.close());
}
