// redir-dump: validate and inspect any vredir stream.
#include <spdlog/spdlog.h>

#include "sys/cli.hpp"
#include "extract.hpp"
#include "sys/stdio_files.hpp"
#include "wire/stream_decoder.hpp"
#include "stream_text.hpp"

using namespace vredir;

namespace {

struct Options {
  std::string input = "-";
  bool json = false;
  bool stats = false;
  bool check = false;
  std::vector<std::string> channels;
  std::string extract;
  std::string to;
};

bool channel_matches(const std::vector<std::string>& wanted, const stream::Event& ev) {
  if (wanted.empty()) return true;
  uint16_t id = ev.frame.header.channel;
  // Declarations belong to the channel they declare.
  if (ev.type() == stream::FrameType::kDeclare && ev.channel) id = ev.channel->id;
  for (const auto& w : wanted) {
    if (w == std::to_string(id)) return true;
    if (ev.channel && ev.channel->id == id && w == ev.channel->name) return true;
  }
  return false;
}

Status run(const Options& opt) {
  InputFile in;
  if (Status st = in.open(opt.input); !st) return st;
  stream::StreamReader reader(in.fd(), opt.input == "-" ? "stdin" : opt.input);
  stream::StreamStats stats;
  Extractor extractor;
  if (!opt.extract.empty())
    if (Status st = extractor.open(opt.extract, opt.to); !st) return st;
  const bool per_frame = !opt.stats && !opt.check && opt.extract.empty();

  stream::Event ev;
  Status result = Status::ok();
  uint64_t skipped = 0;
  for (;;) {
    Status st;
    auto res = reader.next(&ev, &st);
    if (res == stream::StreamReader::Result::kEnd) break;
    if (res == stream::StreamReader::Result::kError) {
      result = st;
      break;
    }
    if (ev.what != stream::Event::What::kFrame) {
      ++skipped;
      spdlog::debug("skipped {}", stream::describe_text(ev));
    }
    if (!opt.extract.empty())
      if (Status xs = extractor.add(ev); !xs) {
        result = xs;
        break;
      }
    if (!channel_matches(opt.channels, ev)) continue;
    stats.add(ev);
    if (per_frame) {
      std::string line = opt.json ? stream::describe_json(ev).dump() : stream::describe_text(ev);
      line += '\n';
      if (Status ws = write_stdout(line); !ws) return ws;
    }
  }
  if (opt.stats) {
    std::string text;
    if (opt.json)
      for (const auto& row : stats.json()) text += row.dump() + "\n";
    else
      text = stats.table();
    if (Status ws = write_stdout(text); !ws) return ws;
  }
  if (!opt.extract.empty()) {
    Status xs = extractor.finish();
    if (result && !xs) result = xs;
    if (xs) spdlog::info("extracted {} to {}", extractor.summary(), opt.to);
  }
  if (skipped) spdlog::info("{} frame(s) of unknown type, kind or encoding were skipped", skipped);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("redir-dump", "Validate and inspect a vredir stream: frames, statistics, extracted PNG frames and WAV audio.");
  Options opt;
  CLI::App& app = tool.app();
  app.add_option("input", opt.input, "Stream file to read ('-' or none: stdin)");
  app.add_flag("--json", opt.json, "JSON lines instead of text (frames and --stats)");
  app.add_flag("--stats", opt.stats, "Per-channel frames, bytes, rate and time span instead of frames");
  app.add_flag("--check", opt.check, "Only validate: print nothing, report through the exit status");
  app.add_option("--channel", opt.channels, "Only show this channel (name or id; repeatable)")->allow_extra_args(false);
  auto* x = app.add_option("--extract", opt.extract,
                           "Extract a display channel to PNG frames, a cursor channel to PNG shapes or an audio "
                           "channel to WAV (name or id)");
  app.add_option("--to", opt.to, "Directory for --extract")->needs(x);
  x->needs(app.get_option("--to"));
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  install_interrupt_handlers();
  return tool.finish(run(opt));
}
