// Fuzz target for the stream framing, decoder and surface codecs: everything
// redir-dump, x-replay and redir-inject run on untrusted stream bytes.
#include <cstdint>
#include <cstddef>

#include "media/display_surface.hpp"
#include "wire/stream_decoder.hpp"
#include "stream_text.hpp"

using namespace vredir::stream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  StreamDecoder dec;
  DisplaySurface surfaces[4];
  // Feed in uneven chunks so framing sees split headers and payloads.
  size_t pos = 0, chunk = 1;
  Event ev;
  std::string err;
  bool failed = false;
  // A DEFLATE piece may inflate to about 1000 times its size, and each frame
  // in it is work: stop after enough events that a timeout means a loop, not
  // a large expansion (16 KiB of input can hold a million empty frames).
  size_t events = 0;
  constexpr size_t kMaxEvents = 50000;
  while (!failed && pos <= size && events < kMaxEvents) {
    size_t n = size - pos < chunk ? size - pos : chunk;
    dec.feed(data + pos, n);
    pos += n;
    chunk = chunk * 3 % 4093 + 1;
    for (;;) {
      auto res = dec.next(&ev, &err);
      if (res == StreamDecoder::Result::kError) {
        failed = true;
        break;
      }
      if (res == StreamDecoder::Result::kNeedMore) break;
      if (++events >= kMaxEvents) break;
      (void)describe_text(ev);
      (void)describe_json(ev).dump();
      DisplaySurface& s = surfaces[ev.frame.header.channel % 4];
      if (auto* sf = std::get_if<Surface>(&ev.payload)) s.resize(sf->width > 512 ? 1 : sf->width, sf->height > 512 ? 1 : sf->height);
      if (auto* r = std::get_if<Rect>(&ev.payload)) (void)s.apply(*r, &err);
    }
    if (n == 0) break;
  }
  (void)dec.framing().truncation();
  return 0;
}
