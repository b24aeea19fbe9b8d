#include "input/input_script.hpp"

#include <cctype>
#include <charconv>

namespace vredir {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on blanks; at most max_words words (the last one keeps the rest).
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  s = trim(s);
  while (!s.empty()) {
    size_t end = 0;
    while (end < s.size() && !is_blank(s[end])) ++end;
    out.push_back(s.substr(0, end));
    s = trim(s.substr(end));
  }
  return out;
}

template <typename T>
bool parse_int(std::string_view s, T lo, T hi, T* out) {
  if (s.empty() || s.size() > 12) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') ++b;
  long long v = 0;
  auto [ptr, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || ptr != e || v < static_cast<long long>(lo) || v > static_cast<long long>(hi)) return false;
  *out = static_cast<T>(v);
  return true;
}

bool parse_coordinate(std::string_view s, const char* axis, uint32_t* out, std::string* err) {
  if (!parse_int<uint32_t>(s, 0, kMaxCoordinate, out)) {
    *err = std::string("bad ") + axis + " coordinate '" + std::string(s) + "' (0.." + std::to_string(kMaxCoordinate) +
           " surface pixels)";
    return false;
  }
  return true;
}

bool parse_delta(std::string_view s, const char* axis, int32_t* out, std::string* err) {
  if (!parse_int<int32_t>(s, -kMaxRelMove, kMaxRelMove, out)) {
    *err = std::string("bad ") + axis + " motion '" + std::string(s) + "' (" + std::to_string(-kMaxRelMove) + ".." +
           std::to_string(kMaxRelMove) + ")";
    return false;
  }
  return true;
}

bool parse_button(std::string_view s, uint8_t* out, std::string* err) {
  std::string low;
  for (char c : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (low == "left" || low == "1") *out = 1;
  else if (low == "middle" || low == "2") *out = 2;
  else if (low == "right" || low == "3") *out = 3;
  else {
    *err = "unknown button '" + std::string(s) + "' (left, middle, right or 1, 2, 3)";
    return false;
  }
  return true;
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    out.push_back(trim(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool script_line(std::string_view line, Layout layout, InputAction* a, bool* empty, std::string* err) {
  *empty = false;
  std::string_view body = trim(line);
  if (body.empty() || body.front() == '#') {
    *empty = true;
    return true;
  }
  size_t verb_end = 0;
  while (verb_end < body.size() && !is_blank(body[verb_end])) ++verb_end;
  std::string_view verb = body.substr(0, verb_end);
  std::string_view rest = trim(body.substr(verb_end));
  std::vector<std::string_view> args = words(rest);
  auto want = [&](size_t lo, size_t hi) {
    if (args.size() >= lo && args.size() <= hi) return true;
    *err = "'" + std::string(verb) + "' takes " +
           (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) + " argument(s), got " +
           std::to_string(args.size());
    return false;
  };
  if (verb == "type") {
    if (rest.empty()) {
      *err = "'type' needs the text to type";
      return false;
    }
    if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') rest = rest.substr(1, rest.size() - 2);
    return make_type_action(rest, layout, a, err);
  }
  if (verb == "key") {
    if (args.empty()) {
      *err = "'key' needs at least one key combination";
      return false;
    }
    a->kind = InputAction::Kind::kKeys;
    for (std::string_view combo : args) {
      InputAction one;
      if (!make_key_action(combo, &one, err)) return false;
      a->keys.insert(a->keys.end(), one.keys.begin(), one.keys.end());
    }
    return true;
  }
  if (verb == "move") {
    if (!want(2, 2)) return false;
    a->kind = InputAction::Kind::kMove;
    return parse_coordinate(args[0], "x", &a->x, err) && parse_coordinate(args[1], "y", &a->y, err);
  }
  if (verb == "move-rel") {
    if (!want(2, 2)) return false;
    a->kind = InputAction::Kind::kMoveRel;
    return parse_delta(args[0], "dx", &a->dx, err) && parse_delta(args[1], "dy", &a->dy, err);
  }
  if (verb == "click") {
    if (!want(2, 3)) return false;
    a->kind = InputAction::Kind::kClick;
    if (!parse_coordinate(args[0], "x", &a->x, err) || !parse_coordinate(args[1], "y", &a->y, err)) return false;
    return args.size() < 3 || parse_button(args[2], &a->button, err);
  }
  if (verb == "scroll") {
    if (!want(1, 1)) return false;
    return make_scroll_action(args[0], a, err);
  }
  if (verb == "sleep") {
    if (!want(1, 1)) return false;
    a->kind = InputAction::Kind::kSleep;
    if (!parse_int<uint32_t>(args[0], 0, kMaxSleepMs, &a->ms)) {
      *err = "bad sleep time '" + std::string(args[0]) + "' (milliseconds, 0.." + std::to_string(kMaxSleepMs) + ")";
      return false;
    }
    return true;
  }
  std::string shown(verb.substr(0, 40));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  *err = "unknown action '" + shown + "' (type, key, move, move-rel, click, scroll, sleep)";
  return false;
}

}  // namespace

bool make_type_action(std::string_view escaped_text, Layout layout, InputAction* out, std::string* err) {
  std::string text;
  if (!unescape_text(escaped_text, &text, err)) return false;
  out->kind = InputAction::Kind::kKeys;
  out->keys.clear();
  return text_to_keys(layout, text, &out->keys, err);
}

bool make_key_action(std::string_view combo, InputAction* out, std::string* err) {
  out->kind = InputAction::Kind::kKeys;
  out->keys.clear();
  return parse_combo(combo, &out->keys, err);
}

bool make_move_action(std::string_view point, InputAction* out, std::string* err) {
  std::vector<std::string_view> p = split_commas(point);
  if (p.size() != 2) {
    *err = "expected X,Y, got '" + std::string(point) + "'";
    return false;
  }
  out->kind = InputAction::Kind::kMove;
  return parse_coordinate(p[0], "x", &out->x, err) && parse_coordinate(p[1], "y", &out->y, err);
}

bool make_move_rel_action(std::string_view delta, InputAction* out, std::string* err) {
  std::vector<std::string_view> p = split_commas(delta);
  if (p.size() != 2) {
    *err = "expected DX,DY, got '" + std::string(delta) + "'";
    return false;
  }
  out->kind = InputAction::Kind::kMoveRel;
  return parse_delta(p[0], "dx", &out->dx, err) && parse_delta(p[1], "dy", &out->dy, err);
}

bool make_click_action(std::string_view spec, InputAction* out, std::string* err) {
  std::vector<std::string_view> p = split_commas(spec);
  if (p.size() != 2 && p.size() != 3) {
    *err = "expected X,Y or X,Y,BUTTON, got '" + std::string(spec) + "'";
    return false;
  }
  out->kind = InputAction::Kind::kClick;
  out->button = 1;
  if (!parse_coordinate(p[0], "x", &out->x, err) || !parse_coordinate(p[1], "y", &out->y, err)) return false;
  return p.size() < 3 || parse_button(p[2], &out->button, err);
}

bool make_scroll_action(std::string_view amount, InputAction* out, std::string* err) {
  out->kind = InputAction::Kind::kScroll;
  if (!parse_int<int32_t>(trim(amount), -kMaxScroll, kMaxScroll, &out->amount) || out->amount == 0) {
    *err = "bad scroll amount '" + std::string(amount) + "' (notches, negative up, positive down, not 0)";
    return false;
  }
  return true;
}

bool parse_input_script(std::string_view content, std::string_view name, Layout layout,
                        std::vector<InputAction>* out, std::string* err) {
  std::string where(name);
  if (content.size() > kMaxScriptBytes) {
    *err = where + ": script is larger than " + std::to_string(kMaxScriptBytes >> 20) + " MiB";
    return false;
  }
  std::vector<InputAction> actions;
  size_t pos = 0;
  uint64_t line_no = 0;
  while (pos < content.size()) {
    ++line_no;
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string_view::npos ? content.size() : nl;
    std::string_view line = content.substr(pos, end - pos);
    pos = nl == std::string_view::npos ? content.size() : nl + 1;
    std::string prefix = where + ":" + std::to_string(line_no) + ": ";
    if (line.size() > kMaxScriptLine) {
      *err = prefix + "line longer than " + std::to_string(kMaxScriptLine) + " bytes";
      return false;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos) {
      *err = prefix + "NUL byte in the line (is this a text file?)";
      return false;
    }
    InputAction a;
    bool empty = false;
    std::string why;
    if (!script_line(line, layout, &a, &empty, &why)) {
      *err = prefix + why;
      return false;
    }
    if (empty) continue;
    a.source = where + ":" + std::to_string(line_no);
    actions.push_back(std::move(a));
  }
  out->insert(out->end(), std::make_move_iterator(actions.begin()), std::make_move_iterator(actions.end()));
  return true;
}

}  // namespace vredir
