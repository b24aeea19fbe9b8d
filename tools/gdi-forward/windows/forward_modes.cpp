#include "forward_modes.hpp"

#include <windows.h>

#include <functional>
#include <map>
#include <memory>

#include "app_registry.hpp"
#include "app_session.hpp"
#include "clipboard_bridge.hpp"
#include "wire/exit_codes.hpp"
#include "wire/stream_decoder.hpp"
#include "wire/gdi_records.hpp"
#include "pipe_link.hpp"
#include "wire/stream_writer.hpp"

namespace gdi_forward {

namespace vs = vredir::stream;
namespace gdi = vredir::gdi;

void report(const std::string& message) {
  std::string line = "gdi-forward: " + message + "\n";
  write_all(GetStdHandle(STD_ERROR_HANDLE), line.data(), line.size());
}

void write_stdout(const std::string& text) { write_all(GetStdHandle(STD_OUTPUT_HANDLE), text.data(), text.size()); }

namespace {

// The output stream, shared by the relay threads.
class Output {
 public:
  Output() : writer_([this](std::string_view b) { return sink(b); }) {
    InitializeCriticalSection(&lock_);
    // Drawing records are small and repetitive: deflate (level 1, cheap)
    // makes them a fraction of their size on the wire.
    writer_.set_compression(1);
  }
  // What f writes goes out as one DEFLATE piece.
  template <typename F>
  void with(F f) {
    EnterCriticalSection(&lock_);
    if (!gone_) {
      f(writer_);
      if (!gone_) writer_.flush();
    }
    LeaveCriticalSection(&lock_);
  }
  void records(uint16_t ch, const std::vector<std::string>& payloads) {
    with([&](vs::StreamWriter& w) {
      for (const std::string& p : payloads) w.frame(ch, vs::FrameType::kGdi, p);
    });
  }
  void record(uint16_t ch, const gdi::Record& r) {
    std::string p;
    gdi::encode_record(r, p);
    with([&](vs::StreamWriter& w) { w.frame(ch, vs::FrameType::kGdi, p); });
  }
  void control(uint16_t ch, const std::string& verb, const vs::Params& args) {
    with([&](vs::StreamWriter& w) { w.control(ch, vs::Control{verb, args}); });
  }

 private:
  vredir::Status sink(std::string_view b) {
    if (!write_all(GetStdHandle(STD_OUTPUT_HANDLE), b.data(), b.size())) {
      gone_ = true;
      return vredir::Status::reader_gone();
    }
    return vredir::Status::ok();
  }
  CRITICAL_SECTION lock_;
  vs::StreamWriter writer_;
  bool gone_ = false;
};

// Reads the upstream stream on stdin and hands out its gdi and control frames.
struct Upstream {
  std::function<void(uint16_t ch, const std::string& payload)> on_gdi;
  std::function<void(uint16_t ch, const vs::Control&)> on_control;
  std::function<void(const std::string& utf8)> on_clipboard;
  std::string error;  // set when the input was malformed
  DWORD last_error = 0;

  void run() {
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    vs::StreamDecoder decoder;
    std::map<uint16_t, uint16_t> routes;  // upstream gdi channel -> ours
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
      DWORD got = 0;
      if (!ReadFile(in, buf.data(), DWORD(buf.size()), &got, nullptr) || got == 0) {
        last_error = GetLastError();
        break;
      }
      decoder.feed(buf.data(), got);
      vs::Event ev;
      std::string err;
      for (;;) {
        vs::StreamDecoder::Result r = decoder.next(&ev, &err);
        if (r == vs::StreamDecoder::Result::kNeedMore) break;
        if (r == vs::StreamDecoder::Result::kError) {
          error = err;
          return;
        }
        if (ev.what != vs::Event::What::kFrame) continue;
        const uint16_t ch = ev.frame.header.channel;
        switch (ev.type()) {
          case vs::FrameType::kDeclare: {
            const vs::Declare& d = std::get<vs::Declare>(ev.payload);
            // A client whose own ids differ names the channel it answers.
            uint32_t down = 0;
            routes[d.id] = vs::param_u32(d.params, "downstream", &down) && down < 65536 ? uint16_t(down) : d.id;
            break;
          }
          case vs::FrameType::kEnd: return;
          case vs::FrameType::kGdi:
            if (on_gdi) {
              auto route = routes.find(ch);
              on_gdi(route == routes.end() ? ch : route->second,
                     std::string(reinterpret_cast<const char*>(ev.frame.payload.data()), ev.frame.payload.size()));
            }
            break;
          case vs::FrameType::kControl:
            if (on_control) on_control(ch, std::get<vs::Control>(ev.payload));
            break;
          case vs::FrameType::kClipboard:
            if (on_clipboard) on_clipboard(std::get<vs::Clipboard>(ev.payload).data);
            break;
          default: break;
        }
      }
    }
    const vs::FrameReader& framing = decoder.framing();
    if (framing.header_seen() || framing.buffered() > 0) {
      std::string cut = framing.truncation();
      if (!cut.empty()) error = cut;
    }
  }
};

std::wstring command_line_of(const std::string& program, const std::vector<std::string>& args) {
  std::wstring cmd = quote_arg(host_path(to_wide(program)));
  for (const std::string& a : args) cmd += L" " + quote_arg(to_wide(a));
  return cmd;
}

using vredir::apps::split_args;

std::string base_name(const std::string& program) {
  size_t slash = program.find_last_of("\\/");
  std::string b = slash == std::string::npos ? program : program.substr(slash + 1);
  if (b.size() > 4 && _stricmp(b.c_str() + b.size() - 4, ".exe") == 0) b.resize(b.size() - 4);
  return b;
}

constexpr uint16_t kRunGdiChannel = 1;

// Ends an app's part of the stream: its windows vanish, then APP_EXIT.
void finish_app(Output& out, uint16_t ch, AppSession& s) {
  for (uint32_t id : s.open_windows()) out.record(ch, gdi::WindowDestroy{id});
  out.record(ch, gdi::AppExit{s.pid(), s.exit_code(), s.how()});
}

}  // namespace

int run_command(const Options& o) {
  Output out;
  std::string name = base_name(o.app[0]);
  std::vector<std::string> args(o.app.begin() + 1, o.app.end());
  std::wstring cmd = command_line_of(o.app[0], args);
  AppSession s;
  int code = 0;
  std::string err;
  vs::Params hello{{"mode", "run"}};
  if (!o.user.empty()) hello["user"] = o.user;
  out.with([&](vs::StreamWriter& w) { w.begin("gdi-forward", hello); });
  if (!s.launch(cmd, name, &code, &err)) {
    report(err);
    out.with([&](vs::StreamWriter& w) { w.end(vs::EndReason::kError, err); });
    return code;
  }
  const uint16_t gdi_ch = kRunGdiChannel, control_ch = 2, clipboard_ch = 3;
  vs::Params params{{"app", name}, {"pid", std::to_string(s.pid())}};
  if (!o.user.empty()) params["user"] = o.user;
  out.with([&](vs::StreamWriter& w) {
    w.declare(gdi_ch, vs::ChannelKind::kGdi, "gdi", params);
    w.declare(control_ch, vs::ChannelKind::kControl, "control");
  });
  // The clipboard of the app's Wine session, both ways.
  ClipboardBridge clipboard;
  bool clipboard_on = false;
  if (o.clipboard_max > 0) {
    std::string why;
    out.with([&](vs::StreamWriter& w) {
      w.declare(clipboard_ch, vs::ChannelKind::kClipboard, "clipboard", {{"app", name}});
    });
    clipboard_on = clipboard.start(
        [&out, clipboard_ch](const std::string& text) {
          std::string p;
          vs::encode_clipboard(vs::Clipboard{vs::ClipboardFormat::kUtf8Text, text}, p);
          out.with([&](vs::StreamWriter& w) { w.frame(clipboard_ch, vs::FrameType::kClipboard, p); });
        },
        o.clipboard_max, &why);
    if (!clipboard_on) {
      out.with([&](vs::StreamWriter& w) { w.close_channel(clipboard_ch); });
      report(why + "; the app runs without the clipboard");
    }
  }
  out.record(gdi_ch, gdi::AppStart{s.pid(), name, to_utf8(cmd.c_str())});
  if (o.verbose > 0) report("started " + name + " (pid " + std::to_string(s.pid()) + ")");
  s.start([&](const std::vector<std::string>& payloads) { out.records(gdi_ch, payloads); });

  // The main thread reads input; a second thread ends the stream once the
  // app has gone (whichever comes first: the app exits on its own, or input
  // ends and the app is closed).
  struct Finisher {
    AppSession* s;
    Output* out;
    std::string name;
    volatile LONG malformed;
  } fin{&s, &out, name, 0};
  HANDLE finisher = CreateThread(
      nullptr, 0,
      [](void* p) -> DWORD {
        auto* f = static_cast<Finisher*>(p);
        f->s->wait();
        finish_app(*f->out, kRunGdiChannel, *f->s);
        f->out->with([&](vs::StreamWriter& w) {
          w.end(vs::EndReason::kSourceGone, f->name + " exited with code " + std::to_string(f->s->exit_code()));
        });
        // The main thread may sit in a read of stdin; everything is
        // written, so end at once.
        TerminateProcess(GetCurrentProcess(), f->malformed ? vredir::kExitMalformed : 0);
        return 0;
      },
      &fin, 0, nullptr);
  Upstream up;
  up.on_gdi = [&](uint16_t, const std::string& p) { s.send_upstream(p); };
  up.on_control = [&](uint16_t, const vs::Control& c) {
    if (c.verb == "TERMINATE") s.close(o.close_timeout_ms);
  };
  if (clipboard_on)
    up.on_clipboard = [&](const std::string& text) {
      if (text.size() <= o.clipboard_max) clipboard.put(text);
      else report("clipboard: the viewer sent more than " + std::to_string(o.clipboard_max) + " bytes; not taken");
    };
  up.run();
  if (o.verbose > 0) report("input ended" + (up.error.empty() ? std::string() : ": " + up.error));
  if (!up.error.empty()) {
    report("malformed input stream: " + up.error);
    fin.malformed = 1;
  }
  s.close(o.close_timeout_ms);  // end of input closes the app
  WaitForSingleObject(finisher, INFINITE);
  return 0;
}

namespace {

struct Served {
  std::unique_ptr<AppSession> session;
  uint16_t channel = 0;
  std::string name;
  HANDLE monitor = nullptr;
};

struct Server {
  const Options* o;
  AppRegistry registry;
  Output out;
  CRITICAL_SECTION lock;
  std::map<uint16_t, std::unique_ptr<Served>> apps;
  uint16_t next_channel = 2;
  bool denied = false;
  const uint16_t control_ch = 1;

  void list() {
    std::string names;
    for (const RegisteredApp& a : registry.apps)
      if (registry.allowed(a, o->user)) names += (names.empty() ? "" : " ") + a.name;
    out.control(control_ch, "APPS", {{"apps", names}});
  }

  void launch(const std::string& name) {
    const RegisteredApp* app = registry.find(name);
    if (!app) {
      out.control(control_ch, "ERROR", {{"message", "no app named '" + name + "' (send LIST)"}});
      return;
    }
    if (!registry.allowed(*app, o->user)) {
      std::string why = "user '" + o->user + "' may not launch '" + name + "'";
      report(why);
      denied = true;
      // A denial ends the communication: close what runs, end, exit 4.
      close_all(0);
      out.with([&](vs::StreamWriter& w) { w.end(vs::EndReason::kDenied, why); });
      TerminateProcess(GetCurrentProcess(), vredir::kExitDenied);
    }
    auto served = std::make_unique<Served>();
    served->session = std::make_unique<AppSession>();
    served->name = name;
    int code = 0;
    std::string err;
    if (!served->session->launch(command_line_of(app->path, split_args(app->args)), name, &code, &err)) {
      report(err);
      out.control(control_ch, "ERROR", {{"message", err}});
      return;
    }
    EnterCriticalSection(&lock);
    served->channel = next_channel++;
    Served* sp = served.get();
    apps[sp->channel] = std::move(served);
    LeaveCriticalSection(&lock);
    AppSession& s = *sp->session;
    vs::Params params{{"app", name}, {"pid", std::to_string(s.pid())}, {"user", o->user}};
    out.with([&](vs::StreamWriter& w) { w.declare(sp->channel, vs::ChannelKind::kGdi, "gdi." + name, params); });
    out.record(sp->channel, gdi::AppStart{s.pid(), name, app->path + (app->args.empty() ? "" : " " + app->args)});
    uint16_t ch = sp->channel;
    s.start([this, ch](const std::vector<std::string>& payloads) { out.records(ch, payloads); });
    out.control(control_ch, "LAUNCHED",
                {{"name", name}, {"pid", std::to_string(s.pid())}, {"channel", std::to_string(ch)}});
    struct Ctx {
      Server* self;
      Served* app;
    };
    sp->monitor = CreateThread(
        nullptr, 0,
        [](void* p) -> DWORD {
          std::unique_ptr<Ctx> c(static_cast<Ctx*>(p));
          c->app->session->wait();
          finish_app(c->self->out, c->app->channel, *c->app->session);
          c->self->out.with([&](vs::StreamWriter& w) { w.close_channel(c->app->channel); });
          return 0;
        },
        new Ctx{this, sp}, 0, nullptr);
  }

  void terminate(const vs::Params& args) {
    std::vector<Served*> targets;
    EnterCriticalSection(&lock);
    uint32_t ch = 0;
    bool by_channel = vs::param_u32(args, "channel", &ch);
    auto name = args.find("name");
    for (auto& [id, a] : apps)
      if ((!by_channel || id == ch) && (name == args.end() || a->name == name->second)) targets.push_back(a.get());
    LeaveCriticalSection(&lock);
    for (Served* a : targets) {
      struct Ctx {
        Served* app;
        DWORD timeout;
      };
      CloseHandle(CreateThread(
          nullptr, 0,
          [](void* p) -> DWORD {
            std::unique_ptr<Ctx> c(static_cast<Ctx*>(p));
            c->app->session->close(c->timeout);
            return 0;
          },
          new Ctx{a, o->close_timeout_ms}, 0, nullptr));
    }
  }

  void close_all(DWORD timeout) {
    EnterCriticalSection(&lock);
    std::vector<Served*> all;
    for (auto& [id, a] : apps) all.push_back(a.get());
    LeaveCriticalSection(&lock);
    for (Served* a : all) a->session->close(timeout);
    for (Served* a : all)
      if (a->monitor) WaitForSingleObject(a->monitor, 15000);
  }
};

}  // namespace

int serve_command(const Options& o) {
  auto server = std::make_unique<Server>();
  server->o = &o;
  InitializeCriticalSection(&server->lock);
  int code = 0;
  std::string err;
  if (!load_registry(o.registry, &server->registry, &code, &err)) {
    report(err);
    return code;
  }
  Server& sv = *server;
  vs::Params hello{{"mode", "serve"}};
  if (!o.user.empty()) hello["user"] = o.user;
  sv.out.with([&](vs::StreamWriter& w) {
    w.begin("gdi-forward", hello);
    w.declare(sv.control_ch, vs::ChannelKind::kControl, "control");
  });
  Upstream up;
  up.on_gdi = [&](uint16_t ch, const std::string& p) {
    EnterCriticalSection(&sv.lock);
    auto it = sv.apps.find(ch);
    AppSession* s = it == sv.apps.end() ? nullptr : it->second->session.get();
    LeaveCriticalSection(&sv.lock);
    if (s) s->send_upstream(p);
  };
  up.on_control = [&](uint16_t, const vs::Control& c) {
    if (sv.denied) return;
    if (c.verb == "LIST") sv.list();
    else if (c.verb == "LAUNCH") {
      auto n = c.args.find("name");
      sv.launch(n == c.args.end() ? "" : n->second);
    } else if (c.verb == "TERMINATE") sv.terminate(c.args);
    else sv.out.control(sv.control_ch, "ERROR", {{"message", "unknown request '" + c.verb + "' (LIST, LAUNCH, TERMINATE)"}});
  };
  up.run();  // on the main thread: see run_command
  sv.close_all(o.close_timeout_ms);
  sv.out.with([&](vs::StreamWriter& w) { w.end(vs::EndReason::kNormal, "session ended"); });
  if (!up.error.empty()) {
    report("malformed input stream: " + up.error);
    return vredir::kExitMalformed;
  }
  return 0;
}

int list_command(const Options& o) {
  AppRegistry reg;
  int code = 0;
  std::string err;
  if (!load_registry(o.registry, &reg, &code, &err)) {
    report(err);
    return code;
  }
  auto json_str = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\', out += c;
      else if (static_cast<unsigned char>(c) < 0x20) {
        char b[8];
        snprintf(b, sizeof(b), "\\u%04x", c);
        out += b;
      } else out += c;
    }
    return out + "\"";
  };
  std::string text;
  for (const RegisteredApp& a : reg.apps) {
    if (!o.user.empty() && !reg.allowed(a, o.user)) continue;
    std::string allow;
    for (const std::string& w : a.allow) allow += (allow.empty() ? "" : " ") + w;
    if (o.json) {
      std::string list;
      for (const std::string& w : a.allow) {
        if (!list.empty()) list += ',';
        list += json_str(w);
      }
      text += "{\"name\":" + json_str(a.name) + ",\"path\":" + json_str(a.path) + ",\"args\":" + json_str(a.args) +
              ",\"description\":" + json_str(a.description) + ",\"allow\":[" + list + "]}\n";
    } else {
      text += a.name + "\t" + a.path + (a.args.empty() ? "" : " " + a.args) + "\t" + allow + "\n";
    }
  }
  write_stdout(text);
  return 0;
}

}  // namespace gdi_forward
