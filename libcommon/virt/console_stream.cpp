#include "virt/console_stream.hpp"

#include <fcntl.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace vredir {

namespace {

// libvirt's default event loop on a thread of its own, for as long as a
// console needs it. A timer makes each round end at least every 50 ms, so
// the thread sees its stop flag.
class EventLoopThread {
 public:
  static EventLoopThread& get() {
    static EventLoopThread loop;
    return loop;
  }
  Status hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (users_++ > 0) return Status::ok();
    if (Status st = enable_libvirt_events(); !st) {
      --users_;
      return st;
    }
    if (timer_ < 0) timer_ = virEventAddTimeout(50, [](int, void*) {}, nullptr, nullptr);
    if (timer_ < 0) {
      --users_;
      return fail(kExitFailure, "cannot add a timer to libvirt's event loop");
    }
    stop_ = false;
    thread_ = std::thread([this] {
      // Signals are the main thread's to take.
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
      while (!stop_)
        if (virEventRunDefaultImpl() < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    });
    return Status::ok();
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (users_ == 0 || --users_ > 0) return;
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~EventLoopThread() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  int users_ = 0;
  int timer_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool console_in_use() {
  virErrorPtr err = virGetLastError();
  return err && err->code == VIR_ERR_OPERATION_FAILED && err->message &&
         std::strstr(err->message, "Active console session") != nullptr;
}

}  // namespace

ConsoleStream::ConsoleStream() = default;

ConsoleStream::~ConsoleStream() {
  close();
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

Status ConsoleStream::open(const Domain& domain, Takeover takeover, const std::string& hint) {
  if (stream_) return fail(kExitFailure, label_ + " is open already");
  label_ = "the serial console of domain '" + domain.name() + "'";
  if (wake_[0] < 0 && ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
    return fail(kExitFailure, std::string("pipe: ") + std::strerror(errno));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.clear();
    ended_ = false;
    end_status_ = Status::ok();
  }
  if (Status st = EventLoopThread::get().hold(); !st) return st;
  loop_held_ = true;
  stream_ = virStreamNew(virDomainGetConnect(domain.get()), VIR_STREAM_NONBLOCK);
  if (!stream_) {
    close();
    return libvirt_error("cannot open " + label_);
  }
  const unsigned flags = takeover == Takeover::kForce ? VIR_DOMAIN_CONSOLE_FORCE : VIR_DOMAIN_CONSOLE_SAFE;
  if (virDomainOpenConsole(domain.get(), nullptr, stream_, flags) < 0) {
    Status st = console_in_use()
                    ? fail(kExitFailure, label_ + " is in use by another client (virsh console, a capture with "
                                                  "--serial, a session) (try: " + hint + ")")
                    : libvirt_error("cannot open " + label_);
    DomainState state;
    if (!console_in_use() && domain.state(&state) && state != DomainState::kRunning && state != DomainState::kPaused)
      st = fail(kExitFailure, "cannot open " + label_ + ": the domain is " + state_name(state) +
                                  " (try: vm-power start " + domain.name() + ")");
    virStreamFree(stream_);
    stream_ = nullptr;
    close();
    return st;
  }
  const int events = VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP;
  if (virStreamEventAddCallback(stream_, events, on_stream, this, nullptr) < 0) {
    Status st = libvirt_error("cannot watch " + label_);
    close();
    return st;
  }
  return Status::ok();
}

void ConsoleStream::on_stream(virStreamPtr st, int events, void* opaque) {
  static_cast<ConsoleStream*>(opaque)->receive(st, events);
}

// On libvirt's event loop thread.
void ConsoleStream::receive(virStreamPtr st, int events) {
  if (events & VIR_STREAM_EVENT_READABLE) {
    char buf[16384];
    for (;;) {
      int n = virStreamRecv(st, buf, sizeof buf);
      if (n == -2) break;  // nothing more for now
      if (n == 0) {
        end_with(fail(kExitPeerLost, label_ + " closed (the guest stopped, or another client took the console over)"));
        return;
      }
      if (n < 0) {
        Status why = libvirt_error(label_ + " ended");
        end_with(fail(kExitPeerLost, why.message() + " (another client may have taken the console over)"));
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_.append(buf, static_cast<size_t>(n));
        if (pending_.size() > kMaxPending) {
          size_t extra = pending_.size() - kMaxPending;
          pending_.erase(0, extra);
          dropped_ += extra;
        }
      }
      wake();
    }
  }
  if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP))
    end_with(fail(kExitPeerLost, label_ + " hung up (the guest stopped, or another client took the console over)"));
}

void ConsoleStream::end_with(Status why) {
  virStreamEventUpdateCallback(stream_, 0);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ended_) return;
    ended_ = true;
    end_status_ = std::move(why);
  }
  wake();
}

void ConsoleStream::wake() {
  char c = 1;
  (void)!::write(wake_[1], &c, 1);
}

void ConsoleStream::drain_wake() {
  char buf[256];
  while (wake_[0] >= 0 && ::read(wake_[0], buf, sizeof buf) > 0) {
  }
}

Status ConsoleStream::take(std::string* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  out->append(pending_);
  pending_.clear();
  if (!stream_) return fail(kExitFailure, "the serial console is not open");
  return ended_ ? end_status_ : Status::ok();
}

Status ConsoleStream::write(std::string_view bytes) {
  if (!stream_) return fail(kExitFailure, "the serial console is not open");
  constexpr size_t kChunk = 65536;  // well under libvirt's stream packet limit
  while (!bytes.empty()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (ended_) return end_status_;
    }
    size_t n = std::min(bytes.size(), kChunk);
    int sent = virStreamSend(stream_, bytes.data(), n);
    if (sent == -2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (sent < 0) {
      Status why = libvirt_error("cannot write to " + label_);
      return fail(kExitPeerLost, why.message());
    }
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return Status::ok();
}

void ConsoleStream::close() {
  // The loop stops first (when no other console needs it), so no callback
  // runs on a stream being freed.
  if (loop_held_) {
    EventLoopThread::get().release();
    loop_held_ = false;
  }
  if (!stream_) return;
  virStreamEventRemoveCallback(stream_);
  virStreamAbort(stream_);
  virStreamFree(stream_);
  stream_ = nullptr;
}

}  // namespace vredir
