#include "wire/interrupt.hpp"

#include <atomic>

namespace vredir {

namespace {
std::atomic<InterruptCheck> g_check{nullptr};
}  // namespace

void set_interrupt_check(InterruptCheck check) { g_check.store(check); }

bool interrupt_requested() {
  InterruptCheck check = g_check.load();
  return check != nullptr && check();
}

}  // namespace vredir
