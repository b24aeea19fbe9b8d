// The escape chord of a local console: a desktop keeps some key combinations
// (Ctrl-Alt-Del, Ctrl-Alt-F1...) for itself, so a viewer offers them through
// an escape key. With the default escape key, Menu:
//   Menu, Delete      sends Ctrl-Alt-Delete
//   Menu, Backspace   sends Ctrl-Alt-Backspace
//   Menu, F1..F12     sends Ctrl-Alt-F1..F12
//   Menu, G           toggles the viewer's pointer grab (nothing is sent;
//                     take_grab_toggle() says so)
//   Menu, Menu        sends Menu itself
//   Menu, other key   drops the escape; the other key is sent as usual
// Keys are evdev codes; the chord works on physical keys, whatever the layout.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "input/keycodes.hpp"

namespace vredir {

struct KeyStroke {
  uint16_t code = 0;
  bool down = false;
  bool operator==(const KeyStroke&) const = default;
};

class EscapeChord {
 public:
  explicit EscapeChord(uint16_t escape_key = keys::kCompose) : escape_(escape_key) {}

  // One local key event in; the key events to send out are appended to *out
  // (none while the escape is pending).
  void feed(uint16_t code, bool down, std::vector<KeyStroke>* out);

  // Forgets a pending escape and the releases to swallow: the keyboard focus
  // left, so those releases will not arrive.
  void reset() {
    armed_ = false;
    swallow_release_.clear();
  }

  // True once after Menu, G: the viewer grabs or releases the pointer.
  bool take_grab_toggle() {
    bool t = grab_toggle_;
    grab_toggle_ = false;
    return t;
  }

  bool armed() const { return armed_; }
  uint16_t escape_key() const { return escape_; }

 private:
  void combo(uint16_t key, std::vector<KeyStroke>* out);

  uint16_t escape_;
  bool armed_ = false;
  bool grab_toggle_ = false;
  // Keys whose release must not be sent: their press was used by the chord.
  std::set<uint16_t> swallow_release_;
};

}  // namespace vredir
