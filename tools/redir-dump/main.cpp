// redir-dump: validate and inspect any vredir stream. The run is dump_run.cpp.
#include <spdlog/spdlog.h>

#include "dump_run.hpp"
#include "sys/cli.hpp"

using namespace vredir;

int main(int argc, char** argv) {
  Tool tool("redir-dump",
            "Validate and inspect a vredir stream: frames, statistics, extracted PNG frames, video and WAV audio,\n"
            "the text on its screens.");
  DumpOptions opt;
  std::string region;
  CLI::App& app = tool.app();
  app.add_option("input", opt.input, "Stream file to read ('-' or none: stdin)");
  app.add_flag("--json", opt.json, "JSON lines instead of text (frames, --stats, --text, --until-text)");
  app.add_flag("--stats", opt.stats, "Per-channel frames, bytes, rate and time span instead of frames");
  app.add_flag("--check", opt.check, "Only validate: print nothing, report through the exit status");
  app.add_option("--channel", opt.channels, "Only show this channel (name or id; repeatable)")->allow_extra_args(false);
  auto* x = app.add_option("--extract", opt.extract,
                           "Extract a display channel to PNG frames or a video, a cursor channel to PNG shapes or an "
                           "audio channel to WAV (name or id)");
  app.add_option("--to", opt.to,
                 "Directory for --extract; for a display channel also a video file: NAME.webm (VP9) or NAME.mp4 "
                 "(H.264)")
      ->needs(x);
  x->needs(app.get_option("--to"));
  app.add_flag("--text", opt.text,
               "Print the text on the stream's screens at its end (display: VGA font or OCR; gdi: drawing commands)");
  app.add_option("--until-text", opt.until_text,
                 "Exit 0 once text matching REGEX shows on a screen of the stream; 5 when the stream ends without it");
  app.add_option("--region", region, "--text, --until-text: look only in x,y,w,h");
  app.add_option("--timeout", opt.timeout_s, "--until-text: give up after S seconds with exit 5")
      ->check(vredir::kPositive);
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  if (!region.empty() && !parse_region(region, &opt.region)) return tool.usage_error("--region needs x,y,w,h");
  const bool text = opt.text || !opt.until_text.empty();
  if (opt.text && !opt.until_text.empty()) return tool.usage_error("--text and --until-text cannot be combined");
  if (!region.empty() && !text) return tool.usage_error("--region only applies to --text and --until-text");
  if (opt.timeout_s > 0 && opt.until_text.empty()) return tool.usage_error("--timeout only applies to --until-text");
  if (text && (opt.stats || opt.check || !opt.extract.empty()))
    return tool.usage_error("--text and --until-text cannot be combined with --stats, --check or --extract");
  install_interrupt_handlers();
  return tool.finish(run_dump(opt));
}
