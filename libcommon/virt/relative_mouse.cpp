#include "virt/relative_mouse.hpp"

#include <nlohmann/json.hpp>

#include "virt/qemu_monitor.hpp"

namespace vredir {

using json = nlohmann::json;

Status RelativeMouse::move(int32_t dx, int32_t dy, uint8_t buttons) {
  // QEMU's InputButton names for the PointerButton bits, in bit order.
  static const char* const kButtons[] = {"left", "middle", "right", "wheel-up", "wheel-down", "wheel-left",
                                         "wheel-right"};
  json events = json::array();
  if (dx != 0) events.push_back({{"type", "rel"}, {"data", {{"axis", "x"}, {"value", dx}}}});
  if (dy != 0) events.push_back({{"type", "rel"}, {"data", {{"axis", "y"}, {"value", dy}}}});
  for (int b = 0; b < 7; ++b) {
    bool was = buttons_ & (1u << b), now = buttons & (1u << b);
    if (was != now) events.push_back({{"type", "btn"}, {"data", {{"down", now}, {"button", kButtons[b]}}}});
  }
  if (events.empty()) return Status::ok();
  json result;
  if (Status st = qmp_command(dom_, {{"execute", "input-send-event"}, {"arguments", {{"events", events}}}}, &result);
      !st)
    return fail(st.code(), "relative pointer motion: " + st.message());
  buttons_ = buttons;
  return Status::ok();
}

}  // namespace vredir
