// Key identity on the wire: KEY frames carry Linux evdev KEY_* codes, which
// name a physical key whatever the keyboard layout. This file maps them to
// and from X keycodes (servers that use the evdev keymap, as Xorg, Xvfb and
// Xwayland do, number every key as its evdev code + 8), to readable names
// ("leftctrl", "f1", "a") and to the keysym a US layout gives the unshifted key.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vredir::keys {

// The codes that vredir tools name in their own logic.
inline constexpr uint16_t kEsc = 1;
inline constexpr uint16_t kBackspace = 14;
inline constexpr uint16_t kEnter = 28;
inline constexpr uint16_t kG = 34;
inline constexpr uint16_t kLeftCtrl = 29;
inline constexpr uint16_t kLeftShift = 42;
inline constexpr uint16_t kRightShift = 54;
inline constexpr uint16_t kLeftAlt = 56;
inline constexpr uint16_t kF1 = 59;   // F1..F10 are 59..68
inline constexpr uint16_t kF10 = 68;
inline constexpr uint16_t kF11 = 87;
inline constexpr uint16_t kF12 = 88;
inline constexpr uint16_t kRightCtrl = 97;
inline constexpr uint16_t kSysRq = 99;
inline constexpr uint16_t kRightAlt = 100;
inline constexpr uint16_t kDelete = 111;
inline constexpr uint16_t kPause = 119;
inline constexpr uint16_t kLeftMeta = 125;
inline constexpr uint16_t kRightMeta = 126;
inline constexpr uint16_t kCompose = 127;  // the "Menu" key of PC keyboards
inline constexpr uint16_t kMaxCode = 0x2ff;

// X keycode (8..255) under the evdev keymap to evdev code; nullopt outside.
std::optional<uint16_t> evdev_from_x_keycode(uint32_t x_keycode);
// The reverse; nullopt for codes an X keycode cannot carry (over 247).
std::optional<uint8_t> x_keycode_from_evdev(uint16_t code);

// Function key n (1..12) as an evdev code; nullopt otherwise.
std::optional<uint16_t> function_key(int n);
// n for a function key code (1..12), 0 for any other key.
int function_key_number(uint16_t code);

// Lower-case evdev name without "KEY_" ("leftctrl"), or nullptr if unnamed.
const char* key_name(uint16_t code);
// Accepts evdev names in any case, with or without "KEY_", a few common
// aliases (ctrl, alt, shift, menu, del, esc, return, win) and "0x1d" or
// decimal codes.
std::optional<uint16_t> key_from_name(std::string_view name);

// The keysym of the unshifted key on a US layout, 0 when there is none.
uint32_t us_keysym(uint16_t code);

}  // namespace vredir::keys
