#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "wire/stream_decoder.hpp"
#include "stream_join.hpp"
#include "stream_pump.hpp"
#include "wire/stream_writer.hpp"
#include "unit/memory_stream.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

using vredir::stream::testing::Built;

// A display (1) and a cursor (2) that names its display, like redir-capture;
// body holds everything before the END frame, tail the END.
struct Capture {
  std::string body, tail;
  std::string all() const { return body + tail; }
};
Capture capture_like(uint32_t colour, uint64_t t0, EndReason reason = EndReason::kNormal) {
  Built b;
  b.w.set_fixed_time(t0);
  b.w.begin("unit");
  b.w.declare(1, ChannelKind::kDisplay, "display", {{"width", "4"}, {"height", "2"}});
  b.w.declare(2, ChannelKind::kCursor, "cursor", {{"display", "1"}});
  b.w.surface(1, 4, 2);
  b.w.set_fixed_time(t0 + 1000);
  Rect r;
  r.w = 4;
  r.h = 2;
  r.encoding = RectEncoding::kSolid;
  r.colour = colour;
  b.w.rect(1, r);
  b.w.frame_end(1, 1);
  b.w.set_fixed_time(t0 + 3000);
  size_t body = b.bytes.size();
  b.w.end(reason, reason == EndReason::kNormal ? "" : "vm gone");
  return {b.bytes.substr(0, body), b.bytes.substr(body)};
}

// One decoded frame, with its payload copied out of the decoder.
struct Row {
  uint16_t channel;
  uint8_t type;
  uint8_t flags;
  uint64_t ts;
  std::string payload;
  Params params;  // DECLARE params
  uint16_t declared_id = 0;
  bool operator==(const Row&) const = default;
};

std::vector<Row> rows_of(const std::string& bytes, std::string* error = nullptr) {
  std::vector<Row> out;
  StreamDecoder dec;
  dec.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Event ev;
  std::string err;
  while (dec.next(&ev, &err) == StreamDecoder::Result::kEvent) {
    Row r{ev.frame.header.channel, ev.frame.header.type, ev.frame.header.flags, ev.frame.header.timestamp_us,
          std::string(reinterpret_cast<const char*>(ev.frame.payload.data()), ev.frame.payload.size()),
          {}};
    if (ev.type() == FrameType::kDeclare) {
      r.params = std::get<Declare>(ev.payload).params;
      r.declared_id = std::get<Declare>(ev.payload).id;
    }
    out.push_back(r);
  }
  if (error) *error = err;
  return out;
}

// Feeds whole streams to a joiner, input by input, as a file join would.
struct Feeder {
  std::vector<std::unique_ptr<StreamDecoder>> decoders;
  explicit Feeder(size_t n) {
    for (size_t i = 0; i < n; ++i) decoders.push_back(std::make_unique<StreamDecoder>());
  }
  void feed(StreamJoiner& j, size_t input, const std::string& bytes, uint64_t now = 0) {
    decoders[input]->feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    Event ev;
    std::string err;
    while (decoders[input]->next(&ev, &err) == StreamDecoder::Result::kEvent) REQUIRE(j.add(input, ev, now));
    REQUIRE(err.empty());
  }
};

}  // namespace

TEST_CASE("join renumbers clashing channels and says where each came from", "[stream_join]") {
  Built out;
  StreamJoiner j(&out.w, {{"vm-a", false}, {"vm-b", false}});
  REQUIRE(j.begin("redir-mux"));
  Feeder f(2);
  auto a = capture_like(0x111111, 0), b = capture_like(0x222222, 0);
  f.feed(j, 0, a.body);
  f.feed(j, 1, b.body);
  f.feed(j, 0, a.tail);
  f.feed(j, 1, b.tail);
  REQUIRE(j.all_ended());
  REQUIRE(j.finish());

  std::string err;
  auto rows = rows_of(out.bytes, &err);
  REQUIRE(err.empty());
  std::vector<Row> declares;
  for (const auto& r : rows)
    if (r.type == static_cast<uint8_t>(FrameType::kDeclare)) declares.push_back(r);
  REQUIRE(declares.size() == 4);
  // vm-a keeps 1 and 2; vm-b's 1 and 2 clash and get 3 and 4.
  CHECK(declares[0].declared_id == 1);
  CHECK(declares[0].params.at("source") == "vm-a");
  CHECK(declares[0].params.at("input") == "0");
  CHECK(declares[2].declared_id == 3);
  CHECK(declares[2].params.at("source") == "vm-b");
  CHECK(declares[2].params.at("input") == "1");
  // The cursor's display reference follows its display's new id.
  CHECK(declares[1].params.at("display") == "1");
  CHECK(declares[3].params.at("display") == "3");
  CHECK(j.origin(3) == std::nullopt);  // vm-b ended: its channels were closed
  // Each input's END closed its channels; one END at the end.
  int closes = 0, ends = 0;
  for (const auto& r : rows) {
    closes += r.type == static_cast<uint8_t>(FrameType::kClose);
    ends += r.type == static_cast<uint8_t>(FrameType::kEnd);
  }
  CHECK(closes == 4);
  CHECK(ends == 1);
  CHECK(rows.back().type == static_cast<uint8_t>(FrameType::kEnd));
}

TEST_CASE("join keeps the rects' bytes and a file's timestamps", "[stream_join]") {
  const std::string a = capture_like(0x123456, 0).all();
  Built out;
  StreamJoiner j(&out.w, {{"a", false}});
  REQUIRE(j.begin("redir-mux"));
  Feeder f(1);
  f.feed(j, 0, a);
  REQUIRE(j.finish());
  auto in = rows_of(a), joined = rows_of(out.bytes);
  // Channel frames are byte-identical, with the same timestamps.
  std::vector<Row> in_data, out_data;
  for (const auto& r : in)
    if (r.channel != 0) in_data.push_back(r);
  for (const auto& r : joined)
    if (r.channel != 0 && r.type != static_cast<uint8_t>(FrameType::kClose)) out_data.push_back(r);
  REQUIRE(in_data.size() == 3);
  CHECK(in_data == out_data);
}

TEST_CASE("join rebases a live input to its arrival and never goes back in time", "[stream_join]") {
  Built out;
  StreamJoiner j(&out.w, {{"file", false}, {"live", true}});
  REQUIRE(j.begin("redir-mux"));
  // A live input whose own clock says 5 s, arriving at join time 2 s.
  CHECK(j.timestamp(1, 5'000'000, 2'000'000) == 2'000'000);
  CHECK(j.timestamp(1, 5'250'000, 9'000'000) == 2'250'000);  // its own spacing is kept
  // A file keeps its own timestamps, whenever it is read.
  CHECK(j.timestamp(0, 7'000'000, 123) == 7'000'000);
  CHECK(j.timestamp(0, 7'500'000, 9'999'999) == 7'500'000);
  // Once a frame went out at t, nothing later is stamped before t.
  Built out2;
  StreamJoiner j2(&out2.w, {{"file", false}, {"live", true}});
  REQUIRE(j2.begin("redir-mux"));
  Feeder f(2);
  f.feed(j2, 0, capture_like(0x1, 7'000'000).all());  // last frame at 7.003 s
  CHECK(j2.timestamp(1, 0, 1000) == 7'003'000);
}

TEST_CASE("join's END takes the worst reason of its inputs", "[stream_join]") {
  Built out;
  StreamJoiner j(&out.w, {{"a", false}, {"b", false}});
  REQUIRE(j.begin("redir-mux"));
  Feeder f(2);
  f.feed(j, 0, capture_like(0x1, 0).all());
  CHECK_FALSE(j.all_ended());
  f.feed(j, 1, capture_like(0x2, 0, EndReason::kSourceGone).all());
  REQUIRE(j.all_ended());
  CHECK(j.final_reason() == EndReason::kSourceGone);
  REQUIRE(j.finish());
  StreamDecoder dec;
  dec.feed(reinterpret_cast<const uint8_t*>(out.bytes.data()), out.bytes.size());
  Event ev;
  std::string err;
  End end;
  while (dec.next(&ev, &err) == StreamDecoder::Result::kEvent)
    if (ev.type() == FrameType::kEnd) end = std::get<End>(ev.payload);
  REQUIRE(dec.ended());
  CHECK(end.reason == EndReason::kSourceGone);
  CHECK(end.message.find("b: source-gone (vm gone)") != std::string::npos);
}

TEST_CASE("input coming back reaches the source that owns the display", "[stream_join]") {
  Built out;
  StreamJoiner j(&out.w, {{"a", true}, {"b", true}});
  REQUIRE(j.begin("redir-mux"));
  Feeder f(2);
  // Only the declarations: both inputs stay open.
  Built decl;
  decl.w.begin("unit");
  decl.w.declare(1, ChannelKind::kDisplay, "display", {{"width", "4"}, {"height", "2"}});
  f.feed(j, 0, decl.bytes);
  f.feed(j, 1, decl.bytes);
  REQUIRE(j.origin(2) == std::make_pair(size_t{1}, uint16_t{1}));

  Built up_a, up_b;
  UpstreamRouter router(&j, {&up_a.w, &up_b.w});
  // A viewer's input: a keyboard, and a pointer per window (display=N).
  Built viewer;
  viewer.w.begin("x-replay");
  viewer.w.declare(1, ChannelKind::kKeyboard, "keyboard");
  viewer.w.declare(2, ChannelKind::kPointer, "pointer-a", {{"display", "1"}, {"width", "4"}, {"height", "2"}});
  viewer.w.declare(3, ChannelKind::kPointer, "pointer-b", {{"display", "2"}, {"width", "4"}, {"height", "2"}});
  viewer.w.key(1, Key{1, 30, true, 0});           // before any pointer: the first input
  viewer.w.pointer(3, Pointer{1, 2, 1, 0});       // into b's window
  viewer.w.key(1, Key{2, 31, true, 0});           // follows the pointer: b
  viewer.w.pointer(2, Pointer{1, 3, 1, 1});       // into a's window
  viewer.w.key(1, Key{3, 32, true, 0});           // a
  viewer.w.end();
  StreamDecoder dec;
  dec.feed(reinterpret_cast<const uint8_t*>(viewer.bytes.data()), viewer.bytes.size());
  Event ev;
  std::string err;
  while (dec.next(&ev, &err) == StreamDecoder::Result::kEvent) REQUIRE(router.add(ev));
  REQUIRE(err.empty());
  CHECK(router.dropped() == 0);

  auto keys_and_pointers = [](const std::string& bytes, std::vector<std::string>* declares) {
    std::vector<std::string> seen;
    StreamDecoder d;
    d.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    Event e;
    std::string er;
    while (d.next(&e, &er) == StreamDecoder::Result::kEvent) {
      if (e.type() == FrameType::kKey) seen.push_back("key " + std::to_string(std::get<Key>(e.payload).code));
      if (e.type() == FrameType::kPointer) seen.push_back("pointer " + std::to_string(std::get<Pointer>(e.payload).x));
      if (e.type() == FrameType::kDeclare) {
        const auto& dd = std::get<Declare>(e.payload);
        auto p = dd.params.find("display");
        declares->push_back(dd.name + (p == dd.params.end() ? "" : " display=" + p->second));
      }
    }
    REQUIRE(er.empty());
    REQUIRE(d.ended());  // each upstream is a whole stream
    return seen;
  };
  std::vector<std::string> decl_a, decl_b;
  CHECK(keys_and_pointers(up_a.bytes, &decl_a) == std::vector<std::string>{"key 30", "pointer 3", "key 32"});
  CHECK(keys_and_pointers(up_b.bytes, &decl_b) == std::vector<std::string>{"pointer 2", "key 31"});
  // b's pointer names b's own display id again.
  CHECK(decl_b == std::vector<std::string>{"pointer-b display=1", "keyboard"});
  CHECK(decl_a == std::vector<std::string>{"keyboard", "pointer-a display=1"});
  // Acks from b name b's ids; the joined stream names the viewer's.
  CHECK(router.consumer_id(1, 3) == uint16_t{3});
  CHECK(router.consumer_id(1, 1) == uint16_t{1});
  CHECK(router.consumer_id(1, 2) == std::nullopt);
}

TEST_CASE("input for a source that takes none is dropped and counted", "[stream_join]") {
  Built out;
  StreamJoiner j(&out.w, {{"file", false}});
  REQUIRE(j.begin("redir-mux"));
  UpstreamRouter router(&j, {nullptr});
  Built viewer;
  viewer.w.begin("x-replay");
  viewer.w.declare(1, ChannelKind::kKeyboard, "keyboard");
  viewer.w.key(1, Key{1, 30, true, 0});
  viewer.w.end();
  StreamDecoder dec;
  dec.feed(reinterpret_cast<const uint8_t*>(viewer.bytes.data()), viewer.bytes.size());
  Event ev;
  std::string err;
  while (dec.next(&ev, &err) == StreamDecoder::Result::kEvent) REQUIRE(router.add(ev));
  CHECK(router.dropped() == 1);
}

TEST_CASE("split routes match kinds, names, ids and '*', first match wins", "[stream_join]") {
  SplitRoutes routes;
  std::string err;
  REQUIRE(routes.add("display,cursor=screen.vrs", &err));
  REQUIRE(routes.add("sound=exec:redir-dump -", &err));
  REQUIRE(routes.add("9=serial.vrs", &err));
  REQUIRE(routes.add("*=rest.vrs", &err));
  CHECK(routes.routes()[1].target == "exec:redir-dump -");
  auto decl = [](uint16_t id, ChannelKind k, const std::string& name) {
    Declare d;
    d.id = id;
    d.kind = static_cast<uint8_t>(k);
    d.name = name;
    return d;
  };
  CHECK(routes.route(decl(1, ChannelKind::kDisplay, "display")) == 0u);
  CHECK(routes.route(decl(2, ChannelKind::kCursor, "c")) == 0u);
  CHECK(routes.route(decl(3, ChannelKind::kAudio, "sound")) == 1u);
  CHECK(routes.route(decl(9, ChannelKind::kBytes, "serial0")) == 2u);
  CHECK(routes.route(decl(4, ChannelKind::kKeyboard, "kbd")) == 3u);
  SplitRoutes only;
  REQUIRE(only.add("audio=a.vrs", &err));
  CHECK(only.route(decl(1, ChannelKind::kDisplay, "display")) == std::nullopt);
  for (const char* bad : {"display", "=x.vrs", "display=", "display,,cursor=x", "audio=exec:"}) {
    SplitRoutes r;
    err.clear();
    CHECK_FALSE(r.add(bad, &err));
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("stream pump reports damage, truncation and an empty optional input", "[stream_join]") {
  auto pump_all = [](const std::string& bytes, bool allow_empty, Status* st) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    REQUIRE(::write(p[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(p[1]);
    StreamPump pump(p[0], "input");
    pump.allow_empty(allow_empty);
    Event ev;
    int events = 0;
    StreamPump::Result r;
    for (;;) {
      r = pump.next(&ev, st);
      if (r == StreamPump::Result::kEvent) {
        ++events;
        continue;
      }
      if (r != StreamPump::Result::kNeedMore) break;
      REQUIRE(pump.read_some());
    }
    ::close(p[0]);
    return std::make_pair(r, events);
  };
  Status st;
  const std::string good = capture_like(0x1, 0).all();
  CHECK(pump_all(good, false, &st) == std::make_pair(StreamPump::Result::kEnd, 7));
  auto cut = pump_all(good.substr(0, good.size() - 5), false, &st);
  CHECK(cut.first == StreamPump::Result::kError);
  CHECK(st.code() == kExitPeerLost);
  std::string damaged = good;
  damaged[16] = 5;  // the HELLO frame's channel
  CHECK(pump_all(damaged, false, &st).first == StreamPump::Result::kError);
  CHECK(st.code() == kExitMalformed);
  CHECK(pump_all("", true, &st).first == StreamPump::Result::kEnd);
  CHECK(pump_all("", false, &st).first == StreamPump::Result::kError);
}
