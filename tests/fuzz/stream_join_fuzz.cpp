// Fuzz target for redir-mux join / split's stream composition: two input
// streams joined (StreamJoiner), a viewer's input routed back to them
// (UpstreamRouter), and both directions recorded (StreamRecorder). Input
// layout: u16 length of input A, u16 length of input B (little-endian), A,
// B, then the viewer's stream. Besides never crashing, the joined stream must
// always decode cleanly: composition never turns valid input into damage.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "wire/stream_decoder.hpp"
#include "stream_join.hpp"
#include "stream_recorder.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

struct Sink {
  std::string bytes;
  StreamWriter w{[this](std::string_view d) {
    bytes.append(d);
    return Status::ok();
  }};
};

bool decodes(const std::string& bytes) {
  StreamDecoder dec;
  dec.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Event ev;
  std::string err;
  StreamDecoder::Result r;
  while ((r = dec.next(&ev, &err)) == StreamDecoder::Result::kEvent) {
  }
  return r != StreamDecoder::Result::kError;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  size_t la = data[0] | (data[1] << 8), lb = data[2] | (data[3] << 8);
  data += 4;
  size -= 4;
  la = la < size ? la : size;
  lb = lb < size - la ? lb : size - la;
  const uint8_t* parts[3] = {data, data + la, data + la + lb};
  const size_t sizes[3] = {la, lb, size - la - lb};

  Sink joined, up_a, up_b;
  StreamJoiner joiner(&joined.w, {{"a", false}, {"b", true}});
  UpstreamRouter router(&joiner, {&up_a.w, &up_b.w});
  joiner.set_ack_map([&router](size_t input, uint16_t ch) { return router.consumer_id(input, ch); });
  StreamRecorder recorder;
  if (!recorder.open("/dev/null")) return 0;
  if (!joiner.begin("fuzz")) return 0;

  StreamDecoder dec[3];
  bool done[3] = {false, false, false};
  Event ev;
  std::string err;
  // Interleave the three streams frame by frame.
  for (size_t i = 0; i < 3; ++i) dec[i].feed(parts[i], sizes[i]);
  for (int round = 0; !(done[0] && done[1] && done[2]); ++round) {
    for (size_t i = 0; i < 3; ++i) {
      if (done[i]) continue;
      auto r = dec[i].next(&ev, &err);
      if (r != StreamDecoder::Result::kEvent) {
        done[i] = true;
        if (i < 2) joiner.abandon(i, "input ended");
        continue;
      }
      if (i < 2) {
        (void)joiner.add(i, ev, static_cast<uint64_t>(round) * 1000);
        if (i == 0) (void)recorder.downstream(ev.frame);
      } else {
        (void)recorder.upstream(ev.frame);
        (void)router.add(ev);
      }
    }
  }
  (void)router.finish();
  if (joiner.all_ended()) (void)joiner.finish();
  (void)recorder.close();
  if (!decodes(joined.bytes) || !decodes(up_a.bytes) || !decodes(up_b.bytes)) std::abort();
  return 0;
}
