// redir-capture's serial console pieces: the --until-serial wait on console
// output, the --serial-input stream, the flags, and how dumps show a serial
// channel's bytes.
#include <catch2/catch.hpp>

#include "capture_cli.hpp"
#include "serial_channel.hpp"
#include "stream_text.hpp"
#include "wire/stream_writer.hpp"

using namespace vredir;

namespace {

// A stream with a serial channel (1), a bytes channel of another purpose (2)
// and a keyboard (3), each with a frame.
std::string sample_stream(bool end = true) {
  std::string out;
  stream::StreamWriter w([&](std::string_view b) {
    out.append(b);
    return Status::ok();
  });
  w.set_fixed_time(0);
  REQUIRE(w.begin("test"));
  REQUIRE(w.declare(1, stream::ChannelKind::kBytes, "serial", {{"purpose", "serial"}}));
  REQUIRE(w.declare(2, stream::ChannelKind::kBytes, "qmp", {{"purpose", "qmp"}}));
  REQUIRE(w.declare(3, stream::ChannelKind::kKeyboard, "kbd"));
  REQUIRE(w.frame(1, stream::FrameType::kData, "echo hi\n"));
  REQUIRE(w.frame(2, stream::FrameType::kData, "{\"execute\":\"quit\"}"));
  REQUIRE(w.key(3, stream::Key{1, 30, true, 0}));
  REQUIRE(w.frame(1, stream::FrameType::kData, std::string("\x1b[A\r", 4)));
  if (end) REQUIRE(w.end());
  return out;
}

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

TEST_CASE("--until-serial matches a line of console output", "[serial_channel]") {
  std::unique_ptr<SerialWait> w;
  REQUIRE(SerialWait::create("SER-[0-9]+-OK", &w));
  nlohmann::ordered_json report;

  SECTION("across pieces, without the CR LF, the echoed command not matching") {
    CHECK_FALSE(w->feed("/ # echo SER-$((6*7))-OK\r\n", &report));
    CHECK_FALSE(w->feed("SER-4", &report));
    REQUIRE(w->feed("2-OK\r\n/ #", &report));
    CHECK(report["event"] == "serial");
    CHECK(report["regex"] == "SER-[0-9]+-OK");
    CHECK(report["text"] == "SER-42-OK");
  }
  SECTION("the line being written counts (a prompt without a newline)") {
    std::unique_ptr<SerialWait> p;
    REQUIRE(SerialWait::create("login: $", &p));
    REQUIRE(p->feed("\r\nDebian 12 host ttyS0\r\n\r\nhost login: ", &report));
    CHECK(report["line"] == "host login: ");
  }
  SECTION("^ and $ are the line's ends") {
    std::unique_ptr<SerialWait> a;
    REQUIRE(SerialWait::create("^OK$", &a));
    CHECK_FALSE(a->feed("NOT OK\n", &report));
    REQUIRE(a->feed("OK\n", &report));
  }
  SECTION("the failure names the last line, control bytes shown as dots") {
    CHECK_FALSE(w->feed("first\nsecond \x1b[0m\n", &report));
    CHECK(w->failure("the serial console of domain 'vm1'") ==
          "no console output matching 'SER-[0-9]+-OK' from the serial console of domain 'vm1' (last line: "
          "\"second .[0m\")");
  }
  SECTION("a very long line is looked at in its last bytes, with bounded memory") {
    std::string junk(100000, 'x');
    CHECK_FALSE(w->feed(junk, &report));
    REQUIRE(w->feed("SER-1-OK", &report));
    CHECK(report["line"].get<std::string>().size() <= SerialWait::kMaxLine);
  }
}

TEST_CASE("a bad --until-serial expression is a usage error", "[serial_channel]") {
  std::unique_ptr<SerialWait> w;
  Status st = SerialWait::create("(", &w);
  CHECK(st.code() == kExitUsage);
  CHECK(st.message().find("--until-serial") == 0);
}

TEST_CASE("--serial-input takes the DATA frames of serial channels only", "[serial_channel]") {
  const std::string s = sample_stream();
  SerialInput in;
  std::string out;
  SECTION("whole") {
    REQUIRE(in.feed(bytes(s), s.size(), &out));
    CHECK(out == std::string("echo hi\n\x1b[A\r", 12));
    CHECK(in.ended());
  }
  SECTION("a byte at a time") {
    for (size_t i = 0; i < s.size(); ++i) REQUIRE(in.feed(bytes(s) + i, 1, &out));
    CHECK(out == std::string("echo hi\n\x1b[A\r", 12));
    CHECK(in.ended());
  }
  SECTION("no END yet: not ended") {
    const std::string open = sample_stream(false);
    REQUIRE(in.feed(bytes(open), open.size(), &out));
    CHECK_FALSE(in.ended());
  }
  SECTION("a malformed stream is exit 7") {
    std::string bad = s.substr(0, 12) + std::string(16, '\xff');
    Status st = in.feed(bytes(bad), bad.size(), &out);
    CHECK(st.code() == kExitMalformed);
    CHECK(in.ended());
  }
}

TEST_CASE("redir-capture's serial flags", "[serial_channel]") {
  auto resolve = [](CaptureFlags f, CaptureOptions o, CaptureOptions* back = nullptr) {
    ControlRequest q;
    std::string err = resolve_capture_flags(f, &o, &q);
    if (back) *back = o;
    return err;
  };
  CaptureOptions dom;
  dom.domain_ref = "vm1";
  CaptureFlags f;
  f.until_serial = "OK";
  CaptureOptions o;
  REQUIRE(resolve(f, dom, &o).empty());
  CHECK(o.serial);
  CHECK(o.until_serial == "OK");
  CHECK_FALSE(o.stream);
  CHECK_FALSE(o.wait);  // not a screen wait
  CHECK(serial_only(o));

  CaptureOptions out = dom;
  out.output = "x.vrs";
  REQUIRE(resolve(f, out, &o).empty());
  CHECK(o.stream);
  CHECK_FALSE(serial_only(o));

  f.until_text = "x";
  CHECK(resolve(f, dom).find("cannot be combined") != std::string::npos);
  f = CaptureFlags{};
  CaptureOptions in = dom;
  in.serial_input = "fifo";
  CHECK(resolve(f, in) == "--serial-input needs --serial");
  CaptureOptions vnc;
  vnc.vnc_address = "unix:/x";
  vnc.serial = true;
  CHECK(resolve(f, vnc).find("--serial needs a DOMAIN") == 0);
  CaptureOptions snap = dom;
  snap.serial = true;
  snap.snapshot = "a.png";
  CHECK(resolve(f, snap).find("--serial adds a channel to a stream") == 0);
  f.until_serial = "OK";
  CHECK(resolve(f, snap) == "--snapshot does not apply to --until-serial (no screen)");
  f.via = "/run/x.sock";
  CHECK(resolve(f, CaptureOptions{}).find("--via: the serial console") == 0);
}

TEST_CASE("a serial channel's DATA shows as escaped text in dumps", "[serial_channel]") {
  const std::string s = sample_stream();
  stream::StreamDecoder dec;
  dec.feed(bytes(s), s.size());
  std::vector<std::string> text;
  std::vector<nlohmann::json> json;
  stream::Event ev;
  std::string err;
  while (dec.next(&ev, &err) == stream::StreamDecoder::Result::kEvent) {
    if (ev.type() != stream::FrameType::kData) continue;
    text.push_back(stream::describe_text(ev));
    json.push_back(stream::describe_json(ev));
  }
  REQUIRE(text.size() == 3);
  CHECK(text[0].ends_with("ch=1(serial) DATA bytes=8 \"echo hi\\n\""));
  CHECK(text[1].ends_with("ch=2(qmp) DATA bytes=18"));  // another purpose: its length only
  CHECK(text[2].ends_with("DATA bytes=4 \"\\x1b[A\\r\""));
  CHECK(json[0]["text"] == "echo hi\n");
  CHECK_FALSE(json[1].contains("text"));
  CHECK(json[2]["text"] == "\x1b[A\r");
}
