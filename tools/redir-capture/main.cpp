// redir-capture: a VM's display, cursor and audio, captured at the hypervisor
// (QEMU's VNC server, reached through libvirt) and written as a vredir stream,
// with the serial console when asked (--serial, --until-serial);
// and the CI modes on the same screen: --snapshot, --text, --needle-new, the
// --until-stable, --until-match and --until-text waits, and a control socket
// that serves them for as long as the capture runs (--control, --via).
#include <spdlog/spdlog.h>

#include "capture_cli.hpp"
#include "capture_session.hpp"
#include "control_client.hpp"
#include "sys/cli.hpp"

int main(int argc, char** argv) {
  vredir::Tool tool("redir-capture", "Capture a VM's display, cursor and audio as a vredir stream");
  vredir::CaptureOptions o;
  vredir::CaptureFlags f;
  CLI::App& app = tool.app();
  app.add_option("DOMAIN", o.domain_ref, "The domain (name, UUID or id); not with --vnc");
  app.add_option("-c,--connect", o.uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  app.add_option("--vnc", o.vnc_address, "Capture a QEMU VNC server directly: unix:PATH or HOST:PORT");
  app.add_option("--display", o.display, "The domain's VNC display to capture (default 0)")
      ->check(vredir::kNonNegative);
  app.add_option("--head", f.head,
                 "The head(s) whose display the stream gets: all (the default) or N (0 is the first); heads "
                 "beyond the first come through the domain's D-Bus display");
  app.add_option("-o,--output", o.output, "Write the stream to FILE ('-': stdout, the default)");
  app.add_flag("--audio", f.audio,
               "Require the audio channel: exit 3 when the domain has no sound device (default: audio when it has one)");
  app.add_flag("--no-audio", f.no_audio, "No audio channel");
  app.add_flag("--no-cursor", f.no_cursor, "No cursor channel");
  app.add_option("--encoding", f.encoding, "Rect encoding in the stream: raw, zlib or auto (default: auto)");
  app.add_option("--compress", o.compress,
                 "Deflate the whole stream at LEVEL 1-9, and zlib rects at it (for networks; default 0: off)")
      ->check(CLI::Range(0, 9));
  app.add_option("--fps", o.fps, "Most display frames per second (default 30); damage is merged between frames")
      ->check(vredir::kPositive);
  app.add_option("--duration", o.duration_s, "Stop after S seconds")->check(vredir::kPositive);
  app.add_option("--frames", o.frames, "Stop after N display frames")->check(vredir::kPositive);
  app.add_option("--snapshot", o.snapshot,
                 "Write the screen to FILE.png: alone, one frame then exit; with a wait, the last screen seen");
  app.add_flag("--text", f.text, "Print the text on the screen (a VGA text screen exactly, else by OCR)");
  app.add_option("--until-stable", f.until_stable, "Exit 0 once the screen has not changed for S seconds")
      ->check(vredir::kNonNegative);
  app.add_option("--psnr", f.psnr, "--until-stable: changes closer than DB decibels do not count (openQA: 47)")
      ->check(CLI::Range(1.0, 200.0));
  app.add_option("--ignore", f.ignore, "--until-stable: leave out area x,y,w,h; --needle-new: an exclude area")
      ->allow_extra_args(false);
  app.add_flag("--no-blink-filter", f.no_blink_filter, "--until-stable: count a blinking text cursor as changes");
  app.add_option("--until-match", f.until_match,
                 "Exit 0 once NEEDLE shows: a PNG, or an os-autoinst needle NAME.json (with NAME.png)");
  app.add_option("--until-text", f.until_text, "Exit 0 once text matching the regular expression REGEX shows");
  app.add_flag("--serial", o.serial,
               "Add the domain's serial console to the stream, both ways (never opened without this flag)");
  app.add_option("--serial-input", o.serial_input,
                 "--serial: write the serial DATA frames of the stream in FILE (a FIFO, '-' stdin) to the console");
  app.add_flag("--no-display", o.no_display,
               "With --serial: a stream of the console alone, without the display (no VNC connection)");
  app.add_option("--until-serial", f.until_serial,
                 "Exit 0 once a line of serial console output matches REGEX (implies --serial)");
  app.add_option("--region", f.region, "--until-match, --until-text, --text: look only in x,y,w,h");
  app.add_option("--threshold", f.threshold,
                 "--until-match with a PNG: least share of matching needle pixels, 0..1 (default 0.99)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--needle-new", o.needle_new, "Write an os-autoinst needle NAME.json and NAME.png of the screen");
  app.add_option("--area", f.areas, "--needle-new: a match area x,y,w,h (repeatable)")->allow_extra_args(false);
  app.add_option("--timeout", o.timeout_s, "Give up after S seconds with exit 5 (waits and --snapshot)")
      ->check(vredir::kPositive);
  app.add_flag("--json", o.json, "Waits: what was found and where, as one JSON line; --text: the words and boxes");
  app.add_option("--control", o.control, "Keep running and answer requests on the unix socket SOCKET");
  app.add_option("--via", f.via, "Send the request to the capture running with --control SOCKET");
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  vredir::install_interrupt_handlers();

  vredir::ControlRequest request;
  if (std::string err = vredir::resolve_capture_flags(f, &o, &request); !err.empty()) return tool.usage_error(err);
  if (!f.via.empty())
    return tool.finish(vredir::run_control_client(f.via, request, o.json, o.timeout_s > 0 ? o.timeout_s : 15));
  return tool.finish(vredir::run_capture(o));
}
