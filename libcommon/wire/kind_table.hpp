// The one table of channel kinds and frame types. Every list of kinds in the
// toolkit derives from it: the decoder's validity checks and payload decoding,
// the "is this input" check, redir-dump's text and JSON descriptions (one
// describe function per frame type feeds both), split's routing words, and
// the checks that keep the completions and vredir-stream(5) in step
// (tests/cli/docs.sh reads it through the vrs-kinds test helper).
//
// Adding a kind: its entries here (kind_table.cpp), its codec in
// stream_format, a row in man/vredir-stream.5, and the tools that produce or
// consume it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vredir::stream {

struct ChannelInfo;
struct Event;
class Description;

struct KindEntry {
  uint8_t number = 0;
  const char* name = nullptr;
  // Carries input toward a VM or an app (keyboard, pointer, text): consumers
  // that deliver input take it, and a join routes it upstream.
  bool input = false;
  // Declaration parameters, for the docs: "rate channels format".
  const char* params = "";
  const char* summary = "";
  // Checks a declaration's parameters and fills the channel's derived fields
  // (audio's rate, channels and sample format). nullptr: nothing to check.
  bool (*declare)(ChannelInfo* channel, std::string* err) = nullptr;
};

struct TypeEntry {
  uint8_t number = 0;
  const char* name = nullptr;
  // The kind whose channels carry it; 0 for stream-level types (channel 0,
  // and CLOSE, which ends any channel).
  uint8_t kind = 0;
  // Decodes a frame on a channel of its kind into ev->payload, checking it
  // against the channel (a rect inside its surface) and updating the channel
  // (a new surface size). nullptr for stream-level types, which the decoder
  // handles itself. false and *err: the frame is malformed.
  bool (*decode)(ChannelInfo& channel, Event* ev, std::string* err) = nullptr;
  // Adds the frame's own fields to a description (both text and JSON).
  void (*describe)(const Event& ev, Description* out) = nullptr;
};

class KindTable {
 public:
  KindTable() = default;
  KindTable(const std::vector<KindEntry>& kinds, const std::vector<TypeEntry>& types);

  // Adds or replaces an entry (a test's made-up kind, a newer producer's).
  void add(const KindEntry& kind);
  void add(const TypeEntry& type);

  const KindEntry* kind(uint8_t number) const;  // nullptr: unknown kind
  const KindEntry* kind(std::string_view name) const;
  const TypeEntry* type(uint8_t number) const;  // nullptr: unknown type
  bool is_input(uint8_t kind) const;

  // In number order.
  std::vector<KindEntry> kinds() const;
  std::vector<TypeEntry> types() const;

 private:
  std::array<KindEntry, 256> kinds_{};
  std::array<TypeEntry, 256> types_{};
};

// The table of this version of the format (man/vredir-stream.5).
const KindTable& standard_table();

}  // namespace vredir::stream
