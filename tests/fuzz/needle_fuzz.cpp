// Fuzz target for os-autoinst needle JSON (redir-capture --until-match
// NAME.json): a needle that parses is matched against a small screen, with
// its areas clipped to the image as load_needle() demands.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "media/needle.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Needle n;
  std::string err;
  if (!parse_needle_json(std::string_view(reinterpret_cast<const char*>(data), size), &n, &err)) return 0;
  n.image.width = 64;
  n.image.height = 48;
  n.image.pixels.assign(64 * 48, 0);
  for (size_t i = 0; i < n.image.pixels.size(); ++i) n.image.pixels[i] = uint32_t(i * 2654435761u) & 0xFFFFFF;
  for (const NeedleArea& a : n.areas)
    if (uint64_t(a.box.x) + a.box.w > n.image.width || uint64_t(a.box.y) + a.box.h > n.image.height) return 0;
  NeedleSearch search(n);
  (void)search.find(n.image.pixels.data(), n.image.width, n.image.height);
  (void)search.find(n.image.pixels.data(), 32, 24);  // a smaller screen
  return 0;
}
