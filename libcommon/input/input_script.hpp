// Input actions for redir-inject: what its flags (--type, --key, --move,
// --click, --scroll) and its --script files ask for, resolved to key events
// up front so that a bad line or an untypeable character is reported before
// anything reaches the guest.
//
// Script format, one action per line ('#' starts a comment line, blank lines
// are skipped, a trailing CR is ignored):
//   type TEXT            TEXT is the rest of the line, escapes \n \t \\ \e \b;
//                        surround it with double quotes to keep outer spaces
//   key COMBO [COMBO...] each combo pressed in order, released in reverse
//   move X Y             pointer to surface pixel X,Y
//   move-rel DX DY       relative motion by DX,DY (the guest's relative mouse)
//   click X Y [BUTTON]   left (default), middle, right or 1, 2, 3
//   scroll N             wheel notches: negative up, positive down
//   sleep MS             pause
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "input/keymap.hpp"

namespace vredir {

// Caps on what a script may hold.
inline constexpr size_t kMaxScriptBytes = 4u << 20;
inline constexpr size_t kMaxScriptLine = 65536;
inline constexpr uint32_t kMaxSleepMs = 24u * 3600u * 1000u;
inline constexpr int32_t kMaxScroll = 10000;
inline constexpr uint32_t kMaxCoordinate = 65535;  // RFB pointer fields are 16-bit
inline constexpr int32_t kMaxRelMove = 32767;       // per axis, as a stream's POINTER_REL frame

struct InputAction {
  enum class Kind { kKeys, kMove, kMoveRel, kClick, kScroll, kSleep };
  Kind kind = Kind::kKeys;
  std::vector<KeyPress> keys;  // kKeys: typed text or combos, resolved
  uint32_t x = 0, y = 0;       // kMove, kClick
  int32_t dx = 0, dy = 0;      // kMoveRel
  uint8_t button = 1;          // kClick: RFB button number 1 left, 2 middle, 3 right
  int32_t amount = 0;          // kScroll
  uint32_t ms = 0;             // kSleep
  std::string source;          // "--type" or "FILE:LINE", for messages
};

// The flags. err is one line without the source prefix.
bool make_type_action(std::string_view escaped_text, Layout layout, InputAction* out, std::string* err);
bool make_key_action(std::string_view combo, InputAction* out, std::string* err);
// "X,Y"
bool make_move_action(std::string_view point, InputAction* out, std::string* err);
// "DX,DY"
bool make_move_rel_action(std::string_view delta, InputAction* out, std::string* err);
// "X,Y" or "X,Y,BUTTON"
bool make_click_action(std::string_view spec, InputAction* out, std::string* err);
bool make_scroll_action(std::string_view amount, InputAction* out, std::string* err);

// Parses a whole script. On error *err is "NAME:LINE: what" and out is left
// as it was.
bool parse_input_script(std::string_view content, std::string_view name, Layout layout,
                        std::vector<InputAction>* out, std::string* err);

}  // namespace vredir
