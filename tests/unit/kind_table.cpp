#include <catch2/catch.hpp>

#include "stream_text.hpp"
#include "unit/memory_stream.hpp"
#include "wire/describe.hpp"
#include "wire/kind_table.hpp"
#include "wire/stream_decoder.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

using vredir::stream::testing::Built;

constexpr uint8_t kThingKind = 200;
constexpr uint8_t kThingType = 0x90;

// A made-up kind: input, with one frame type that carries a sequence number
// and text, like TEXT.
KindTable table_with_thing() {
  KindTable t = standard_table();
  t.add(KindEntry{kThingKind, "thing", true, "colour", "a made-up kind", [](ChannelInfo* ch, std::string* err) {
                    if (!ch->params.count("colour")) {
                      *err = "thing channel without a colour";
                      return false;
                    }
                    return true;
                  }});
  t.add(TypeEntry{kThingType, "THING", kThingKind,
                  [](ChannelInfo&, Event* ev, std::string* err) {
                    Text v;
                    if (!decode_text(ev->frame.payload, &v, err)) return false;
                    ev->payload = std::move(v);
                    return true;
                  },
                  [](const Event& ev, Description* d) {
                    const Text& v = std::get<Text>(ev.payload);
                    d->both("seq", v.seq);
                    d->both("said", Quoted{v.utf8});
                  }});
  return t;
}

std::string thing_stream(bool with_colour = true) {
  Built b;
  b.w.begin("unit");
  Declare d;
  d.id = 5;
  d.kind = kThingKind;
  d.name = "things";
  if (with_colour) d.params["colour"] = "blue";
  b.w.declare_raw(d);
  std::string payload;
  encode_text(Text{7, "hi\n"}, payload);
  b.w.frame(5, static_cast<FrameType>(kThingType), payload);
  b.w.end();
  return b.bytes;
}

struct Seen {
  std::vector<std::string> text, json;
  std::vector<bool> input;
  std::vector<Event::What> whats;
  std::string error;
};

Seen decode_with(const KindTable& table, const std::string& bytes) {
  Seen out;
  StreamDecoder dec(table);
  dec.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Event ev;
  for (;;) {
    auto r = dec.next(&ev, &out.error);
    if (r != StreamDecoder::Result::kEvent) break;
    out.text.push_back(describe_text(ev));
    out.json.push_back(describe_json(ev).dump());
    out.input.push_back(ev.channel && ev.channel->is_input());
    out.whats.push_back(ev.what);
  }
  return out;
}

}  // namespace

TEST_CASE("a made-up kind added to a copy of the table is followed everywhere", "[kind_table]") {
  const KindTable table = table_with_thing();
  const std::string bytes = thing_stream();

  SECTION("the table answers for it") {
    REQUIRE(table.kind(kThingKind) != nullptr);
    CHECK(table.kind("thing")->number == kThingKind);
    CHECK(table.is_input(kThingKind));
    CHECK(std::string(table.type(kThingType)->name) == "THING");
    CHECK(standard_table().kind(kThingKind) == nullptr);  // the copy, not the standard table
  }
  SECTION("the decoder decodes its frames, and the descriptions and input check follow") {
    Seen s = decode_with(table, bytes);
    REQUIRE(s.error.empty());
    REQUIRE(s.text.size() == 4);  // HELLO, DECLARE, THING, END
    CHECK(s.text[1].find("DECLARE id=5 kind=thing name=\"things\" colour=blue") != std::string::npos);
    CHECK(s.text[1].find("unknown kind") == std::string::npos);
    CHECK(s.text[2].find("ch=5(things) THING seq=7 said=\"hi\\n\"") != std::string::npos);
    CHECK(s.json[2].find("\"said\":\"hi\\n\"") != std::string::npos);
    CHECK(s.json[2].find("\"type\":\"THING\"") != std::string::npos);
    CHECK(s.json[2].find("\"kind\":\"thing\"") != std::string::npos);
    CHECK(s.whats[2] == Event::What::kFrame);
    CHECK(s.input[1]);
    CHECK(s.input[2]);
  }
  SECTION("its declaration check runs") {
    Seen s = decode_with(table, thing_stream(false));
    CHECK(s.error.find("thing channel without a colour") != std::string::npos);
  }
  SECTION("the standard table reports and skips it, as for any unknown kind") {
    Seen s = decode_with(standard_table(), bytes);
    REQUIRE(s.error.empty());
    REQUIRE(s.whats.size() == 4);
    CHECK(s.whats[2] == Event::What::kUnknownChannel);
    CHECK(s.text[1].find("kind=unknown(200)") != std::string::npos);
    CHECK(s.text[2].find("skipped") != std::string::npos);
    CHECK_FALSE(s.input[2]);
  }
}

TEST_CASE("the standard table lists every kind once, with the input kinds marked", "[kind_table]") {
  const KindTable& t = standard_table();
  std::vector<std::string> input;
  for (const KindEntry& k : t.kinds()) {
    CHECK(t.kind(k.name) == t.kind(k.number));
    if (k.input) input.push_back(k.name);
  }
  CHECK(input == std::vector<std::string>{"keyboard", "pointer", "text"});
  for (const TypeEntry& ty : t.types()) {
    if (ty.kind != 0) CHECK(t.kind(ty.kind) != nullptr);
    CHECK(type_name(static_cast<FrameType>(ty.number)) == std::string(ty.name));
  }
}

TEST_CASE("audio's bytes per sample frame come from its declaration", "[kind_table]") {
  ChannelInfo ch;
  ch.params = {{"rate", "8000"}, {"channels", "3"}, {"format", "s16le"}};
  std::string err;
  REQUIRE(standard_table().kind(static_cast<uint8_t>(ChannelKind::kAudio))->declare(&ch, &err));
  CHECK(ch.format == SampleFormat::kS16le);
  CHECK(audio_frame_bytes(ch) == 6);
  ch.params["format"] = "f32le";
  CHECK_FALSE(standard_table().kind(static_cast<uint8_t>(ChannelKind::kAudio))->declare(&ch, &err));
  CHECK(err.find("f32le") != std::string::npos);
}
