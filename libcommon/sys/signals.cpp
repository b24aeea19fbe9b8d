#include "sys/signals.hpp"

#include <atomic>
#include <csignal>

#include "wire/interrupt.hpp"

namespace vredir {

namespace {
std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted.store(true); }
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  set_interrupt_check(&interrupted);
}

bool interrupted() { return g_interrupted.load(); }

}  // namespace vredir
