// One description of a stream event, rendered two ways: a text line and a
// JSON object. Each field says how it reads in each (a key, or a bare word in
// the text; a key in the JSON), so the text and the JSON come from the same
// describe function of the kind table and cannot drift apart. The text line
// is rendered here; the JSON object by the tool that prints it (redir-dump,
// with its JSON library), from fields().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "wire/stream_format.hpp"

namespace vredir::stream {

struct Event;

// A string from the stream: quoted and escaped in text, made safe in JSON.
struct Quoted {
  std::string s;
};
// A word of ours: as it is in both.
struct Word {
  std::string s;
};
// Text that is already a JSON value (a GDI record's description).
struct JsonText {
  std::string s;
};

using FieldValue = std::variant<uint64_t, int64_t, bool, double, Quoted, Word, Params, JsonText>;

struct Field {
  // In the text line: "text_key=value", or the bare value when text_key is
  // empty; absent when !in_text. Params read as " k=v" per parameter.
  bool in_text = true;
  std::string text_key;
  // In JSON: json_key: value; absent when json_key is empty.
  std::string json_key;
  FieldValue value;
};

class Description {
 public:
  // The same key in both.
  void both(const std::string& key, FieldValue v) { fields_.push_back({true, key, key, std::move(v)}); }
  void both(const std::string& text_key, const std::string& json_key, FieldValue v) {
    fields_.push_back({true, text_key, json_key, std::move(v)});
  }
  // Words of the text line only.
  void text(std::string words) { fields_.push_back({true, "", "", Word{std::move(words)}}); }
  void text(const std::string& key, FieldValue v) { fields_.push_back({true, key, "", std::move(v)}); }
  // A JSON member only.
  void json(const std::string& key, FieldValue v) { fields_.push_back({false, "", key, std::move(v)}); }

  const std::vector<Field>& fields() const { return fields_; }
  // The fields that are in the text, separated by single spaces.
  std::string text_line() const;

 private:
  std::vector<Field> fields_;
};

// The whole description of an event: where it is in the stream (offset,
// time, channel, type, flags), then its payload's fields from the kind
// table's describe function.
Description describe(const Event& ev);

// Printable form of untrusted text: quoted, with control bytes escaped.
std::string printable(std::string_view s);

}  // namespace vredir::stream
