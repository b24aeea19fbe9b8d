#include "virt/dbus_display.hpp"

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <poll.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <span>
#include <chrono>
#include <cstring>

#include "virt/dbus_scanout.hpp"
#include "virt/domain_devices.hpp"
#include "virt/hypervisor.hpp"

namespace vredir {

namespace {

constexpr const char* kListenerPath = "/org/qemu/Display1/Listener";
constexpr const char* kListenerInterface = "org.qemu.Display1.Listener";
// Positions kept between two take() calls; beyond it the oldest merge away.
constexpr size_t kMaxQueuedPositions = 256;
// Changed rectangles kept between two take() calls; beyond it they merge
// into their bounding box.
constexpr size_t kMaxQueuedRects = 64;

struct BusFree {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
using Bus = std::unique_ptr<sd_bus, BusFree>;

std::string errno_text(int r) { return std::strerror(r < 0 ? -r : r); }

// A client on an already connected socket (QEMU is the authenticating side
// of both peer-to-peer connections).
Status open_peer_bus(int fd, Bus* out, const char* what) {
  sd_bus* b = nullptr;
  int r = sd_bus_new(&b);
  if (r < 0) return fail(kExitFailure, std::string("sd_bus_new: ") + errno_text(r));
  Bus bus(b);
  if ((r = sd_bus_set_fd(b, fd, fd)) < 0 || (r = sd_bus_negotiate_fds(b, 1)) < 0 || (r = sd_bus_start(b)) < 0)
    return fail(kExitFailure, std::string("cannot start the D-Bus connection to ") + what + ": " + errno_text(r));
  *out = std::move(bus);
  return Status::ok();
}

}  // namespace

// A connection to the domain's D-Bus display: peer-to-peer (libvirt's
// virDomainOpenGraphicsFD; QEMU serves one such client at a time) or a
// client of the domain's own bus (libvirt starts a dbus-daemon per domain
// for <graphics type='dbus'/> without p2p; any number of clients).
struct DbusDisplayConn {
  Bus bus;
  const char* dest = nullptr;  // "org.qemu" on a bus, none peer-to-peer
  bool shared = false;         // on a bus: other clients keep theirs
};

namespace {

// Waits until bus has something to do or timeout_ms passes (-1: forever),
// also waking on extra_fd.
int wait_bus(sd_bus* a, sd_bus* b, int extra_fd, int timeout_ms) {
  pollfd p[3];
  int n = 0;
  for (sd_bus* bus : {a, b}) {
    if (!bus) continue;
    int fd = sd_bus_get_fd(bus), ev = sd_bus_get_events(bus);
    if (fd < 0 || ev < 0) return ev < 0 ? ev : fd;
    p[n++] = {fd, static_cast<short>(ev), 0};
    uint64_t usec = 0;
    if (sd_bus_get_timeout(bus, &usec) >= 0 && usec != UINT64_MAX) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t now = uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
      int ms = usec <= now ? 0 : static_cast<int>(std::min<uint64_t>((usec - now + 999) / 1000, 1000));
      if (timeout_ms < 0 || ms < timeout_ms) timeout_ms = ms;
    }
  }
  if (extra_fd >= 0) p[n++] = {extra_fd, POLLIN, 0};
  int rc = ::poll(p, static_cast<nfds_t>(n), timeout_ms);
  return rc < 0 && errno != EINTR ? -errno : rc;
}

// Runs every message the bus holds; negative on a broken connection.
int drain(sd_bus* bus) {
  for (;;) {
    int r = sd_bus_process(bus, nullptr);
    if (r <= 0) return r;
  }
}

}  // namespace

struct DbusConsoleWatch::Impl {
  Bus display;   // libvirt's p2p connection: QEMU's org.qemu.Display1 objects
  Bus listener;  // our side of the socket given to RegisterListener
  sd_bus_slot* vtable_slot = nullptr;
};

struct DbusConsoleWatchAccess {
  static void push_pos(DbusConsoleWatch* w, DbusCursorPos p) {
    std::lock_guard lock(w->mu_);
    auto& q = w->pending_.positions;
    if (q.size() >= kMaxQueuedPositions) q.erase(q.begin());
    q.push_back(p);
    wake(w);
  }
  static bool pixels(DbusConsoleWatch* w) { return w->pixels_; }
  // Scanout: a new picture. A bad one is reported once and dropped.
  static void scanout(DbusConsoleWatch* w, uint32_t width, uint32_t height, uint32_t stride, uint32_t format,
                      std::span<const uint8_t> data) {
    std::lock_guard lock(w->mu_);
    if (Status st = apply_scanout(width, height, stride, format, data, &w->picture_); !st) {
      if (w->pending_.error.empty()) w->pending_.error = "Scanout: " + st.message();
    } else {
      w->pending_.resized = true;
      w->pending_.damage.clear();
    }
    wake(w);
  }
  static void update(DbusConsoleWatch* w, int32_t x, int32_t y, int32_t width, int32_t height, uint32_t stride,
                     uint32_t format, std::span<const uint8_t> data) {
    std::lock_guard lock(w->mu_);
    rfb::PixelRect r;
    if (Status st = apply_update(x, y, width, height, stride, format, data, &w->picture_, &r); !st) {
      if (w->pending_.error.empty()) w->pending_.error = "Update: " + st.message();
    } else if (r.w && r.h && !w->pending_.resized) {
      auto& q = w->pending_.damage;
      q.push_back(r);
      if (q.size() > kMaxQueuedRects) {
        uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
        for (const rfb::PixelRect& o : q) {
          x0 = std::min(x0, o.x);
          y0 = std::min(y0, o.y);
          x1 = std::max(x1, o.x + o.w);
          y1 = std::max(y1, o.y + o.h);
        }
        q.assign(1, rfb::PixelRect{x0, y0, x1 - x0, y1 - y0});
      }
    }
    wake(w);
  }
  static void wake(DbusConsoleWatch* w) {
    char c = 1;
    (void)!::write(w->wake_[1], &c, 1);  // non-blocking: a full pipe is awake already
  }
};

namespace {

int on_ignore(sd_bus_message* m, void*, sd_bus_error*) { return sd_bus_reply_method_return(m, ""); }

int on_mouse_set(sd_bus_message* m, void* user, sd_bus_error*) {
  int32_t x = 0, y = 0, on = 0;
  int r = sd_bus_message_read(m, "iii", &x, &y, &on);
  if (r < 0) return r;
  DbusConsoleWatchAccess::push_pos(static_cast<DbusConsoleWatch*>(user), DbusCursorPos{x, y, on != 0});
  return sd_bus_reply_method_return(m, "");
}

// Scanout and Update with the picture kept; answered at once without it.
int on_scanout(sd_bus_message* m, void* user, sd_bus_error*) {
  auto* w = static_cast<DbusConsoleWatch*>(user);
  if (DbusConsoleWatchAccess::pixels(w)) {
    uint32_t width = 0, height = 0, stride = 0, format = 0;
    const void* data = nullptr;
    size_t size = 0;
    int r = sd_bus_message_read(m, "uuuu", &width, &height, &stride, &format);
    if (r >= 0) r = sd_bus_message_read_array(m, 'y', &data, &size);
    if (r < 0) return r;
    DbusConsoleWatchAccess::scanout(w, width, height, stride, format,
                                    std::span(static_cast<const uint8_t*>(data), size));
  }
  return sd_bus_reply_method_return(m, "");
}

int on_update(sd_bus_message* m, void* user, sd_bus_error*) {
  auto* w = static_cast<DbusConsoleWatch*>(user);
  if (DbusConsoleWatchAccess::pixels(w)) {
    int32_t x = 0, y = 0, width = 0, height = 0;
    uint32_t stride = 0, format = 0;
    const void* data = nullptr;
    size_t size = 0;
    int r = sd_bus_message_read(m, "iiiiuu", &x, &y, &width, &height, &stride, &format);
    if (r >= 0) r = sd_bus_message_read_array(m, 'y', &data, &size);
    if (r < 0) return r;
    DbusConsoleWatchAccess::update(w, x, y, width, height, stride, format,
                                   std::span(static_cast<const uint8_t*>(data), size));
  }
  return sd_bus_reply_method_return(m, "");
}

int on_interfaces(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  return sd_bus_message_append(reply, "as", 0);
}

const sd_bus_vtable kListenerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Scanout", "uuuuay", "", on_scanout, 0),
    SD_BUS_METHOD("Update", "iiiiuuay", "", on_update, 0),
    SD_BUS_METHOD("ScanoutDMABUF", "huuuutb", "", on_ignore, 0),
    SD_BUS_METHOD("UpdateDMABUF", "iiii", "", on_ignore, 0),
    SD_BUS_METHOD("Disable", "", "", on_ignore, 0),
    SD_BUS_METHOD("MouseSet", "iii", "", on_mouse_set, 0),
    SD_BUS_METHOD("CursorDefine", "iiiiay", "", on_ignore, 0),
    SD_BUS_PROPERTY("Interfaces", "as", on_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END};

struct CallResult {
  bool done = false;
  std::string error;
};

int on_register_reply(sd_bus_message* m, void* user, sd_bus_error*) {
  auto* res = static_cast<CallResult*>(user);
  res->done = true;
  if (const sd_bus_error* e = sd_bus_message_get_error(m))
    res->error = std::string(e->name ? e->name : "error") + (e->message ? std::string(": ") + e->message : "");
  return 0;
}

}  // namespace

DbusConsoleWatch::~DbusConsoleWatch() {
  if (thread_.joinable()) {
    char c = 1;
    (void)!::write(stop_[1], &c, 1);
    thread_.join();
  }
  if (impl_ && impl_->vtable_slot) sd_bus_slot_unref(impl_->vtable_slot);
  impl_.reset();
  for (int fd : {wake_[0], wake_[1], stop_[0], stop_[1]})
    if (fd >= 0) ::close(fd);
}

Status DbusConsoleWatch::open(DbusDisplayConn&& conn, int console, int timeout_ms,
                             std::unique_ptr<DbusConsoleWatch>* out, bool pixels) {
  std::unique_ptr<DbusConsoleWatch> w(new DbusConsoleWatch);
  w->pixels_ = pixels;
  w->impl_ = std::make_unique<Impl>();
  if (::pipe2(w->wake_, O_CLOEXEC | O_NONBLOCK) != 0 || ::pipe2(w->stop_, O_CLOEXEC | O_NONBLOCK) != 0)
    return fail(kExitFailure, std::string("pipe: ") + std::strerror(errno));
  w->impl_->display = std::move(conn.bus);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(kExitFailure, std::string("socketpair: ") + std::strerror(errno));
  if (Status st = open_peer_bus(sv[0], &w->impl_->listener, "the cursor listener"); !st) {
    ::close(sv[0]);
    ::close(sv[1]);
    return st;
  }
  int r = sd_bus_add_object_vtable(w->impl_->listener.get(), &w->impl_->vtable_slot, kListenerPath,
                                   kListenerInterface, kListenerVtable, w.get());
  if (r < 0) {
    ::close(sv[1]);
    return fail(kExitFailure, "cannot export the cursor listener: " + errno_text(r));
  }

  // RegisterListener returns only after QEMU has authenticated on the other
  // socket and read the listener's properties, so both connections turn
  // together until the reply comes.
  const std::string path = "/org/qemu/Display1/Console_" + std::to_string(console);
  sd_bus_message* call = nullptr;
  r = sd_bus_message_new_method_call(w->impl_->display.get(), &call, conn.dest, path.c_str(),
                                     "org.qemu.Display1.Console", "RegisterListener");
  if (r >= 0) r = sd_bus_message_append(call, "h", sv[1]);  // the message holds a duplicate
  CallResult res;
  if (r >= 0)
    r = sd_bus_call_async(w->impl_->display.get(), nullptr, call, on_register_reply, &res,
                          uint64_t(timeout_ms) * 1000);
  sd_bus_message_unref(call);
  ::close(sv[1]);
  if (r < 0) return fail(kExitFailure, "cannot call RegisterListener on " + path + ": " + errno_text(r));
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!res.done) {
    if (drain(w->impl_->display.get()) < 0 || drain(w->impl_->listener.get()) < 0)
      return fail(kExitPeerLost, "QEMU's D-Bus display closed the connection while registering the cursor listener");
    if (res.done) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) return fail(kExitTimeout, "QEMU's D-Bus display did not answer RegisterListener in time");
    if (int rc = wait_bus(w->impl_->display.get(), w->impl_->listener.get(), -1, static_cast<int>(left)); rc < 0)
      return fail(kExitFailure, "poll: " + errno_text(rc));
  }
  if (!res.error.empty()) return fail(kExitFailure, "RegisterListener on " + path + " failed: " + res.error);
  // QEMU sends the console's current picture right after registering.
  while (pixels) {
    {
      std::lock_guard lock(w->mu_);
      if (w->pending_.resized || !w->pending_.error.empty()) break;
    }
    if (drain(w->impl_->display.get()) < 0 || drain(w->impl_->listener.get()) < 0)
      return fail(kExitPeerLost, "QEMU's D-Bus display closed the connection before sending " + path + "'s picture");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;  // none yet: it comes when the guest lights the head
    if (int rc = wait_bus(w->impl_->display.get(), w->impl_->listener.get(), -1, static_cast<int>(left)); rc < 0)
      return fail(kExitFailure, "poll: " + errno_text(rc));
  }
  w->thread_ = std::thread([p = w.get()] { p->run(); });
  *out = std::move(w);
  return Status::ok();
}

void DbusConsoleWatch::run() {
  sd_bus* display = impl_->display.get();
  sd_bus* listener = impl_->listener.get();
  for (;;) {
    if (drain(listener) < 0 || drain(display) < 0) break;
    int rc = wait_bus(display, listener, stop_[0], -1);
    if (rc < 0) break;
    char c;
    if (::read(stop_[0], &c, 1) == 1) return;
  }
  std::lock_guard lock(mu_);
  pending_.closed = true;
  DbusConsoleWatchAccess::wake(this);
}

DbusConsoleEvents DbusConsoleWatch::take() {
  char buf[64];
  while (::read(wake_[0], buf, sizeof buf) > 0) {
  }
  std::lock_guard lock(mu_);
  DbusConsoleEvents ev = std::move(pending_);
  pending_ = DbusConsoleEvents{};
  pending_.closed = ev.closed;
  return ev;
}

namespace {

// A new connection to the domain's D-Bus display: ok with conn->bus empty
// and the reason (what it would have been for) in *why when there is none.
Status open_display(const Domain& d, const DomainDevices& devices, const char* purpose, DbusDisplayConn* conn,
                    std::string* why) {
  int index = -1;
  for (size_t i = 0; i < devices.graphics.size(); ++i)
    if (devices.graphics[i].type == "dbus") index = static_cast<int>(i);
  if (index < 0) {
    *why = std::string("the domain has no D-Bus display (add <graphics type='dbus'/> for ") + purpose + ")";
    return Status::ok();
  }
  const GraphicsDevice& g = devices.graphics[index];
  if (g.listen_type == "p2p") {
    int fd = virDomainOpenGraphicsFD(d.get(), static_cast<unsigned>(index), VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH);
    if (fd < 0) {
      virErrorPtr e = virGetLastError();
      *why = std::string("cannot open its D-Bus display: ") + (e && e->message ? e->message : "unknown error");
      return Status::ok();
    }
    if (Status st = open_peer_bus(fd, &conn->bus, "QEMU's D-Bus display"); !st) {
      ::close(fd);
      return st;
    }
    conn->dest = nullptr;
    conn->shared = false;
    return Status::ok();
  }
  // On the domain's own bus: the running domain's XML names its address.
  if (g.address.rfind("unix:", 0) != 0) {
    *why = std::string("its D-Bus display has no bus address (is the domain running?) for ") + purpose;
    return Status::ok();
  }
  sd_bus* b = nullptr;
  int r = sd_bus_new(&b);
  if (r < 0) return fail(kExitFailure, std::string("sd_bus_new: ") + errno_text(r));
  Bus bus(b);
  if ((r = sd_bus_set_address(b, g.address.c_str())) < 0 || (r = sd_bus_set_bus_client(b, 1)) < 0 ||
      (r = sd_bus_negotiate_fds(b, 1)) < 0 || (r = sd_bus_start(b)) < 0) {
    // A libvirt connection to another host names a socket of that host.
    *why = "cannot join its D-Bus display's bus " + g.address + ": " + errno_text(r) + " (for " + purpose + ")";
    return Status::ok();
  }
  // The bus must be this domain's: QEMU's VM object carries its UUID.
  char* uuid = nullptr;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  r = sd_bus_get_property_string(b, "org.qemu", "/org/qemu/Display1/VM", "org.qemu.Display1.VM", "UUID", &err,
                                 &uuid);
  std::string got = r >= 0 && uuid ? uuid : "";
  std::free(uuid);
  sd_bus_error_free(&err);
  if (r < 0 || got != d.uuid()) {
    *why = "the D-Bus display's bus " + g.address + (r < 0 ? " does not answer as QEMU's display" : " is another VM's") +
           " (for " + std::string(purpose) + ")";
    return Status::ok();
  }
  conn->bus = std::move(bus);
  conn->dest = "org.qemu";
  conn->shared = true;
  return Status::ok();
}

}  // namespace

Status open_domain_cursor_watch(const Domain& d, const DomainDevices& devices, int display,
                                std::unique_ptr<DbusConsoleWatch>* out, std::string* why) {
  DbusDisplayConn conn;
  if (Status st = open_display(d, devices, "cursor positions", &conn, why); !st || !conn.bus) return st;
  return DbusConsoleWatch::open(std::move(conn), display, 5000, out);
}

Status open_domain_head_watch(const Domain& d, const DomainDevices& devices, int head,
                              std::unique_ptr<DbusConsoleWatch>* out, std::string* why) {
  // Decided before connecting: connecting to a peer-to-peer display takes it
  // from its current client.
  for (const GraphicsDevice& g : devices.graphics)
    if (g.type == "dbus" && g.listen_type == "p2p") {
      *why = "its D-Bus display is peer-to-peer, one client at a time (the cursor's); heads beyond the first need "
             "<graphics type='dbus'/> without p2p";
      return Status::ok();
    }
  DbusDisplayConn conn;
  if (Status st = open_display(d, devices, "the heads beyond the first", &conn, why); !st || !conn.bus) return st;
  return DbusConsoleWatch::open(std::move(conn), head, 3000, out, true);
}

struct DbusKeyboard::Impl {
  Bus bus;
  const char* dest = nullptr;
  std::string path;
  // Calls sent and answered over the connection's life: the reply callback
  // holds this object, never a caller's stack.
  uint64_t sent = 0, answered = 0;
  std::string error;
};

DbusKeyboard::~DbusKeyboard() = default;

Status DbusKeyboard::open(DbusDisplayConn&& conn, int console, std::unique_ptr<DbusKeyboard>* out) {
  std::unique_ptr<DbusKeyboard> k(new DbusKeyboard);
  k->impl_ = std::make_unique<Impl>();
  k->impl_->bus = std::move(conn.bus);
  k->impl_->dest = conn.dest;
  k->impl_->path = "/org/qemu/Display1/Console_" + std::to_string(console);
  *out = std::move(k);
  return Status::ok();
}

namespace {

int on_key_reply(sd_bus_message* m, void* user, sd_bus_error*) {
  auto* c = static_cast<DbusKeyboard::Impl*>(user);
  ++c->answered;
  if (const sd_bus_error* e = sd_bus_message_get_error(m); e && c->error.empty())
    c->error = std::string(e->name ? e->name : "error") + (e->message ? std::string(": ") + e->message : "");
  return 0;
}

}  // namespace

Status DbusKeyboard::send(const std::vector<std::pair<uint16_t, bool>>& events, int timeout_ms) {
  sd_bus* bus = impl_->bus.get();
  Impl& calls = *impl_;
  if (!calls.error.empty()) return fail(kExitFailure, "QEMU's D-Bus display refused key events: " + calls.error);
  for (const auto& [key, down] : events) {
    // Floating slots: the reply callback runs once and the slot goes with it.
    int r = sd_bus_call_method_async(bus, nullptr, impl_->dest, impl_->path.c_str(), "org.qemu.Display1.Keyboard",
                                     down ? "Press" : "Release", on_key_reply, &calls, "u", uint32_t(key));
    if (r >= 0) ++calls.sent;
    if (r < 0) return fail(kExitFailure, "cannot send a key event to QEMU's D-Bus display: " + errno_text(r));
  }
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (calls.answered < calls.sent) {
    if (drain(bus) < 0) return fail(kExitPeerLost, "QEMU's D-Bus display closed the connection");
    if (calls.answered >= calls.sent) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) return fail(kExitTimeout, "QEMU's D-Bus display did not answer key events in time");
    if (int rc = wait_bus(bus, nullptr, -1, static_cast<int>(left)); rc < 0)
      return fail(kExitFailure, "poll: " + errno_text(rc));
  }
  if (!calls.error.empty()) return fail(kExitFailure, "QEMU's D-Bus display refused key events: " + calls.error);
  return Status::ok();
}

Status open_domain_dbus_keyboard(const Domain& d, const DomainDevices& devices, bool shared_only,
                                 std::unique_ptr<DbusKeyboard>* out, std::string* why, int console) {
  // Decided before connecting: connecting to a peer-to-peer display is
  // enough to take it from its current client.
  for (const GraphicsDevice& g : devices.graphics)
    if (shared_only && g.type == "dbus" && g.listen_type == "p2p") {
      *why = "its D-Bus display is peer-to-peer, one client at a time, and a capture's cursor watch would lose it";
      return Status::ok();
    }
  DbusDisplayConn conn;
  if (Status st = open_display(d, devices, "fast key events", &conn, why); !st || !conn.bus) return st;
  return DbusKeyboard::open(std::move(conn), console, out);
}

}  // namespace vredir
