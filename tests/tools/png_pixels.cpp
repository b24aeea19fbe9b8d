// png-pixels: prints a PNG's size and pixels as RRGGBB hex, one row per line
// (test helper), or with --at X,Y just that pixel.
#include "sys/cli.hpp"
#include "media/image_files.hpp"
#include "sys/stdio_files.hpp"

using namespace vredir;

int main(int argc, char** argv) {
  Tool tool("png-pixels", "Print a PNG's pixels as hex (test helper).");
  std::string path;
  std::vector<uint32_t> at;
  tool.app().add_option("png", path, "PNG file")->required();
  tool.app().add_option("--at", at, "Only the pixel at X,Y")->delimiter(',')->expected(2);
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  Image img;
  if (Status st = read_png(path, &img); !st) return tool.finish(st);
  char buf[16];
  std::string out;
  if (at.size() == 2) {
    if (at[0] >= img.width || at[1] >= img.height) return tool.finish(fail(kExitUsage, "pixel outside the image"));
    std::snprintf(buf, sizeof(buf), "%06x\n", img.pixels[size_t(at[1]) * img.width + at[0]]);
    return tool.finish(write_stdout(buf));
  }
  out = std::to_string(img.width) + "x" + std::to_string(img.height) + "\n";
  for (uint32_t y = 0; y < img.height; ++y) {
    for (uint32_t x = 0; x < img.width; ++x) {
      std::snprintf(buf, sizeof(buf), x ? " %06x" : "%06x", img.pixels[size_t(y) * img.width + x]);
      out += buf;
    }
    out += "\n";
  }
  return tool.finish(write_stdout(out));
}
