// Fuzz target for the GDI record codec and the client-side scene checks:
// everything x-replay and redir-dump run on an untrusted gdi channel. The
// input is tried both as one bare record and as a vredir stream whose GDI
// frames go through decode, describe, JSON, re-encode and the scene.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/gdi_records.hpp"
#include "gdi_scene.hpp"
#include "wire/stream_decoder.hpp"
#include "stream_text.hpp"

using namespace vredir;

namespace {

void one_record(std::span<const uint8_t> payload, gdi::GdiScene& scene) {
  gdi::Record rec;
  std::string err;
  if (!gdi::decode_record(payload, &rec, &err)) {
    if (err.empty() || err.find('\n') != std::string::npos) std::abort();
    return;
  }
  (void)gdi::describe(rec, &scene.state(gdi::target_of(rec)));
  (void)gdi::to_json(rec, nullptr);
  // A record that decoded re-encodes to the same bytes.
  std::string again;
  gdi::encode_record(rec, again);
  if (again.size() != payload.size() || !std::equal(again.begin(), again.end(), payload.begin(),
                                                    [](char a, uint8_t b) { return uint8_t(a) == b; }))
    std::abort();
  (void)scene.apply(rec, &err);
  if (scene.target_pixels() > (4ull << 20) || scene.bitmap_pixels() > (4ull << 20)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gdi::SceneLimits limits;
  limits.max_targets = 64;
  limits.max_target_pixels = 4ull << 20;
  limits.max_bitmaps = 64;
  limits.max_bitmap_pixels = 4ull << 20;
  limits.max_fonts = 64;
  {
    gdi::GdiScene scene(limits);
    one_record({data, size}, scene);
  }
  gdi::GdiScene scene(limits);
  stream::StreamDecoder dec;
  dec.feed(data, size);
  stream::Event ev;
  std::string err;
  for (;;) {
    auto res = dec.next(&ev, &err);
    if (res != stream::StreamDecoder::Result::kEvent) break;
    (void)stream::describe_text(ev);
    (void)stream::describe_json(ev).dump();
    if (ev.what == stream::Event::What::kFrame && ev.type() == stream::FrameType::kGdi)
      one_record(ev.frame.payload, scene);
  }
  return 0;
}
