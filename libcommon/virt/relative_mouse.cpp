#include "virt/relative_mouse.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "virt/qemu_monitor.hpp"

namespace vredir {

using json = nlohmann::json;

namespace {

// The btn events that take the PointerButton mask `was` to `now`.
void button_events(uint8_t was, uint8_t now, json* events) {
  // QEMU's InputButton names for the PointerButton bits, in bit order.
  static const char* const kButtons[] = {"left", "middle", "right", "wheel-up", "wheel-down", "wheel-left",
                                         "wheel-right"};
  for (int b = 0; b < 7; ++b) {
    bool before = was & (1u << b), after = now & (1u << b);
    if (before != after) events->push_back({{"type", "btn"}, {"data", {{"down", after}, {"button", kButtons[b]}}}});
  }
}

}  // namespace

Status RelativeMouse::move(int32_t dx, int32_t dy, uint8_t buttons) {
  json events = json::array();
  if (dx != 0) events.push_back({{"type", "rel"}, {"data", {{"axis", "x"}, {"value", dx}}}});
  if (dy != 0) events.push_back({{"type", "rel"}, {"data", {{"axis", "y"}, {"value", dy}}}});
  button_events(buttons_, buttons, &events);
  if (events.empty()) return Status::ok();
  json result;
  if (Status st = qmp_command(dom_, {{"execute", "input-send-event"}, {"arguments", {{"events", events}}}}, &result);
      !st)
    return fail(st.code(), "relative pointer motion: " + st.message());
  buttons_ = buttons;
  return Status::ok();
}

Status SeatTablet::move(uint32_t x, uint32_t y, uint32_t width, uint32_t height, uint8_t buttons) {
  if (width == 0 || height == 0) return fail(kExitFailure, "seat tablet: no surface size");
  constexpr int64_t kAbsMax = 0x7fff;  // QEMU's INPUT_EVENT_ABS_MAX
  const int64_t rx = std::min<int64_t>(kAbsMax, int64_t{x} * kAbsMax / width);
  const int64_t ry = std::min<int64_t>(kAbsMax, int64_t{y} * kAbsMax / height);
  json events = json::array({{{"type", "abs"}, {"data", {{"axis", "x"}, {"value", rx}}}},
                             {{"type", "abs"}, {"data", {{"axis", "y"}, {"value", ry}}}}});
  button_events(buttons_, buttons, &events);
  json args = {{"events", std::move(events)}, {"device", binding_.display}, {"head", binding_.head}};
  json result;
  if (Status st = qmp_command(dom_, {{"execute", "input-send-event"}, {"arguments", std::move(args)}}, &result); !st)
    return fail(st.code(), "seat tablet of head " + std::to_string(binding_.head) + ": " + st.message());
  buttons_ = buttons;
  return Status::ok();
}

}  // namespace vredir
