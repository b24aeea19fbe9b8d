// wav-tone: prints a 16-bit PCM WAV file's format and its dominant frequency
// (Goertzel over 10 Hz steps), for audio tests.
#include <cmath>
#include <fstream>
#include <iterator>

#include "wire/byte_reader.hpp"
#include "sys/cli.hpp"
#include "sys/stdio_files.hpp"

using namespace vredir;

int main(int argc, char** argv) {
  Tool tool("wav-tone", "Print a WAV file's format and dominant frequency (test helper).");
  std::string path;
  tool.app().add_option("wav", path, "WAV file")->required();
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  std::ifstream f(path, std::ios::binary);
  if (!f) return tool.finish(fail(kExitNotFound, "cannot open '" + path + "'"));
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ByteReader r(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  std::string_view riff = r.str(4);
  r.u32le();
  std::string_view wave = r.str(4);
  if (!r.ok() || riff != "RIFF" || wave != "WAVE") return tool.finish(fail(kExitMalformed, "not a WAV file"));
  uint16_t channels = 0, bits = 0;
  uint32_t rate = 0;
  std::span<const uint8_t> pcm;
  while (r.ok() && r.remaining() >= 8) {
    std::string_view id = r.str(4);
    uint32_t len = r.u32le();
    ByteReader chunk(r.bytes(len));
    if (id == "fmt ") {
      chunk.u16le();
      channels = chunk.u16le();
      rate = chunk.u32le();
      chunk.u32le();
      chunk.u16le();
      bits = chunk.u16le();
    } else if (id == "data") {
      pcm = chunk.rest();
    }
  }
  if (!r.ok() || bits != 16 || channels == 0 || rate == 0)
    return tool.finish(fail(kExitMalformed, "unsupported WAV layout"));
  size_t frames = pcm.size() / (2u * channels);
  std::vector<double> mono(frames);
  ByteReader s(pcm);
  for (size_t i = 0; i < frames; ++i) {
    double sum = 0;
    for (uint16_t c = 0; c < channels; ++c) sum += static_cast<int16_t>(s.u16le());
    mono[i] = sum / channels;
  }
  double best = 0, best_hz = 0;
  for (double hz = 20; hz < rate / 2.0; hz += 10) {
    double coeff = 2 * std::cos(2 * M_PI * hz / rate), s1 = 0, s2 = 0;
    for (double x : mono) {
      double s0 = x + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > best) {
      best = power;
      best_hz = hz;
    }
  }
  std::string out = "rate=" + std::to_string(rate) + " channels=" + std::to_string(channels) +
                    " samples=" + std::to_string(frames) + " peak_hz=" + std::to_string(static_cast<int>(best_hz)) + "\n";
  return tool.finish(write_stdout(out));
}
