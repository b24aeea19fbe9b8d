// x-replay: the Linux terminal. Shows a vredir stream's display channels as X
// windows, plays its audio, and writes the local keyboard and pointer as an
// input stream on stdout:  redir-capture vm1 | x-replay | redir-inject vm1
#include <cstdlib>

#include "sys/cli.hpp"
#include "input/keycodes.hpp"
#include "player.hpp"

using namespace vredir;

namespace {

std::string check_speed(std::string& value) {
  char* end = nullptr;
  double x = std::strtod(value.c_str(), &end);
  if (!value.empty() && *end == '\0' && x > 0 && x < 1e6) return "";
  return "'" + value + "' is not a speed above 0 (0.5: half, 2: twice as fast)";
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("x-replay",
            "Show a vredir stream's display channels as X11 windows, play its audio, and write the local\n"
            "keyboard and pointer as an input stream on stdout. Recorded streams (files) play with their\n"
            "original timing; pipes are shown as fast as frames arrive.");
  xreplay::ReplayOptions opt;
  std::string escape = "menu";
  CLI::App& app = tool.app();
  app.add_option("input", opt.input, "Stream file to show ('-' or none: stdin)");
  app.add_option("--x-display", opt.x_display, "X display to open (default: $DISPLAY)");
  app.add_option("--audio-device", opt.audio_device, "ALSA device for the audio channel")->capture_default_str();
  app.add_flag("--no-audio", opt.no_audio, "Do not play audio");
  auto* speed = app.add_option("--speed", opt.speed, "Play a recorded stream at this speed (2: twice as fast)")
                    ->check(CLI::Validator(check_speed, "X>0"))
                    ->capture_default_str();
  app.add_flag("--no-timing", opt.no_timing, "Show a recorded stream as fast as it can be read")->excludes(speed);
  app.add_flag("--hold", opt.hold, "Keep the last frame on screen after the stream ends, until the window is closed");
  app.add_option("--screenshot-on-exit", opt.screenshot,
                 "On exit, write the first display window as X shows it to this PNG file");
  app.add_flag("--no-shm", opt.no_shm, "Do not use MIT-SHM shared memory for drawing");
  double max_memory_mib = double(opt.max_memory >> 20);
  app.add_option("--max-memory", max_memory_mib,
                 "Most MiB the stream may make x-replay hold, all channels together (default 1024); a stream "
                 "that needs more ends with exit 7")
      ->check(CLI::Range(16.0, 1048576.0));
  app.add_option("--clipboard-max", opt.clipboard_max,
                 "Most bytes of text an app's clipboard may hand over, either way (default 1048576; 0: leave the "
                 "apps' clipboards alone)")
      ->check(CLI::Range(size_t(0), size_t(8u << 20)));
  app.add_option("--escape-key", escape, "Key that starts an escape chord (evdev name, e.g. menu, rightctrl, pause)")
      ->capture_default_str();
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  std::optional<uint16_t> key = keys::key_from_name(escape);
  if (!key) return tool.usage_error("unknown key '" + escape + "' for --escape-key (try: menu, rightctrl, pause)");
  opt.escape_key = *key;
  opt.max_memory = static_cast<uint64_t>(max_memory_mib * 1048576.0);
  install_interrupt_handlers();
  return tool.finish(xreplay::replay(opt));
}
