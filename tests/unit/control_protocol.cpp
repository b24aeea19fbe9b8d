// redir-capture's control socket requests (words and JSON) and its flags.
#include "control_protocol.hpp"

#include <catch2/catch.hpp>

#include "capture_cli.hpp"

using namespace vredir;

TEST_CASE("control requests as words", "[control_protocol]") {
  ControlRequest q;
  std::string err;
  REQUIRE(parse_control_request("snapshot /tmp/a b.png", &q, &err));
  CHECK(q.verb == ControlRequest::Verb::kSnapshot);
  CHECK(q.file == "/tmp/a b.png");
  REQUIRE(parse_control_request("text --region 0,16,720,16\r", &q, &err));
  CHECK(q.verb == ControlRequest::Verb::kText);
  CHECK(q.region.y == 16);
  REQUIRE(parse_control_request("wait-text --timeout 2.5 --region 0,0,10,10 OCR-\\d+ (DONE|OK)", &q, &err));
  CHECK(q.wait.kind == WaitSpec::Kind::kText);
  CHECK(q.wait.regex == "OCR-\\d+ (DONE|OK)");
  CHECK(q.wait.timeout_s == 2.5);
  CHECK(q.wait.region.w == 10);
  REQUIRE(parse_control_request("wait-stable --psnr 47 --ignore 0,0,5,5 --ignore 1,1,2,2 --no-blink-filter 2", &q, &err));
  CHECK(q.wait.kind == WaitSpec::Kind::kStable);
  CHECK(q.wait.stable_s == 2);
  CHECK(q.wait.stability.psnr_db == 47);
  CHECK(q.wait.stability.ignore.size() == 2);
  CHECK_FALSE(q.wait.stability.ignore_blink);
  REQUIRE(parse_control_request("wait-match --threshold 0.9 --snapshot /tmp/s.png /n/login.json", &q, &err));
  CHECK(q.wait.needle == "/n/login.json");
  CHECK(q.wait.threshold == 0.9);
  CHECK(q.wait.snapshot == "/tmp/s.png");
  REQUIRE(parse_control_request("needle-new --area 1,2,3,4 --ignore 2,2,1,1 /tmp/n", &q, &err));
  CHECK(q.areas.size() == 1);
  CHECK(q.ignore.size() == 1);

  SECTION("what is refused, with a reason") {
    for (const char* bad : {"", "bogus x", "snapshot", "wait-text --timeout -1 x", "wait-text --timeout x y",
                            "wait-stable nan", "wait-text --psnr 4 x", "text --region 1,2,3 ", "text extra",
                            "wait-match --region 0,0,0,0 n.png", "needle-new /tmp/n", "snapshot --timeout 3 x.png",
                            "wait-text --frobnicate 3 x", "wait-stable --psnr 500 2", "wait-text --region"}) {
      err.clear();
      CHECK_FALSE(parse_control_request(bad, &q, &err));
      CHECK_FALSE(err.empty());
    }
    CHECK_FALSE(parse_control_request(std::string(kMaxControlLine + 1, 'x'), &q, &err));
  }
}

TEST_CASE("control requests as JSON, as --via sends them", "[control_protocol]") {
  ControlRequest q, back;
  std::string err;
  q.verb = ControlRequest::Verb::kWait;
  q.wait.kind = WaitSpec::Kind::kText;
  q.wait.regex = "a b \"c\"";
  q.wait.timeout_s = 3;
  q.wait.snapshot = "/tmp/x y.png";
  q.region = ScreenRegion{1, 2, 3, 4};
  REQUIRE(parse_control_request(control_request_json(q), &back, &err));
  CHECK(back.wait.regex == "a b \"c\"");
  CHECK(back.wait.timeout_s == 3);
  CHECK(back.wait.snapshot == "/tmp/x y.png");
  CHECK(back.wait.region.h == 4);
  q = ControlRequest{};
  q.verb = ControlRequest::Verb::kWait;
  q.wait.kind = WaitSpec::Kind::kStable;
  q.wait.stable_s = 1.5;
  q.wait.stability.psnr_db = 40;
  q.wait.stability.ignore = {ScreenRegion{0, 0, 9, 9}};
  REQUIRE(parse_control_request(control_request_json(q), &back, &err));
  CHECK(back.wait.stable_s == 1.5);
  CHECK(back.wait.stability.psnr_db == 40);
  CHECK(back.wait.stability.ignore.size() == 1);
  CHECK_FALSE(parse_control_request("{\"request\":\"text\",\"region\":[1]}", &back, &err));
  CHECK_FALSE(parse_control_request("{\"request\":7}", &back, &err));
  CHECK_FALSE(parse_control_request("{not json", &back, &err));
}

TEST_CASE("redir-capture's flags", "[control_protocol]") {
  auto resolve = [](CaptureFlags f, CaptureOptions o) {
    ControlRequest q;
    return resolve_capture_flags(f, &o, &q);
  };
  CaptureOptions dom;
  dom.domain_ref = "vm1";
  CaptureFlags f;
  CHECK(resolve(f, dom).empty());
  CHECK(resolve(f, CaptureOptions{}) == "missing DOMAIN (or --vnc ADDRESS, or --via SOCKET)");
  f.until_text = "x";
  f.until_stable = 2;
  CHECK(resolve(f, dom).find("cannot be combined") != std::string::npos);
  f = CaptureFlags{};
  f.until_match = "n.json";
  f.threshold = 0.5;
  CHECK(resolve(f, dom).find("own match percentages") != std::string::npos);
  f = CaptureFlags{};
  f.psnr = 47;
  CHECK(resolve(f, dom) == "--psnr and --no-blink-filter only apply to --until-stable");
  f = CaptureFlags{};
  f.areas = {"1,2,3,4"};
  CHECK(resolve(f, dom) == "--area only applies to --needle-new");
  CaptureOptions nn = dom;
  nn.needle_new = "n";
  CHECK(resolve(CaptureFlags{}, nn) == "--needle-new needs at least one --area X,Y,W,H");
  f = CaptureFlags{};
  f.via = "/tmp/s";
  CHECK(resolve(f, dom) == "--via talks to a running capture: no DOMAIN or --vnc");
  CHECK(resolve(f, CaptureOptions{}).find("--via needs a request") != std::string::npos);
  CaptureOptions ctl = dom;
  ctl.control = "/tmp/s";
  CHECK(resolve(CaptureFlags{}, ctl).empty());
  ctl.snapshot = "x.png";
  CHECK(resolve(CaptureFlags{}, ctl).find("--via") != std::string::npos);

  SECTION("--via builds the request the flags describe") {
    CaptureFlags g;
    g.via = "/tmp/s";
    g.until_text = "OK";
    g.region = "0,0,100,50";
    CaptureOptions o;
    o.timeout_s = 9;
    ControlRequest q;
    REQUIRE(resolve_capture_flags(g, &o, &q).empty());
    CHECK(q.verb == ControlRequest::Verb::kWait);
    CHECK(q.wait.regex == "OK");
    CHECK(q.wait.timeout_s == 9);
    CHECK(q.wait.region.h == 50);
  }
}

// Audio follows the domain's sound device; --audio turns a missing one into
// an error at run time, --no-audio leaves the channel out.
TEST_CASE("redir-capture's audio flags", "[control_protocol]") {
  auto resolve = [](CaptureFlags f, CaptureOptions* o) {
    ControlRequest q;
    return resolve_capture_flags(f, o, &q);
  };
  CaptureFlags f;
  CaptureOptions o;
  o.domain_ref = "vm1";
  REQUIRE(resolve(f, &o).empty());
  CHECK(o.audio);
  CHECK_FALSE(o.audio_required);
  f.audio = true;
  o = CaptureOptions{};
  o.domain_ref = "vm1";
  REQUIRE(resolve(f, &o).empty());
  CHECK(o.audio);
  CHECK(o.audio_required);
  f.no_audio = true;
  CHECK(resolve(f, &o) == "--audio and --no-audio cannot be combined");
  f = CaptureFlags{};
  f.no_audio = true;
  o = CaptureOptions{};
  o.domain_ref = "vm1";
  REQUIRE(resolve(f, &o).empty());
  CHECK_FALSE(o.audio);
  f = CaptureFlags{};
  f.audio = true;
  f.via = "/tmp/x.sock";
  f.text = true;
  o = CaptureOptions{};
  CHECK(resolve(f, &o) == "--via sends one request: no -o, --control or --audio");
}
