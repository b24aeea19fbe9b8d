#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "wire/stream_decoder.hpp"
#include "stream_recorder.hpp"
#include "wire/stream_writer.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

// A stream built in memory, then handed out frame by frame.
struct Frames {
  std::string bytes;
  StreamWriter w{[this](std::string_view d) {
    bytes.append(d);
    return Status::ok();
  }};
  Frames() { w.set_fixed_time(0); }
  std::vector<Frame> all(FrameReader& reader) {
    reader.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    std::vector<Frame> out;
    Frame f;
    std::string err;
    while (reader.next(&f, &err) == FrameReader::Result::kFrame) out.push_back(f);
    REQUIRE(err.empty());
    return out;
  }
};

std::string temp_path() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "vredir-recorder-XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  REQUIRE(fd >= 0);
  ::close(fd);
  return tmpl;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("a recording holds both directions as one valid stream", "[stream_recorder]") {
  Frames down, up;
  down.w.begin("redir-capture");
  down.w.declare(1, ChannelKind::kDisplay, "display", {{"width", "4"}, {"height", "2"}});
  down.w.declare(2, ChannelKind::kAck, "acks");
  down.w.surface(1, 4, 2);
  down.w.ack(2, Ack{1, 1, AckStatus::kDelivered});
  down.w.end(EndReason::kSourceGone, "vm shut down");
  up.w.begin("x-replay");
  up.w.declare(1, ChannelKind::kKeyboard, "keyboard");
  up.w.declare(2, ChannelKind::kPointer, "pointer-display", {{"display", "1"}, {"width", "4"}, {"height", "2"}});
  up.w.key(1, Key{1, 30, true, 0}, kFlagAckRequested);
  up.w.pointer(2, Pointer{1, 3, 1, 1});
  up.w.end();

  FrameReader dr, ur;
  auto d = down.all(dr);
  auto u = up.all(ur);
  REQUIRE(d.size() == 6);
  REQUIRE(u.size() == 6);
  const std::string path = temp_path();
  StreamRecorder rec;
  REQUIRE(rec.open(path));
  // Interleaved as a session would see them; the ack follows the key.
  REQUIRE(rec.downstream(d[0]));
  REQUIRE(rec.downstream(d[1]));
  REQUIRE(rec.downstream(d[2]));
  REQUIRE(rec.upstream(u[0]));
  REQUIRE(rec.upstream(u[1]));
  REQUIRE(rec.upstream(u[2]));
  REQUIRE(rec.downstream(d[3]));
  REQUIRE(rec.upstream(u[3]));
  REQUIRE(rec.downstream(d[4]));
  REQUIRE(rec.upstream(u[4]));
  REQUIRE(rec.upstream(u[5]));
  REQUIRE(rec.downstream(d[5]));
  REQUIRE(rec.close());
  REQUIRE(rec.close());  // twice is harmless

  const std::string bytes = slurp(path);
  ::unlink(path.c_str());
  StreamDecoder dec;
  dec.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Event ev;
  std::string err;
  std::map<uint16_t, Declare> declared;
  std::vector<std::string> seen;
  End end;
  int hellos = 0;
  while (dec.next(&ev, &err) == StreamDecoder::Result::kEvent) {
    switch (ev.type()) {
      case FrameType::kHello: ++hellos; break;
      case FrameType::kDeclare: {
        const auto& decl = std::get<Declare>(ev.payload);
        declared[decl.id] = decl;
        break;
      }
      case FrameType::kKey: seen.push_back("key@" + std::to_string(ev.frame.header.channel)); break;
      case FrameType::kPointer: seen.push_back("pointer@" + std::to_string(ev.frame.header.channel)); break;
      case FrameType::kAck:
        seen.push_back("ack@" + std::to_string(ev.frame.header.channel) + " for " +
                       std::to_string(std::get<Ack>(ev.payload).channel));
        break;
      case FrameType::kEnd: end = std::get<End>(ev.payload); break;
      default: break;
    }
  }
  REQUIRE(err.empty());
  REQUIRE(dec.ended());
  CHECK(hellos == 1);
  CHECK(end.reason == EndReason::kSourceGone);
  CHECK(end.message == "vm shut down");
  // Downstream ids kept; upstream ids moved up and marked.
  REQUIRE(declared.count(1));
  CHECK(declared.at(1).name == "display");
  CHECK(declared.at(1).params.count("direction") == 0);
  REQUIRE(declared.count(StreamRecorder::kUpstreamBase + 1));
  REQUIRE(declared.count(StreamRecorder::kUpstreamBase + 2));
  const Declare& kbd = declared.at(StreamRecorder::kUpstreamBase + 1);
  CHECK(kbd.name == "keyboard");
  CHECK(kbd.params.at("direction") == "up");
  const Declare& ptr = declared.at(StreamRecorder::kUpstreamBase + 2);
  CHECK(ptr.params.at("display") == "1");
  CHECK(ptr.params.at("width") == "4");
  CHECK(seen == std::vector<std::string>{"key@32769", "ack@2 for 32769", "pointer@32770"});
}

TEST_CASE("a recording renumbers an upstream channel that would clash", "[stream_recorder]") {
  Frames down, up;
  down.w.begin("odd");
  down.w.declare(32769, ChannelKind::kDisplay, "display", {{"width", "4"}, {"height", "2"}});
  down.w.end();
  up.w.begin("x-replay");
  up.w.declare(1, ChannelKind::kKeyboard, "keyboard");
  up.w.end();
  FrameReader dr, ur;
  auto d = down.all(dr);
  auto u = up.all(ur);
  const std::string path = temp_path();
  StreamRecorder rec;
  REQUIRE(rec.open(path));
  for (size_t i = 0; i < 2; ++i) REQUIRE(rec.downstream(d[i]));
  REQUIRE(rec.upstream(u[1]));
  REQUIRE(rec.close());
  const std::string bytes = slurp(path);
  ::unlink(path.c_str());
  StreamDecoder dec;
  dec.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Event ev;
  std::string err;
  std::vector<uint16_t> ids;
  while (dec.next(&ev, &err) == StreamDecoder::Result::kEvent)
    if (ev.type() == FrameType::kDeclare) ids.push_back(std::get<Declare>(ev.payload).id);
  REQUIRE(err.empty());
  REQUIRE(dec.ended());
  CHECK(ids == std::vector<uint16_t>{32769, 32768});
}

TEST_CASE("a recording that cannot be created says why", "[stream_recorder]") {
  StreamRecorder rec;
  Status st = rec.open("/nonexistent-dir/rec.vrs");
  CHECK_FALSE(st);
  CHECK(st.message().find("nonexistent-dir") != std::string::npos);
  CHECK(rec.close());
}
