// Typing text into a guest means pressing physical keys: which keys depends
// on the keyboard layout the guest is configured with (for "de", 'z' is the
// key that says Y on a US keyboard, '@' is AltGr+Q). This file turns
// characters into evdev key strokes for the layouts us, de, fr and gb, parses
// key combinations ("ctrl-alt-delete", "shift-a", "f12"), and maps evdev codes
// to what QEMU's VNC server takes: the "qnum" (XT set 1 scancode, 0x80 marking
// the E0 prefix) of its extended key event.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vredir {

enum class Layout { kUs, kDe, kFr, kGb };

// "us", "de", "fr", "gb" (case-insensitive); nullopt otherwise.
std::optional<Layout> parse_layout(std::string_view name);
const char* layout_name(Layout layout);

// One key event: an evdev code, press or release, and the X keysym the guest
// is expected to see (0 when none; used by servers without scancode input).
struct KeyPress {
  uint16_t code = 0;
  bool down = false;
  uint32_t keysym = 0;
  bool operator==(const KeyPress&) const = default;
};

// Modifiers a character needs on top of its key.
enum KeyModifier : uint8_t { kModShift = 1, kModAltGr = 2 };

struct Chord {
  uint16_t code = 0;
  uint8_t modifiers = 0;
};

// The chords that type one character on a layout: usually one; a dead key
// followed by space for characters only reachable that way (de '^').
// Control characters \n \t \b and ESC map to Enter, Tab, Backspace and Esc.
// False when the layout has no way to type it.
bool chords_for(Layout layout, char32_t ch, std::vector<Chord>* out);

// The X keysym of a character (Latin-1 directly, others as 0x01000000 + code
// point), with the function keysyms for the control characters above.
uint32_t keysym_for_char(char32_t ch);

// Appends the key events typing utf8 on layout: per chord, modifiers down,
// key down, key up, modifiers up. Fails (one line naming the character and
// the layout, nothing appended) on a character the layout cannot type or on
// invalid UTF-8.
bool text_to_keys(Layout layout, std::string_view utf8, std::vector<KeyPress>* out, std::string* err);

// Resolves the backslash escapes of --type / script text: \n \t \\ \e (Esc)
// \b (Backspace). Any other escape is an error.
bool unescape_text(std::string_view text, std::string* out, std::string* err);

// Parses a key combination: names joined by '-' ("ctrl-alt-delete",
// "shift-a", "alt-f4", "ret", "super", "ctrl-minus"). Each name is an evdev key
// name, an alias (ctrl, alt, shift, altgr, super, win, meta, ret, enter, esc,
// del, bksp, pgup, pgdn, ins, spc...) or one printable US character ("a",
// "/"). Keys are pressed in order and released in reverse: out gets the
// downs then the ups.
bool parse_combo(std::string_view combo, std::vector<KeyPress>* out, std::string* err);

// QEMU's "qnum" for an evdev code (the keycode of the QEMU extended key
// event); 0 when the key has no PC scancode.
uint16_t qnum_from_evdev(uint16_t code);

// The keysym to send with a lone key event (modifiers, function keys, the
// unshifted US character otherwise).
uint32_t default_keysym(uint16_t code);

}  // namespace vredir
