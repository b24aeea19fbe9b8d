// redir-capture: a VM's display, cursor and audio, captured at the hypervisor
// (QEMU's VNC server, reached through libvirt) and written as a vredir stream;
// and the CI modes on the same screen: --snapshot, --until-stable,
// --until-match.
#include <spdlog/spdlog.h>

#include "capture_session.hpp"
#include "sys/cli.hpp"

int main(int argc, char** argv) {
  vredir::Tool tool("redir-capture", "Capture a VM's display, cursor and audio as a vredir stream");
  vredir::CaptureOptions o;
  std::string encoding = "auto", region;
  bool no_audio = false, no_cursor = false;
  CLI::App& app = tool.app();
  app.add_option("DOMAIN", o.domain_ref, "The domain (name, UUID or id); not with --vnc");
  app.add_option("-c,--connect", o.uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  app.add_option("--vnc", o.vnc_address, "Capture a QEMU VNC server directly: unix:PATH or HOST:PORT");
  app.add_option("--display", o.display, "The domain's VNC display to capture (default 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-o,--output", o.output, "Write the stream to FILE ('-': stdout, the default)");
  app.add_flag("--no-audio", no_audio, "No audio channel");
  app.add_flag("--no-cursor", no_cursor, "No cursor channel");
  app.add_option("--encoding", encoding, "Rect encoding in the stream: raw, zlib or auto (default: auto)");
  app.add_option("--compress", o.compress,
                 "Deflate the whole stream at LEVEL 1-9, and zlib rects at it (for networks; default 0: off)")
      ->check(CLI::Range(0, 9));
  app.add_option("--fps", o.fps, "Most display frames per second (default 30); damage is merged between frames")
      ->check(CLI::PositiveNumber);
  app.add_option("--duration", o.duration_s, "Stop after S seconds")->check(CLI::PositiveNumber);
  app.add_option("--frames", o.frames, "Stop after N display frames")->check(CLI::PositiveNumber);
  app.add_option("--snapshot", o.snapshot,
                 "Write the screen to FILE.png: alone, one frame then exit; with a wait, the last screen seen");
  app.add_option("--until-stable", o.until_stable_s, "Exit 0 once the screen has not changed for S seconds")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--until-match", o.until_match, "Exit 0 once the needle image NEEDLE.png shows on the screen");
  app.add_option("--region", region, "--until-match: search only x,y,w,h (default: the whole screen)");
  app.add_option("--threshold", o.threshold,
                 "--until-match: least share of matching needle pixels, 0..1 (default 0.99)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--timeout", o.timeout_s, "Give up after S seconds with exit 5 (waits and --snapshot)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", o.json, "Waits: report the result as one JSON line on stdout");
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  vredir::install_interrupt_handlers();

  if (o.domain_ref.empty() == o.vnc_address.empty())
    return tool.usage_error(o.vnc_address.empty() ? "missing DOMAIN (or --vnc ADDRESS)"
                                                  : "give either DOMAIN or --vnc, not both");
  if (encoding == "raw")
    o.encoding = vredir::StreamRectEncoding::kRaw;
  else if (encoding == "zlib")
    o.encoding = vredir::StreamRectEncoding::kZlib;
  else if (encoding != "auto")
    return tool.usage_error("--encoding must be raw, zlib or auto");
  if (!region.empty() && !vredir::parse_region(region, &o.region))
    return tool.usage_error("--region needs x,y,w,h (for example 0,0,640,480)");
  if (!region.empty() && o.until_match.empty()) return tool.usage_error("--region only applies to --until-match");
  if (o.until_stable_s >= 0 && !o.until_match.empty())
    return tool.usage_error("--until-stable and --until-match cannot be combined");
  const bool waiting = o.until_stable_s >= 0 || !o.until_match.empty();
  if (o.json && !waiting) return tool.usage_error("--json only applies to --until-stable and --until-match");
  if (o.vnc_address.empty() == false && o.display != 0) return tool.usage_error("--display needs a DOMAIN");
  o.audio = !no_audio;
  o.cursor = !no_cursor;
  // The CI modes write a stream only when asked to with -o.
  o.stream = (!waiting && o.snapshot.empty()) || !o.output.empty();
  if (o.json && o.stream && (o.output.empty() || o.output == "-"))
    return tool.usage_error("--json and a stream on stdout cannot be combined (use -o FILE)");
  return tool.finish(vredir::run_capture(o));
}
