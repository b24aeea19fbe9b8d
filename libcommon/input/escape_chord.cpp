#include "input/escape_chord.hpp"

namespace vredir {

void EscapeChord::combo(uint16_t key, std::vector<KeyStroke>* out) {
  out->push_back({keys::kLeftCtrl, true});
  out->push_back({keys::kLeftAlt, true});
  out->push_back({key, true});
  out->push_back({key, false});
  out->push_back({keys::kLeftAlt, false});
  out->push_back({keys::kLeftCtrl, false});
}

void EscapeChord::feed(uint16_t code, bool down, std::vector<KeyStroke>* out) {
  if (!down) {
    if (swallow_release_.erase(code) == 0) out->push_back({code, false});
    return;
  }
  if (!armed_) {
    if (code == escape_) {
      armed_ = true;
      swallow_release_.insert(code);
      return;
    }
    out->push_back({code, true});
    return;
  }
  armed_ = false;
  if (code == escape_) {
    out->push_back({code, true});
    out->push_back({code, false});
    swallow_release_.insert(code);
  } else if (code == keys::kG) {
    grab_toggle_ = true;
    swallow_release_.insert(code);
  } else if (code == keys::kDelete || code == keys::kBackspace || keys::function_key_number(code) != 0) {
    combo(code, out);
    swallow_release_.insert(code);
  } else {
    out->push_back({code, true});
  }
}

}  // namespace vredir
