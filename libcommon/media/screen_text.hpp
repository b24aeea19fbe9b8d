// Text on a screen, wherever it was read from (a VGA text screen through
// its font, OCR, or an application's drawing commands), and finding a
// regular expression in it with the box of what matched.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "media/screen_match.hpp"

namespace vredir {

struct TextWord {
  std::string text;        // UTF-8
  ScreenRegion box;        // on the screen, in pixels
  double confidence = 1;   // 0..1 (1: exact)
  size_t start = 0;        // byte offset of the word in its line's text
  uint32_t advance = 0;    // pixels per character when every character has
                           // the same width (a text screen), else 0
};

struct TextLine {
  std::string text;  // UTF-8; words at their offsets (spacing kept where known)
  std::vector<TextWord> words;
};

struct ScreenText {
  std::string source;  // "vga-font", "tesseract" or "gdi"
  std::vector<TextLine> lines;

  // The lines joined by '\n' (trailing empty lines dropped).
  std::string text() const;
  // Only the words whose box lies inside region (more than half of each
  // word's area); lines left empty are dropped.
  ScreenText inside(const ScreenRegion& region) const;
  // Adds a line made of words (text rebuilt with single spaces).
  void add_line(std::vector<TextWord> words);
};

struct TextMatch {
  std::string text;  // what the expression matched
  ScreenRegion box;  // the words it touches
  uint32_t centre_x() const { return box.x + box.w / 2; }
  uint32_t centre_y() const { return box.y + box.h / 2; }
};

// {"source", "text", "words": [{"text","x","y","width","height","confidence"}]}.
nlohmann::ordered_json screen_text_json(const ScreenText& text);

// Compiles a user's expression (ECMAScript syntax, ^ and $ at line ends).
// false with *err on a bad expression.
bool compile_text_regex(const std::string& expression, std::regex* out, std::string* err);

// Searches the whole text (lines joined by '\n'); the first match wins.
bool find_text(const ScreenText& text, const std::regex& re, TextMatch* out);

}  // namespace vredir
