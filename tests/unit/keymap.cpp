#include <catch2/catch.hpp>

#include "input/keymap.hpp"

using namespace vredir;

namespace {

std::vector<KeyPress> typed(Layout layout, std::string_view text) {
  std::vector<KeyPress> keys;
  std::string err;
  REQUIRE(text_to_keys(layout, text, &keys, &err));
  return keys;
}

// "code+ code-" notation for compact expectations.
std::string brief(const std::vector<KeyPress>& keys) {
  std::string s;
  for (const KeyPress& k : keys) s += std::to_string(k.code) + (k.down ? "+ " : "- ");
  return s;
}

}  // namespace

TEST_CASE("layouts are named us, de, fr, gb", "[keymap]") {
  CHECK(parse_layout("us") == Layout::kUs);
  CHECK(parse_layout("DE") == Layout::kDe);
  CHECK(parse_layout("fr") == Layout::kFr);
  CHECK(parse_layout("gb") == Layout::kGb);
  CHECK_FALSE(parse_layout("uk"));
  CHECK(std::string(layout_name(Layout::kFr)) == "fr");
}

TEST_CASE("us: every printable ASCII character and the control keys are typeable", "[keymap]") {
  for (char32_t c = 0x20; c < 0x7f; ++c) {
    std::vector<Chord> chords;
    INFO("character " << static_cast<int>(c));
    CHECK(chords_for(Layout::kUs, c, &chords));
    CHECK(chords.size() == 1);
  }
  CHECK(brief(typed(Layout::kUs, "aA\n\t\b\x1b")) == "30+ 30- 42+ 30+ 30- 42- 28+ 28- 15+ 15- 14+ 14- 1+ 1- ");
  CHECK(brief(typed(Layout::kUs, "~|\"")) == "42+ 41+ 41- 42- 42+ 43+ 43- 42- 42+ 40+ 40- 42- ");
}

TEST_CASE("keysyms follow the character, modifiers carry their own", "[keymap]") {
  auto keys = typed(Layout::kUs, "A");
  REQUIRE(keys.size() == 4);
  CHECK(keys[0].keysym == 0xffe1);
  CHECK(keys[1].keysym == 'A');
  CHECK(keysym_for_char(U'é') == 0xe9);
  CHECK(keysym_for_char(U'€') == 0x20ac);
  CHECK(keysym_for_char(U'ő') == 0x01000151);
}

TEST_CASE("de, fr and gb put characters on the keys those layouts use", "[keymap]") {
  SECTION("de: z and y swap, @ is AltGr+Q, ^ is a dead key then space") {
    CHECK(brief(typed(Layout::kDe, "zy@")) == "21+ 21- 44+ 44- 100+ 16+ 16- 100- ");
    CHECK(brief(typed(Layout::kDe, "^")) == "41+ 41- 57+ 57- ");
    CHECK(brief(typed(Layout::kDe, "ßü")) == "12+ 12- 26+ 26- ");
  }
  SECTION("fr: azerty, digits need Shift") {
    CHECK(brief(typed(Layout::kFr, "aqwm1")) == "16+ 16- 30+ 30- 44+ 44- 39+ 39- 42+ 2+ 2- 42- ");
    CHECK(brief(typed(Layout::kFr, "@")) == "100+ 11+ 11- 100- ");
  }
  SECTION("gb: \" on 2, @ on the quote key, # and \\ have their own keys") {
    CHECK(brief(typed(Layout::kGb, "\"@#\\")) == "42+ 3+ 3- 42- 42+ 40+ 40- 42- 43+ 43- 86+ 86- ");
    CHECK(brief(typed(Layout::kGb, "£")) == "42+ 4+ 4- 42- ");
  }
}

TEST_CASE("an untypeable character fails naming it and the layout, with nothing appended", "[keymap]") {
  std::vector<KeyPress> keys;
  std::string err;
  CHECK_FALSE(text_to_keys(Layout::kUs, "ab\xc3\xa9", &keys, &err));
  CHECK(keys.empty());
  CHECK(err.find("U+00E9") != std::string::npos);
  CHECK(err.find("keymap 'us'") != std::string::npos);
  CHECK(text_to_keys(Layout::kFr, "\xc3\xa9", &keys, &err));  // é is a key on fr
  CHECK_FALSE(text_to_keys(Layout::kUs, "\xff", &keys, &err));
  CHECK(err.find("invalid UTF-8") != std::string::npos);
  CHECK_FALSE(text_to_keys(Layout::kUs, "\xc0\x80", &keys, &err));  // overlong NUL
  CHECK_FALSE(text_to_keys(Layout::kUs, std::string_view("\0", 1), &keys, &err));
}

TEST_CASE("escapes: \\n \\t \\\\ \\e \\b", "[keymap]") {
  std::string out, err;
  CHECK(unescape_text("a\\nb\\t\\\\\\e\\b", &out, &err));
  CHECK(out == "a\nb\t\\\x1b\b");
  CHECK_FALSE(unescape_text("\\x", &out, &err));
  CHECK(err.find("unknown escape") != std::string::npos);
  CHECK_FALSE(unescape_text("ends\\", &out, &err));
}

TEST_CASE("combos press in order and release in reverse", "[keymap]") {
  std::vector<KeyPress> keys;
  std::string err;
  REQUIRE(parse_combo("ctrl-alt-delete", &keys, &err));
  CHECK(brief(keys) == "29+ 56+ 111+ 111- 56- 29- ");
  keys.clear();
  REQUIRE(parse_combo("shift-a", &keys, &err));
  CHECK(brief(keys) == "42+ 30+ 30- 42- ");
  for (const char* name : {"f12", "ret", "enter", "super", "alt-f4", "esc", "tab", "pgdn", "ctrl-minus", "altgr-q",
                           "KEY_LEFTCTRL-c", "ctrl--", "ctrl-/"}) {
    keys.clear();
    INFO(name);
    CHECK(parse_combo(name, &keys, &err));
  }
  keys.clear();
  REQUIRE(parse_combo("ctrl-?", &keys, &err));  // '?' needs Shift on us
  CHECK(brief(keys) == "29+ 42+ 53+ 53- 42- 29- ");
  keys.clear();
  REQUIRE(parse_combo("-", &keys, &err));  // a lone '-' is the minus key
  CHECK(brief(keys) == "12+ 12- ");
  for (const char* bad : {"", "ctrl-", "nosuchkey", "ctrl-nosuch", "a-b-", "f25"}) {
    keys.clear();
    INFO(bad);
    CHECK_FALSE(parse_combo(bad, &keys, &err));
    CHECK(keys.empty());
  }
}

TEST_CASE("evdev codes map to QEMU's qnum scancodes", "[keymap]") {
  CHECK(qnum_from_evdev(30) == 30);    // A
  CHECK(qnum_from_evdev(88) == 0x58);  // F12
  CHECK(qnum_from_evdev(97) == 0x9d);  // Right Ctrl: E0 1D
  CHECK(qnum_from_evdev(100) == 0xb8); // AltGr: E0 38
  CHECK(qnum_from_evdev(111) == 0xd3); // Delete: E0 53
  CHECK(qnum_from_evdev(125) == 0xdb); // Left Meta: E0 5B
  CHECK(qnum_from_evdev(119) == 0xc6); // Pause
  CHECK(qnum_from_evdev(0) == 0);
  CHECK(qnum_from_evdev(84) == 0);
  CHECK(qnum_from_evdev(0x2ff) == 0);
}
