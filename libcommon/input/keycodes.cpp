#include "input/keycodes.hpp"

#include <cctype>
#include <charconv>
#include <string>

namespace vredir::keys {

namespace {

struct KeyEntry {
  uint16_t code;
  const char* name;
  uint32_t keysym;  // US layout, unshifted
};

// linux/input-event-codes.h, the keys of PC keyboards.
constexpr KeyEntry kKeys[] = {
    {1, "esc", 0xff1b},         {2, "1", 0x31},
    {3, "2", 0x32},             {4, "3", 0x33},
    {5, "4", 0x34},             {6, "5", 0x35},
    {7, "6", 0x36},             {8, "7", 0x37},
    {9, "8", 0x38},             {10, "9", 0x39},
    {11, "0", 0x30},            {12, "minus", 0x2d},
    {13, "equal", 0x3d},        {14, "backspace", 0xff08},
    {15, "tab", 0xff09},        {16, "q", 0x71},
    {17, "w", 0x77},            {18, "e", 0x65},
    {19, "r", 0x72},            {20, "t", 0x74},
    {21, "y", 0x79},            {22, "u", 0x75},
    {23, "i", 0x69},            {24, "o", 0x6f},
    {25, "p", 0x70},            {26, "leftbrace", 0x5b},
    {27, "rightbrace", 0x5d},   {28, "enter", 0xff0d},
    {29, "leftctrl", 0xffe3},   {30, "a", 0x61},
    {31, "s", 0x73},            {32, "d", 0x64},
    {33, "f", 0x66},            {34, "g", 0x67},
    {35, "h", 0x68},            {36, "j", 0x6a},
    {37, "k", 0x6b},            {38, "l", 0x6c},
    {39, "semicolon", 0x3b},    {40, "apostrophe", 0x27},
    {41, "grave", 0x60},        {42, "leftshift", 0xffe1},
    {43, "backslash", 0x5c},    {44, "z", 0x7a},
    {45, "x", 0x78},            {46, "c", 0x63},
    {47, "v", 0x76},            {48, "b", 0x62},
    {49, "n", 0x6e},            {50, "m", 0x6d},
    {51, "comma", 0x2c},        {52, "dot", 0x2e},
    {53, "slash", 0x2f},        {54, "rightshift", 0xffe2},
    {55, "kpasterisk", 0xffaa}, {56, "leftalt", 0xffe9},
    {57, "space", 0x20},        {58, "capslock", 0xffe5},
    {59, "f1", 0xffbe},         {60, "f2", 0xffbf},
    {61, "f3", 0xffc0},         {62, "f4", 0xffc1},
    {63, "f5", 0xffc2},         {64, "f6", 0xffc3},
    {65, "f7", 0xffc4},         {66, "f8", 0xffc5},
    {67, "f9", 0xffc6},         {68, "f10", 0xffc7},
    {69, "numlock", 0xff7f},    {70, "scrolllock", 0xff14},
    {71, "kp7", 0xff95},        {72, "kp8", 0xff97},
    {73, "kp9", 0xff9a},        {74, "kpminus", 0xffad},
    {75, "kp4", 0xff96},        {76, "kp5", 0xff9d},
    {77, "kp6", 0xff98},        {78, "kpplus", 0xffab},
    {79, "kp1", 0xff9c},        {80, "kp2", 0xff99},
    {81, "kp3", 0xff9b},        {82, "kp0", 0xff9e},
    {83, "kpdot", 0xff9f},      {86, "102nd", 0x3c},
    {87, "f11", 0xffc8},        {88, "f12", 0xffc9},
    {96, "kpenter", 0xff8d},    {97, "rightctrl", 0xffe4},
    {98, "kpslash", 0xffaf},    {99, "sysrq", 0xff61},
    {100, "rightalt", 0xffea},  {102, "home", 0xff50},
    {103, "up", 0xff52},        {104, "pageup", 0xff55},
    {105, "left", 0xff51},      {106, "right", 0xff53},
    {107, "end", 0xff57},       {108, "down", 0xff54},
    {109, "pagedown", 0xff56},  {110, "insert", 0xff63},
    {111, "delete", 0xffff},    {113, "mute", 0x1008ff12},
    {114, "volumedown", 0x1008ff11}, {115, "volumeup", 0x1008ff13},
    {116, "power", 0x1008ff2a}, {117, "kpequal", 0xffbd},
    {119, "pause", 0xff13},     {125, "leftmeta", 0xffeb},
    {126, "rightmeta", 0xffec}, {127, "compose", 0xff67},
    {183, "f13", 0xffca},       {184, "f14", 0xffcb},
    {185, "f15", 0xffcc},       {186, "f16", 0xffcd},
    {187, "f17", 0xffce},       {188, "f18", 0xffcf},
    {189, "f19", 0xffd0},       {190, "f20", 0xffd1},
    {191, "f21", 0xffd2},       {192, "f22", 0xffd3},
    {193, "f23", 0xffd4},       {194, "f24", 0xffd5},
};

struct Alias {
  const char* name;
  uint16_t code;
};

constexpr Alias kAliases[] = {
    {"ctrl", kLeftCtrl}, {"control", kLeftCtrl}, {"alt", kLeftAlt},     {"shift", kLeftShift},
    {"menu", kCompose},  {"del", kDelete},       {"escape", kEsc},      {"return", kEnter},
    {"win", kLeftMeta},  {"super", kLeftMeta},   {"altgr", kRightAlt},  {"print", kSysRq},
};

const KeyEntry* find(uint16_t code) {
  for (const KeyEntry& k : kKeys)
    if (k.code == code) return &k;
  return nullptr;
}

}  // namespace

std::optional<uint16_t> evdev_from_x_keycode(uint32_t x_keycode) {
  if (x_keycode < 8 || x_keycode > 255) return std::nullopt;
  return static_cast<uint16_t>(x_keycode - 8);
}

std::optional<uint8_t> x_keycode_from_evdev(uint16_t code) {
  if (code > 247) return std::nullopt;
  return static_cast<uint8_t>(code + 8);
}

std::optional<uint16_t> function_key(int n) {
  if (n >= 1 && n <= 10) return static_cast<uint16_t>(kF1 + n - 1);
  if (n == 11) return kF11;
  if (n == 12) return kF12;
  return std::nullopt;
}

int function_key_number(uint16_t code) {
  if (code >= kF1 && code <= kF10) return code - kF1 + 1;
  if (code == kF11) return 11;
  if (code == kF12) return 12;
  return 0;
}

const char* key_name(uint16_t code) {
  const KeyEntry* k = find(code);
  return k ? k->name : nullptr;
}

std::optional<uint16_t> key_from_name(std::string_view name) {
  std::string low;
  for (char c : name) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (low.rfind("key_", 0) == 0) low.erase(0, 4);
  if (low.empty()) return std::nullopt;
  for (const KeyEntry& k : kKeys)
    if (low == k.name) return k.code;
  for (const Alias& a : kAliases)
    if (low == a.name) return a.code;
  // Numbers: "0x7f" or decimal. Single digits were matched as key names above.
  unsigned value = 0;
  const char* begin = low.data();
  const char* end = low.data() + low.size();
  int base = 10;
  if (low.size() > 2 && low[0] == '0' && low[1] == 'x') {
    begin += 2;
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(begin, end, value, base);
  if (ec != std::errc() || ptr != end || value == 0 || value > kMaxCode) return std::nullopt;
  return static_cast<uint16_t>(value);
}

uint32_t us_keysym(uint16_t code) {
  const KeyEntry* k = find(code);
  return k ? k->keysym : 0;
}

}  // namespace vredir::keys
