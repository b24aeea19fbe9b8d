#include "input/keymap.hpp"

#include <cctype>
#include <cstdio>
#include <span>

#include "input/keycodes.hpp"

namespace vredir {

namespace {

// One key of a layout: what it types unshifted, with Shift, with AltGr (0:
// nothing). Taken from xkeyboard-config's "basic" variants (pc105).
struct Row {
  uint16_t code;
  char32_t plain, shift, altgr;
};

// Characters only reachable through a dead key: the dead key, then space.
struct DeadKey {
  char32_t ch;
  uint16_t code;
  uint8_t modifiers;
};

#define LETTERS_QWERTY                                                                                  \
  {16, U'q', U'Q', 0}, {17, U'w', U'W', 0}, {18, U'e', U'E', 0}, {19, U'r', U'R', 0}, {20, U't', U'T', 0}, \
      {22, U'u', U'U', 0}, {23, U'i', U'I', 0}, {24, U'o', U'O', 0}, {25, U'p', U'P', 0},                 \
      {31, U's', U'S', 0}, {32, U'd', U'D', 0}, {33, U'f', U'F', 0}, {34, U'g', U'G', 0},                 \
      {35, U'h', U'H', 0}, {36, U'j', U'J', 0}, {37, U'k', U'K', 0}, {38, U'l', U'L', 0},                 \
      {45, U'x', U'X', 0}, {46, U'c', U'C', 0}, {47, U'v', U'V', 0}, {48, U'b', U'B', 0},                 \
      {49, U'n', U'N', 0}, {57, U' ', U' ', 0}

constexpr Row kUs[] = {
    LETTERS_QWERTY,
    {30, U'a', U'A', 0},  {44, U'z', U'Z', 0},  {21, U'y', U'Y', 0},  {50, U'm', U'M', 0},
    {41, U'`', U'~', 0},  {2, U'1', U'!', 0},   {3, U'2', U'@', 0},   {4, U'3', U'#', 0},
    {5, U'4', U'$', 0},   {6, U'5', U'%', 0},   {7, U'6', U'^', 0},   {8, U'7', U'&', 0},
    {9, U'8', U'*', 0},   {10, U'9', U'(', 0},  {11, U'0', U')', 0},  {12, U'-', U'_', 0},
    {13, U'=', U'+', 0},  {26, U'[', U'{', 0},  {27, U']', U'}', 0},  {43, U'\\', U'|', 0},
    {39, U';', U':', 0},  {40, U'\'', U'"', 0}, {51, U',', U'<', 0},  {52, U'.', U'>', 0},
    {53, U'/', U'?', 0},
};

constexpr Row kGb[] = {
    LETTERS_QWERTY,
    {30, U'a', U'A', 0},   {44, U'z', U'Z', 0},   {21, U'y', U'Y', 0},   {50, U'm', U'M', 0},
    {41, U'`', U'¬', U'|'}, {2, U'1', U'!', 0},    {3, U'2', U'"', 0},    {4, U'3', U'£', 0},
    {5, U'4', U'$', U'€'}, {6, U'5', U'%', 0},    {7, U'6', U'^', 0},    {8, U'7', U'&', 0},
    {9, U'8', U'*', 0},    {10, U'9', U'(', 0},   {11, U'0', U')', 0},   {12, U'-', U'_', 0},
    {13, U'=', U'+', 0},   {26, U'[', U'{', 0},   {27, U']', U'}', 0},   {43, U'#', U'~', 0},
    {39, U';', U':', 0},   {40, U'\'', U'@', 0},  {51, U',', U'<', 0},   {52, U'.', U'>', 0},
    {53, U'/', U'?', 0},   {86, U'\\', U'|', 0},
};

constexpr Row kDe[] = {
    {16, U'q', U'Q', U'@'}, {17, U'w', U'W', 0},   {18, U'e', U'E', U'€'}, {19, U'r', U'R', 0},
    {20, U't', U'T', 0},    {21, U'z', U'Z', 0},   {22, U'u', U'U', 0},    {23, U'i', U'I', 0},
    {24, U'o', U'O', 0},    {25, U'p', U'P', 0},   {26, U'ü', U'Ü', 0},    {27, U'+', U'*', U'~'},
    {30, U'a', U'A', 0},    {31, U's', U'S', 0},   {32, U'd', U'D', 0},    {33, U'f', U'F', 0},
    {34, U'g', U'G', 0},    {35, U'h', U'H', 0},   {36, U'j', U'J', 0},    {37, U'k', U'K', 0},
    {38, U'l', U'L', 0},    {39, U'ö', U'Ö', 0},   {40, U'ä', U'Ä', 0},    {43, U'#', U'\'', 0},
    {44, U'y', U'Y', 0},    {45, U'x', U'X', 0},   {46, U'c', U'C', 0},    {47, U'v', U'V', 0},
    {48, U'b', U'B', 0},    {49, U'n', U'N', 0},   {50, U'm', U'M', U'µ'}, {51, U',', U';', 0},
    {52, U'.', U':', 0},    {53, U'-', U'_', 0},   {57, U' ', U' ', 0},    {86, U'<', U'>', U'|'},
    {41, 0, U'°', 0},       {2, U'1', U'!', U'¹'}, {3, U'2', U'"', U'²'},  {4, U'3', U'§', U'³'},
    {5, U'4', U'$', U'¼'},  {6, U'5', U'%', U'½'}, {7, U'6', U'&', U'¬'},  {8, U'7', U'/', U'{'},
    {9, U'8', U'(', U'['},  {10, U'9', U')', U']'}, {11, U'0', U'=', U'}'}, {12, U'ß', U'?', U'\\'},
};
constexpr DeadKey kDeDead[] = {{U'^', 41, 0}, {U'´', 13, 0}, {U'`', 13, kModShift}};

constexpr Row kFr[] = {
    {16, U'a', U'A', 0},    {17, U'z', U'Z', 0},   {18, U'e', U'E', U'€'}, {19, U'r', U'R', 0},
    {20, U't', U'T', 0},    {21, U'y', U'Y', 0},   {22, U'u', U'U', 0},    {23, U'i', U'I', 0},
    {24, U'o', U'O', 0},    {25, U'p', U'P', 0},   {27, U'$', U'£', 0},    {30, U'q', U'Q', 0},
    {31, U's', U'S', 0},    {32, U'd', U'D', 0},   {33, U'f', U'F', 0},    {34, U'g', U'G', 0},
    {35, U'h', U'H', 0},    {36, U'j', U'J', 0},   {37, U'k', U'K', 0},    {38, U'l', U'L', 0},
    {39, U'm', U'M', 0},    {40, U'ù', U'%', 0},   {43, U'*', U'µ', 0},    {44, U'w', U'W', 0},
    {45, U'x', U'X', 0},    {46, U'c', U'C', 0},   {47, U'v', U'V', 0},    {48, U'b', U'B', 0},
    {49, U'n', U'N', 0},    {50, U',', U'?', 0},   {51, U';', U'.', 0},    {52, U':', U'/', 0},
    {53, U'!', U'§', 0},    {57, U' ', U' ', 0},   {86, U'<', U'>', 0},    {41, U'²', U'~', 0},
    {2, U'&', U'1', 0},     {3, U'é', U'2', U'~'}, {4, U'"', U'3', U'#'},  {5, U'\'', U'4', U'{'},
    {6, U'(', U'5', U'['},  {7, U'-', U'6', U'|'}, {8, U'è', U'7', U'`'},  {9, U'_', U'8', U'\\'},
    {10, U'ç', U'9', U'^'}, {11, U'à', U'0', U'@'}, {12, U')', U'°', U']'}, {13, U'=', U'+', U'}'},
};
constexpr DeadKey kFrDead[] = {{U'¨', 26, kModShift}};

#undef LETTERS_QWERTY

struct LayoutTable {
  const char* name;
  std::span<const Row> rows;
  std::span<const DeadKey> dead;
};

const LayoutTable& table(Layout layout) {
  static const LayoutTable kTables[] = {
      {"us", kUs, {}},
      {"de", kDe, kDeDead},
      {"fr", kFr, kFrDead},
      {"gb", kGb, {}},
  };
  return kTables[static_cast<int>(layout)];
}

// Decodes one UTF-8 sequence at text[*i]; false on invalid UTF-8.
bool next_code_point(std::string_view text, size_t* i, char32_t* out) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b = byte(*i);
  size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || *i + len > text.size()) return false;
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1f) : len == 3 ? (b & 0x0f) : (b & 0x07);
  for (size_t k = 1; k < len; ++k) {
    if ((byte(*i + k) & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (byte(*i + k) & 0x3f);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  *i += len;
  *out = cp;
  return true;
}

std::string describe_char(char32_t ch) {
  char buf[32];
  if (ch >= 0x20 && ch < 0x7f && ch != '\'') {
    std::snprintf(buf, sizeof buf, "'%c'", static_cast<char>(ch));
  } else {
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(ch));
    if (ch >= 0xa0) {
      std::string s = buf;
      std::string utf8;
      if (ch < 0x800) {
        utf8 += static_cast<char>(0xc0 | (ch >> 6));
        utf8 += static_cast<char>(0x80 | (ch & 0x3f));
      } else if (ch < 0x10000) {
        utf8 += static_cast<char>(0xe0 | (ch >> 12));
        utf8 += static_cast<char>(0x80 | ((ch >> 6) & 0x3f));
        utf8 += static_cast<char>(0x80 | (ch & 0x3f));
      } else {
        utf8 += static_cast<char>(0xf0 | (ch >> 18));
        utf8 += static_cast<char>(0x80 | ((ch >> 12) & 0x3f));
        utf8 += static_cast<char>(0x80 | ((ch >> 6) & 0x3f));
        utf8 += static_cast<char>(0x80 | (ch & 0x3f));
      }
      return s + " '" + utf8 + "'";
    }
  }
  return buf;
}

struct Alias {
  const char* name;
  uint16_t code;
};

// Names people use in key combinations beyond the evdev names keycodes knows.
constexpr Alias kComboAliases[] = {
    {"ret", keys::kEnter},     {"enter", keys::kEnter},  {"bksp", keys::kBackspace}, {"bs", keys::kBackspace},
    {"meta", keys::kLeftMeta}, {"super", keys::kLeftMeta}, {"lctrl", keys::kLeftCtrl}, {"rctrl", keys::kRightCtrl},
    {"lalt", keys::kLeftAlt},  {"ralt", keys::kRightAlt}, {"lshift", keys::kLeftShift}, {"rshift", keys::kRightShift},
    {"pgup", 104},             {"pgdn", 109},            {"ins", 110},               {"spc", 57},
    {"prtsc", keys::kSysRq},   {"printscreen", keys::kSysRq}, {"caps", 58},           {"apps", keys::kCompose},
};

}  // namespace

std::optional<Layout> parse_layout(std::string_view name) {
  std::string low;
  for (char c : name) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Layout l : {Layout::kUs, Layout::kDe, Layout::kFr, Layout::kGb})
    if (low == table(l).name) return l;
  return std::nullopt;
}

const char* layout_name(Layout layout) { return table(layout).name; }

bool chords_for(Layout layout, char32_t ch, std::vector<Chord>* out) {
  switch (ch) {
    case U'\n': out->push_back({keys::kEnter, 0}); return true;
    case U'\t': out->push_back({15, 0}); return true;
    case U'\b': out->push_back({keys::kBackspace, 0}); return true;
    case 0x1b: out->push_back({keys::kEsc, 0}); return true;
    default: break;
  }
  if (ch == 0) return false;
  const LayoutTable& t = table(layout);
  // Prefer the plainest way: unshifted, then Shift, then AltGr.
  for (const Row& r : t.rows)
    if (r.plain == ch) return out->push_back({r.code, 0}), true;
  for (const Row& r : t.rows)
    if (r.shift == ch) return out->push_back({r.code, kModShift}), true;
  for (const Row& r : t.rows)
    if (r.altgr == ch) return out->push_back({r.code, kModAltGr}), true;
  for (const DeadKey& d : t.dead) {
    if (d.ch == ch) {
      out->push_back({d.code, d.modifiers});
      out->push_back({57, 0});
      return true;
    }
  }
  return false;
}

uint32_t keysym_for_char(char32_t ch) {
  switch (ch) {
    case U'\n': return 0xff0d;
    case U'\t': return 0xff09;
    case U'\b': return 0xff08;
    case 0x1b: return 0xff1b;
    default: break;
  }
  if ((ch >= 0x20 && ch < 0x7f) || (ch >= 0xa0 && ch <= 0xff)) return ch;
  if (ch == U'€') return 0x20ac;
  return 0x01000000u | ch;
}

bool text_to_keys(Layout layout, std::string_view utf8, std::vector<KeyPress>* out, std::string* err) {
  std::vector<KeyPress> keys;
  std::vector<Chord> chords;
  size_t i = 0;
  while (i < utf8.size()) {
    char32_t ch = 0;
    size_t at = i;
    if (!next_code_point(utf8, &i, &ch)) {
      *err = "invalid UTF-8 at byte " + std::to_string(at) + " of the text";
      return false;
    }
    chords.clear();
    if (!chords_for(layout, ch, &chords)) {
      *err = "character " + describe_char(ch) + " cannot be typed with keymap '" + layout_name(layout) + "'";
      return false;
    }
    uint32_t sym = keysym_for_char(ch);
    for (size_t c = 0; c < chords.size(); ++c) {
      const Chord& chord = chords[c];
      // The last chord produces the character; a dead key before it does not.
      uint32_t key_sym = c + 1 == chords.size() ? sym : 0;
      if (chord.modifiers & kModShift) keys.push_back({keys::kLeftShift, true, 0xffe1});
      if (chord.modifiers & kModAltGr) keys.push_back({keys::kRightAlt, true, 0xfe03});
      keys.push_back({chord.code, true, key_sym});
      keys.push_back({chord.code, false, key_sym});
      if (chord.modifiers & kModAltGr) keys.push_back({keys::kRightAlt, false, 0xfe03});
      if (chord.modifiers & kModShift) keys.push_back({keys::kLeftShift, false, 0xffe1});
    }
  }
  out->insert(out->end(), keys.begin(), keys.end());
  return true;
}

bool unescape_text(std::string_view text, std::string* out, std::string* err) {
  std::string s;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      s += c;
      continue;
    }
    if (i + 1 == text.size()) {
      *err = "text ends with a lone backslash (write \\\\ for one)";
      return false;
    }
    char e = text[++i];
    switch (e) {
      case 'n': s += '\n'; break;
      case 't': s += '\t'; break;
      case '\\': s += '\\'; break;
      case 'e': s += '\x1b'; break;
      case 'b': s += '\b'; break;
      default:
        *err = std::string("unknown escape '\\") + e + "' (known: \\n \\t \\\\ \\e \\b)";
        return false;
    }
  }
  *out = std::move(s);
  return true;
}

bool parse_combo(std::string_view combo, std::vector<KeyPress>* out, std::string* err) {
  std::vector<uint16_t> codes;
  if (combo.empty()) {
    *err = "empty key combination";
    return false;
  }
  size_t start = 0;
  while (start <= combo.size()) {
    size_t dash = combo.find('-', start);
    // A '-' right at the start of a part is the key itself ("ctrl--").
    if (dash == start && start < combo.size()) dash = combo.find('-', start + 1);
    std::string_view part = combo.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start);
    if (part.empty()) {
      *err = "empty key name in '" + std::string(combo) + "'";
      return false;
    }
    std::optional<uint16_t> code;
    std::string low;
    for (char c : part) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const Alias& a : kComboAliases)
      if (low == a.name) code = a.code;
    if (!code) code = keys::key_from_name(part);
    if (!code && part.size() == 1) {
      std::vector<Chord> chords;
      if (chords_for(Layout::kUs, static_cast<unsigned char>(part[0]), &chords) && chords.size() == 1) {
        if (chords[0].modifiers & kModShift) codes.push_back(keys::kLeftShift);
        code = chords[0].code;
      }
    }
    if (!code || qnum_from_evdev(*code) == 0) {
      *err = "unknown key '" + std::string(part) + "' in '" + std::string(combo) +
             "' (names: ctrl alt shift altgr super ret esc tab f1..f12 delete a 1 minus...)";
      return false;
    }
    codes.push_back(*code);
    if (dash == std::string_view::npos) break;
    start = dash + 1;
    if (start == combo.size()) {
      *err = "key combination '" + std::string(combo) + "' ends with '-'";
      return false;
    }
  }
  for (uint16_t c : codes) out->push_back({c, true, default_keysym(c)});
  for (auto it = codes.rbegin(); it != codes.rend(); ++it) out->push_back({*it, false, default_keysym(*it)});
  return true;
}

uint16_t qnum_from_evdev(uint16_t code) {
  // Keys 1..83 and 86..88 have the same number in both worlds.
  if ((code >= 1 && code <= 83) || (code >= 86 && code <= 88)) return code;
  switch (code) {
    case 96: return 0x9c;   // KP Enter
    case 97: return 0x9d;   // Right Ctrl
    case 98: return 0xb5;   // KP /
    case 99: return 0xb7;   // Print Screen / SysRq
    case 100: return 0xb8;  // Right Alt (AltGr)
    case 102: return 0xc7;  // Home
    case 103: return 0xc8;  // Up
    case 104: return 0xc9;  // Page Up
    case 105: return 0xcb;  // Left
    case 106: return 0xcd;  // Right
    case 107: return 0xcf;  // End
    case 108: return 0xd0;  // Down
    case 109: return 0xd1;  // Page Down
    case 110: return 0xd2;  // Insert
    case 111: return 0xd3;  // Delete
    case 113: return 0xa0;  // Mute
    case 114: return 0xae;  // Volume Down
    case 115: return 0xb0;  // Volume Up
    case 116: return 0xde;  // Power
    case 117: return 0x59;  // KP =
    case 119: return 0xc6;  // Pause (QEMU's number for the E1 sequence)
    case 125: return 0xdb;  // Left Meta
    case 126: return 0xdc;  // Right Meta
    case 127: return 0xdd;  // Menu
    default: return 0;
  }
}

uint32_t default_keysym(uint16_t code) {
  switch (code) {
    case keys::kRightAlt: return 0xfe03;  // ISO_Level3_Shift, as AltGr keyboards send
    default: return keys::us_keysym(code);
  }
}

}  // namespace vredir
