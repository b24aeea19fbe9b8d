// Fuzz target for redir-inject's script parser and the text and key-name
// parsers behind it (all fed from user files and command lines).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "input/input_script.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (Layout layout : {Layout::kUs, Layout::kDe, Layout::kFr, Layout::kGb}) {
    std::vector<InputAction> actions;
    std::string err;
    (void)parse_input_script(in, "fuzz", layout, &actions, &err);
  }
  std::vector<KeyPress> keys;
  std::string err, text;
  (void)parse_combo(in.substr(0, 256), &keys, &err);
  (void)unescape_text(in, &text, &err);
  (void)text_to_keys(Layout::kDe, in, &keys, &err);
  return 0;
}
