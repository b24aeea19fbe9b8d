// gdi-forward: forwards a Windows application's GDI drawing as commands.
// Thin main: parses the command line and hands over to forward_modes.
#include <windows.h>

#include <string>
#include <vector>

#include "wire/exit_codes.hpp"
#include "wire/stream_format.hpp"
#include "forward_modes.hpp"
#include "pipe_link.hpp"

using namespace gdi_forward;

namespace {

const char kHelp[] =
    "Usage: gdi-forward [OPTIONS] run [--user U] [--close-timeout MS] [--clipboard-max BYTES] -- APP [ARGS...]\n"
    "       gdi-forward [OPTIONS] serve --registry FILE [--user U] [--close-timeout MS]\n"
    "       gdi-forward [OPTIONS] list --registry FILE [--user U] [--json]\n"
    "\n"
    "Runs a Windows application with a hook that forwards its GDI drawing and\n"
    "window lifecycle as commands (a vredir stream on stdout); input and control\n"
    "frames are read from stdin.\n"
    "\n"
    "Commands:\n"
    "  run        launch APP (a name on the Windows PATH, a Windows path, or a\n"
    "             Unix path under Wine) and forward it until it exits\n"
    "  serve      answer LIST, LAUNCH and TERMINATE control frames for the apps\n"
    "             of a registry\n"
    "  list       print the registered apps (only those U may launch with --user)\n"
    "\n"
    "Options:\n"
    "  -h, --help               print this help and exit\n"
    "  -V, --version            print the version and exit\n"
    "  -v, --verbose            more messages on stderr\n"
    "  -q, --quiet              fewer messages on stderr\n"
    "  -u, --user U             the user the apps run for (permission checks)\n"
    "  -r, --registry FILE      the app registry (see gdi-forward(1))\n"
    "  -t, --close-timeout MS   how long a closed app may take to exit before\n"
    "                           it is terminated (default 5000)\n"
    "      --clipboard-max BYTES run: the most text the app's clipboard sends or\n"
    "                           takes (default 1048576; 0: no clipboard channel)\n"
    "      --json               list: one JSON object per line\n";

int usage(const std::string& message) {
  report(message);
  std::string hint = "Try 'gdi-forward --help'.\n";
  write_all(GetStdHandle(STD_ERROR_HANDLE), hint.data(), hint.size());
  return vredir::kExitUsage;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.push_back(to_utf8(argv[i]));
  Options o;
  bool help = false, version = false;
  size_t i = 0;
  auto value = [&](const std::string& opt, std::string* out) -> bool {
    if (i + 1 >= args.size()) return false;
    *out = args[++i];
    (void)opt;
    return true;
  };
  for (; i < args.size(); ++i) {
    std::string a = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      inline_value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_inline = true;
    }
    auto take = [&](std::string* out) {
      if (has_inline) {
        *out = inline_value;
        return true;
      }
      return value(a, out);
    };
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") help = true;
    else if (a == "-V" || a == "--version") version = true;
    else if (a == "-v" || a == "--verbose") ++o.verbose;
    else if (a == "-q" || a == "--quiet") o.verbose = -1;
    else if (a == "--json") o.json = true;
    else if (a == "-u" || a == "--user") {
      if (!take(&o.user)) return usage("option " + a + " needs a value");
    } else if (a == "-r" || a == "--registry") {
      if (!take(&o.registry)) return usage("option " + a + " needs a value");
    } else if (a == "-t" || a == "--close-timeout") {
      std::string v;
      if (!take(&v) || v.empty() || v.size() > 7 || v.find_first_not_of("0123456789") != std::string::npos)
        return usage("option " + a + " needs a number of milliseconds");
      o.close_timeout_ms = unsigned(std::stoul(v));
    } else if (a == "--clipboard-max") {
      std::string v;
      if (!take(&v) || v.empty() || v.size() > 7 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(v) > vredir::stream::kMaxClipboard)
        return usage("option " + a + " needs a number of bytes (at most 8388608)");
      o.clipboard_max = size_t(std::stoul(v));
    } else if (a.size() > 1 && a[0] == '-') {
      return usage("unknown option '" + a + "'");
    } else if (o.command.empty()) {
      if (a != "run" && a != "serve" && a != "list") return usage("unknown command '" + a + "' (run, serve, list)");
      o.command = a;
    } else if (o.command == "run") {
      break;  // the app and its arguments
    } else {
      return usage("unexpected argument '" + a + "'");
    }
  }
  if (help) {
    write_stdout(kHelp);
    return 0;
  }
  if (version) {
    write_stdout(std::string("gdi-forward ") + VREDIR_VERSION + "\n");
    return 0;
  }
  if (o.command.empty()) return usage("a command is needed (run, serve, list)");
  if (o.command == "run") {
    for (; i < args.size(); ++i) o.app.push_back(args[i]);
    if (o.app.empty()) return usage("run needs an app: gdi-forward run -- APP [ARGS...]");
    return run_command(o);
  }
  if (i < args.size()) return usage("unexpected argument '" + args[i] + "'");
  if (o.registry.empty()) return usage(o.command + " needs --registry FILE");
  return o.command == "serve" ? serve_command(o) : list_command(o);
}
