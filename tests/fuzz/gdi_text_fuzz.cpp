// Fuzz target for the text model redir-dump --text builds from GDI records
// (an application's drawing commands, untrusted): the input is a series of
// records, each a 16-bit little-endian length then the record.
#include <cstddef>
#include <cstdint>
#include <regex>
#include <span>

#include "gdi_text.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  GdiTextModel model;
  size_t off = 0;
  while (off + 2 <= size) {
    size_t len = size_t(data[off]) | size_t(data[off + 1]) << 8;
    off += 2;
    if (len > size - off) break;
    gdi::Record rec;
    if (gdi::decode_record(std::span<const uint8_t>(data + off, len), &rec, nullptr)) model.add(rec);
    off += len;
  }
  ScreenText t = model.text();
  (void)model.text(ScreenRegion{0, 0, 100, 100});
  (void)t.text();
  return 0;
}
