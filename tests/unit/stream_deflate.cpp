// DEFLATE pieces: the writer's compression and the framing that unpacks it.
#include <zlib.h>

#include <catch2/catch.hpp>

#include "wire/stream_decoder.hpp"
#include "stream_text.hpp"
#include "wire/stream_writer.hpp"
#include "unit/memory_stream.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

using vredir::stream::testing::Built;

// Every event as redir-dump's text shows it, or the error.
struct Lines {
  std::vector<std::string> lines;
  std::string error;
};

Lines describe_all(const std::string& bytes, size_t chunk) {
  Lines out;
  StreamDecoder dec;
  Event ev;
  for (size_t pos = 0; pos < bytes.size(); pos += chunk) {
    size_t n = std::min(chunk, bytes.size() - pos);
    dec.feed(reinterpret_cast<const uint8_t*>(bytes.data()) + pos, n);
    for (;;) {
      auto r = dec.next(&ev, &out.error);
      if (r == StreamDecoder::Result::kError) return out;
      if (r == StreamDecoder::Result::kNeedMore) break;
      std::string line = describe_text(ev);
      // Offsets differ (a packed frame has its piece's): compare the rest.
      out.lines.push_back(line.substr(line.find(' ')));
    }
  }
  if (!dec.ended()) out.error = "no END";
  return out;
}

void sample(Built& b, int level, bool flush_each) {
  b.w.begin("unit");
  b.w.set_compression(level);
  b.w.declare(1, ChannelKind::kGdi, "gdi");
  b.w.declare(2, ChannelKind::kControl, "control");
  for (int i = 0; i < 200; ++i) {
    std::string rec;
    gdi::encode_record(gdi::Flush{uint32_t(1 + i % 3)}, rec);
    b.w.frame(1, FrameType::kGdi, rec);
    b.w.control(2, Control{"PING", {{"n", std::to_string(i % 5)}}});
    if (flush_each && i % 10 == 9) REQUIRE(b.w.flush());
  }
  b.w.end(EndReason::kNormal, "done");
}

// A DEFLATE frame holding the given raw deflate bytes.
std::string piece_frame(const std::string& deflated) {
  std::string f;
  put_u32le(f, uint32_t(deflated.size()));
  put_u16le(f, 0);
  put_u8(f, uint8_t(FrameType::kDeflate));
  put_u8(f, 0);
  put_u64le(f, 0);
  return f + deflated;
}

std::string raw_deflate(const std::string& in, int flush = Z_SYNC_FLUSH) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(in.size() + in.size() / 100 + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  deflate(&z, flush);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

// A plain stream's header and HELLO, then the given bytes.
std::string after_hello(const std::string& rest) {
  Built b;
  b.w.begin("unit");
  return b.bytes + rest;
}

}  // namespace

TEST_CASE("a compressed stream reads as the plain one, in any chunking", "[stream_deflate]") {
  Built plain, packed, pieces;
  sample(plain, 0, false);
  sample(packed, 1, false);
  sample(pieces, 1, true);
  Lines want = describe_all(plain.bytes, 4096);
  REQUIRE(want.error.empty());
  REQUIRE(want.lines.size() == 404);
  CHECK(packed.bytes.size() * 5 < plain.bytes.size());
  CHECK(pieces.bytes.size() < plain.bytes.size());
  for (size_t chunk : {1, 5, 64, 4096}) {
    INFO("chunk " << chunk);
    Lines one = describe_all(packed.bytes, chunk);
    CHECK(one.error.empty());
    CHECK(one.lines == want.lines);
    Lines many = describe_all(pieces.bytes, chunk);
    CHECK(many.error.empty());
    CHECK(many.lines == want.lines);
  }
}

TEST_CASE("the framing counts what DEFLATE pieces carried", "[stream_deflate]") {
  Built b;
  sample(b, 1, true);
  FrameReader r;
  r.feed(reinterpret_cast<const uint8_t*>(b.bytes.data()), b.bytes.size());
  Frame f;
  std::string err;
  size_t frames = 0;
  while (r.next(&f, &err) == FrameReader::Result::kFrame) {
    CHECK_FALSE((f.header.channel == 0 && f.header.type == uint8_t(FrameType::kDeflate)));
    ++frames;
  }
  CHECK(err.empty());
  CHECK(frames == 404);  // HELLO, 2 DECLARE, 400 records, END
  CHECK(r.deflated_bytes() > 0);
  CHECK(r.inflated_bytes() > r.deflated_bytes());
  CHECK(r.consumed() == b.bytes.size());
}

TEST_CASE("bad DEFLATE pieces are malformed, never accepted", "[stream_deflate]") {
  std::string end;
  {
    Built e;
    e.w.end();
    end = e.bytes;
  }
  SECTION("data that does not inflate") {
    Lines l = describe_all(after_hello(piece_frame(std::string(40, '\xff')) + end), 4096);
    CHECK(l.error.find("bad deflate data") != std::string::npos);
  }
  SECTION("a frame cut at the end of a piece") {
    Built inner;
    inner.w.declare(1, ChannelKind::kControl, "control");
    std::string frames = inner.bytes;
    frames.resize(frames.size() - 3);
    Lines l = describe_all(after_hello(piece_frame(raw_deflate(frames)) + end), 4096);
    CHECK(l.error.find("cut at the end of a piece") != std::string::npos);
  }
  SECTION("a DEFLATE inside a piece") {
    std::string nested = piece_frame(raw_deflate(""));
    Lines l = describe_all(after_hello(piece_frame(raw_deflate(nested)) + end), 4096);
    CHECK(l.error.find("DEFLATE inside") != std::string::npos);
  }
  SECTION("a piece that inflates past the limit") {
    // One declared frame header of 16 MiB, all zeros: deflates to ~16 KiB.
    std::string big(size_t(kMaxInflatedPiece) + 1, '\0');
    Lines l = describe_all(after_hello(piece_frame(raw_deflate(big)) + end), 1 << 16);
    CHECK(l.error.find("inflates to more than") != std::string::npos);
  }
  SECTION("an empty piece and a finished deflate stream are fine") {
    Built inner;
    inner.w.declare(1, ChannelKind::kControl, "control");
    std::string bytes = piece_frame(raw_deflate("")) + piece_frame(raw_deflate(inner.bytes, Z_FINISH)) +
                        piece_frame(raw_deflate(inner.bytes.substr(0, 0)));
    Lines l = describe_all(after_hello(bytes) + end, 3);
    CHECK(l.error.empty());
    CHECK(l.lines.size() == 3);  // HELLO, DECLARE, END
  }
}

TEST_CASE("frames too big for a piece go out plainly, in order", "[stream_deflate]") {
  Built b;
  b.w.begin("unit");
  b.w.set_compression(1);
  b.w.declare(1, ChannelKind::kBytes, "tty");
  std::string big(kMaxPayload - 8, 'x');
  b.w.frame(1, FrameType::kData, "first");
  b.w.frame(1, FrameType::kData, big);
  b.w.frame(1, FrameType::kData, "last");
  b.w.end();
  Lines l = describe_all(b.bytes, 1 << 20);
  CHECK(l.error.empty());
  REQUIRE(l.lines.size() == 6);
  CHECK(l.lines[2].find("bytes=5") != std::string::npos);
  CHECK(l.lines[3].find("bytes=" + std::to_string(big.size())) != std::string::npos);
  CHECK(l.lines[4].find("bytes=4") != std::string::npos);
}

TEST_CASE("a plain frame of a compressing writer goes out at once, after what its piece held", "[stream_deflate]") {
  Built b;
  b.w.begin("unit");
  b.w.set_compression(6);
  b.w.declare(1, ChannelKind::kBytes, "usbredir", {{"purpose", "usbredir"}});
  b.w.declare(2, ChannelKind::kBytes, "tty");
  b.w.frame(2, FrameType::kData, std::string(300, 'a'));  // waits in the piece
  const size_t before = b.bytes.size();
  REQUIRE(b.w.frame_plain(1, FrameType::kData, "packet"));
  // Out now, no flush needed: the piece (deflated) and then the frame itself.
  REQUIRE(b.bytes.size() > before);
  CHECK(b.bytes.substr(b.bytes.size() - 6) == "packet");
  b.w.frame(2, FrameType::kData, "tail");
  b.w.end();
  Lines l = describe_all(b.bytes, 7);
  CHECK(l.error.empty());
  REQUIRE(l.lines.size() == 7);
  CHECK(l.lines[3].find("bytes=300") != std::string::npos);
  CHECK(l.lines[4].find("bytes=6") != std::string::npos);
  CHECK(l.lines[5].find("bytes=4") != std::string::npos);
}

TEST_CASE("a restarted writer gives a new reader a whole stream of its own", "[stream_deflate]") {
  // A resumed session: the first reader had a deflated stream that stops
  // mid-way; the next one reads only what follows restart().
  Built b;
  sample(b, 6, true);
  const std::string whole = b.bytes;
  b.bytes.clear();
  b.w.begin("unit");
  b.w.set_compression(6);
  b.w.declare(1, ChannelKind::kGdi, "gdi");
  b.w.frame(1, FrameType::kData, "cut off");  // waits in the piece, never ended
  b.bytes.clear();
  b.w.restart();
  sample(b, 6, true);
  Lines first = describe_all(whole, 1 << 20), second = describe_all(b.bytes, 7);
  CHECK(second.error.empty());
  CHECK(second.lines == first.lines);
}
