#include "wire/kind_table.hpp"

#include <cstdio>

#include "wire/describe.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir::stream {

// --- the table ----------------------------------------------------------------

KindTable::KindTable(const std::vector<KindEntry>& kinds, const std::vector<TypeEntry>& types) {
  for (const KindEntry& k : kinds) add(k);
  for (const TypeEntry& t : types) add(t);
}

void KindTable::add(const KindEntry& kind) { kinds_[kind.number] = kind; }
void KindTable::add(const TypeEntry& type) { types_[type.number] = type; }

const KindEntry* KindTable::kind(uint8_t number) const {
  const KindEntry& k = kinds_[number];
  return k.name ? &k : nullptr;
}

const KindEntry* KindTable::kind(std::string_view name) const {
  for (const KindEntry& k : kinds_)
    if (k.name && name == k.name) return &k;
  return nullptr;
}

const TypeEntry* KindTable::type(uint8_t number) const {
  const TypeEntry& t = types_[number];
  return t.name ? &t : nullptr;
}

bool KindTable::is_input(uint8_t kind) const {
  const KindEntry* k = this->kind(kind);
  return k && k->input;
}

std::vector<KindEntry> KindTable::kinds() const {
  std::vector<KindEntry> out;
  for (const KindEntry& k : kinds_)
    if (k.name) out.push_back(k);
  return out;
}

std::vector<TypeEntry> KindTable::types() const {
  std::vector<TypeEntry> out;
  for (const TypeEntry& t : types_)
    if (t.name) out.push_back(t);
  return out;
}

namespace {

std::string hex(uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*x", digits, v);
  return buf;
}

template <typename T, typename Fn>
bool decode_into(Event* ev, Fn fn, std::string* why) {
  T v;
  if (!fn(ev->frame.payload, &v, why)) return false;
  ev->payload = std::move(v);
  return true;
}

// --- declarations ---------------------------------------------------------------

bool declare_audio(ChannelInfo* ch, std::string* err) {
  if (!param_u32(ch->params, "rate", &ch->rate) || !param_u32(ch->params, "channels", &ch->channels)) {
    *err = "audio channel without numeric rate and channels";
    return false;
  }
  if (auto fmt = ch->params.find("format"); fmt != ch->params.end()) {
    auto f = sample_format_from_name(fmt->second);
    if (!f) {
      *err = "audio sample format " + printable(fmt->second.substr(0, 32)) + " not supported";
      return false;
    }
    ch->format = *f;
  }
  if (ch->rate == 0 || ch->rate > kMaxAudioRate || ch->channels == 0 || ch->channels > kMaxAudioChannels) {
    *err = "audio rate or channel count out of range";
    return false;
  }
  return true;
}

// --- decoding on a channel ------------------------------------------------------

bool decode_surface_on(ChannelInfo& ch, Event* ev, std::string* why) {
  if (!decode_into<Surface>(ev, decode_surface, why)) return false;
  const Surface& s = std::get<Surface>(ev->payload);
  ch.width = s.width;
  ch.height = s.height;
  return true;
}

bool decode_rect_on(ChannelInfo& ch, Event* ev, std::string* why) {
  if (!decode_into<Rect>(ev, decode_rect, why)) return false;
  const Rect& r = std::get<Rect>(ev->payload);
  if (ch.width == 0) {
    *why = "rect before SURFACE on channel " + std::to_string(ch.id);
    return false;
  }
  auto inside = [&](uint64_t x, uint64_t y) { return x + r.w <= ch.width && y + r.h <= ch.height; };
  if (!inside(r.x, r.y)) {
    *why = "rect " + std::to_string(r.w) + "x" + std::to_string(r.h) + "+" + std::to_string(r.x) + "+" +
           std::to_string(r.y) + " outside the " + std::to_string(ch.width) + "x" + std::to_string(ch.height) +
           " surface";
    return false;
  }
  if (r.encoding == RectEncoding::kCopyRect && !inside(r.src_x, r.src_y)) {
    *why = "copy-rect source outside the surface";
    return false;
  }
  if (encoding_name(r.encoding) == nullptr) ev->what = Event::What::kUnknownEncoding;
  return true;
}

bool decode_audio_on(ChannelInfo& ch, Event* ev, std::string* why) {
  uint64_t frame_bytes = audio_frame_bytes(ch);
  if (frame_bytes == 0 || ev->frame.payload.size() % frame_bytes != 0) {
    *why = "audio data of " + std::to_string(ev->frame.payload.size()) + " bytes is not whole samples";
    return false;
  }
  ev->payload = AudioData{ev->frame.payload};
  return true;
}

size_t state_bytes(const gdi::State& s) { return sizeof(gdi::State) + s.clip.size() * sizeof(gdi::Rect); }

bool decode_gdi_on(ChannelInfo& ch, Event* ev, std::string* why) {
  // Checked by the gdi codec here so every reader refuses a malformed record;
  // consumers decode the payload again with gdi::decode_record.
  gdi::Record rec;
  if (!gdi::decode_record(ev->frame.payload, &rec, why)) return false;
  auto* st = std::get_if<gdi::State>(&rec);
  if (!st || !ch.keep_gdi_states) return true;
  if (auto old = ch.gdi_states.find(st->target); old != ch.gdi_states.end()) {
    ch.gdi_state_bytes -= state_bytes(old->second);
    ch.gdi_states.erase(old);
  }
  // Over the budget: start afresh rather than grow (descriptions then show
  // fewer colours; decoding is unaffected).
  if (ch.gdi_state_bytes + state_bytes(*st) > kMaxGdiStateBytes) {
    ch.gdi_states.clear();
    ch.gdi_state_bytes = 0;
  }
  ch.gdi_state_bytes += state_bytes(*st);
  ch.gdi_states[st->target] = std::move(*st);
  return true;
}

template <typename T, bool (*Fn)(std::span<const uint8_t>, T*, std::string*)>
bool decode_plain(ChannelInfo&, Event* ev, std::string* why) {
  return decode_into<T>(ev, Fn, why);
}

bool decode_opaque(ChannelInfo&, Event*, std::string*) { return true; }

// --- descriptions -----------------------------------------------------------------

template <typename T>
const T* payload_of(const Event& ev) {
  return std::get_if<T>(&ev.payload);
}

void describe_hello(const Event& ev, Description* d) {
  const Hello* v = payload_of<Hello>(ev);
  if (!v) return;
  d->both("producer", Quoted{v->producer});
  d->both("version", Quoted{v->version});
  d->both("", "params", v->params);
}

void describe_declare(const Event& ev, Description* d) {
  const Declare* v = payload_of<Declare>(ev);
  if (!v || !ev.channel) return;
  d->both("id", uint64_t(v->id));
  d->both("kind", "declared_kind", Word{ev.channel->kind_label()});
  d->both("name", Quoted{v->name});
  d->both("", "params", v->params);
  if (!ev.channel->known_kind) d->text("(unknown kind: its frames will be skipped)");
}

void describe_end(const Event& ev, Description* d) {
  const End* v = payload_of<End>(ev);
  if (!v) return;
  d->both("reason", Word{end_reason_name(v->reason)});
  if (v->message.empty()) d->json("message", Quoted{v->message});
  else d->both("message", Quoted{v->message});
}

void describe_surface(const Event& ev, Description* d) {
  const Surface* v = payload_of<Surface>(ev);
  if (!v) return;
  d->text(std::to_string(v->width) + "x" + std::to_string(v->height) + " bgrx8888");
  d->json("width", uint64_t(v->width));
  d->json("height", uint64_t(v->height));
}

void describe_rect(const Event& ev, Description* d) {
  const Rect* v = payload_of<Rect>(ev);
  if (!v) return;
  d->text(std::to_string(v->w) + "x" + std::to_string(v->h) + "+" + std::to_string(v->x) + "+" +
          std::to_string(v->y));
  d->json("x", uint64_t(v->x));
  d->json("y", uint64_t(v->y));
  d->json("w", uint64_t(v->w));
  d->json("h", uint64_t(v->h));
  const char* en = encoding_name(v->encoding);
  if (!en) {
    d->both("enc", "encoding", uint64_t(v->encoding));
    d->text("unknown encoding, skipped");
    return;
  }
  d->both("enc", "encoding", Word{en});
  if (v->encoding == RectEncoding::kSolid) {
    d->both("colour", Word{hex(v->colour & 0xffffff, 6)});
  } else if (v->encoding == RectEncoding::kCopyRect) {
    d->text("from", Word{std::to_string(v->src_x) + "," + std::to_string(v->src_y)});
    d->json("src_x", uint64_t(v->src_x));
    d->json("src_y", uint64_t(v->src_y));
  } else {
    d->both("bytes", uint64_t(v->data.size()));
  }
}

void describe_frame_end(const Event& ev, Description* d) {
  if (const FrameEnd* v = payload_of<FrameEnd>(ev)) d->both("seq", v->seq);
}

void describe_cursor_shape(const Event& ev, Description* d) {
  const CursorShape* v = payload_of<CursorShape>(ev);
  if (!v) return;
  d->text(std::to_string(v->w) + "x" + std::to_string(v->h));
  d->text("hot", Word{std::to_string(v->hot_x) + "," + std::to_string(v->hot_y)});
  d->json("w", uint64_t(v->w));
  d->json("h", uint64_t(v->h));
  d->json("hot_x", uint64_t(v->hot_x));
  d->json("hot_y", uint64_t(v->hot_y));
}

void describe_cursor_pos(const Event& ev, Description* d) {
  const CursorPos* v = payload_of<CursorPos>(ev);
  if (!v) return;
  d->text(std::to_string(v->x) + "," + std::to_string(v->y));
  if (!v->visible) d->text("hidden");
  d->json("x", int64_t(v->x));
  d->json("y", int64_t(v->y));
  d->json("visible", v->visible);
}

void describe_audio(const Event& ev, Description* d) {
  const AudioData* v = payload_of<AudioData>(ev);
  if (!v) return;
  uint64_t per = ev.channel ? audio_frame_bytes(*ev.channel) : 0;
  if (per == 0) per = sample_bytes(SampleFormat::kS16le);
  d->text("samples", uint64_t(v->pcm.size() / per));
  d->both("bytes", uint64_t(v->pcm.size()));
}

void describe_key(const Event& ev, Description* d) {
  const Key* v = payload_of<Key>(ev);
  if (!v) return;
  d->both("seq", v->seq);
  d->both("code", uint64_t(v->code));
  d->text(v->down ? "down" : "up");
  d->json("down", v->down);
  if (v->keysym) d->text("keysym", Word{"0x" + hex(v->keysym & 0xffffff, 6)});
  d->json("keysym", uint64_t(v->keysym));
}

void describe_pointer(const Event& ev, Description* d) {
  const Pointer* v = payload_of<Pointer>(ev);
  if (!v) return;
  d->both("seq", v->seq);
  d->text(std::to_string(v->x) + "," + std::to_string(v->y));
  d->json("x", int64_t(v->x));
  d->json("y", int64_t(v->y));
  d->both("buttons", uint64_t(v->buttons));
}

void describe_pointer_rel(const Event& ev, Description* d) {
  const PointerRel* v = payload_of<PointerRel>(ev);
  if (!v) return;
  d->both("seq", v->seq);
  d->text((v->dx < 0 ? "" : "+") + std::to_string(v->dx) + "," + (v->dy < 0 ? "" : "+") + std::to_string(v->dy));
  d->json("dx", int64_t(v->dx));
  d->json("dy", int64_t(v->dy));
  d->both("buttons", uint64_t(v->buttons));
}

void describe_text_frame(const Event& ev, Description* d) {
  const Text* v = payload_of<Text>(ev);
  if (!v) return;
  d->both("seq", v->seq);
  d->both("", "text", Quoted{v->utf8});
}

void describe_clipboard(const Event& ev, Description* d) {
  const Clipboard* v = payload_of<Clipboard>(ev);
  if (!v) return;
  d->both("format", Word{"utf8-text"});
  d->both("bytes", uint64_t(v->data.size()));
  d->both("", "text", Quoted{v->data});
}

void describe_ack(const Event& ev, Description* d) {
  const Ack* v = payload_of<Ack>(ev);
  if (!v) return;
  d->both("channel", "acked_channel", uint64_t(v->channel));
  d->both("seq", v->seq);
  d->both("", "status", Word{v->status == AckStatus::kDelivered ? "delivered" : "failed"});
}

void describe_control(const Event& ev, Description* d) {
  const Control* v = payload_of<Control>(ev);
  if (!v) return;
  d->both("", "verb", Quoted{v->verb});
  d->both("", "args", v->args);
}

void describe_gdi(const Event& ev, Description* d) {
  gdi::Record rec;
  if (!gdi::decode_record(ev.frame.payload, &rec, nullptr)) return;
  const gdi::State* state = nullptr;
  if (ev.channel) {
    auto it = ev.channel->gdi_states.find(gdi::target_of(rec));
    if (it != ev.channel->gdi_states.end()) state = &it->second;
  }
  d->text(gdi::describe(rec, state));
  d->json("gdi", JsonText{gdi::to_json(rec, state)});
}

void describe_length(const Event& ev, Description* d) { d->text("bytes", uint64_t(ev.frame.header.length)); }

// A serial console's bytes are text to a reader: shown escaped.
void describe_data(const Event& ev, Description* d) {
  describe_length(ev, d);
  if (!ev.channel) return;
  auto purpose = ev.channel->params.find("purpose");
  if (purpose == ev.channel->params.end() || purpose->second != kPurposeSerial) return;
  const auto& p = ev.frame.payload;
  d->both("", "text", Quoted{std::string(reinterpret_cast<const char*>(p.data()), p.size())});
}

KindTable make_standard_table() {
  using K = ChannelKind;
  auto k = [](K kind) { return static_cast<uint8_t>(kind); };
  auto t = [](FrameType type) { return static_cast<uint8_t>(type); };
  return KindTable(
      {
          {k(K::kDisplay), "display", false, "width height head", "a framebuffer: SURFACE, RECT, FRAME_END", nullptr},
          {k(K::kCursor), "cursor", false, "display", "the pointer's shape and position", nullptr},
          {k(K::kAudio), "audio", false, "rate channels format", "PCM samples", declare_audio},
          {k(K::kKeyboard), "keyboard", true, "device", "key presses and releases (evdev codes)", nullptr},
          {k(K::kPointer), "pointer", true, "device width height", "pointer positions (or relative motion) and buttons", nullptr},
          {k(K::kText), "text", true, "keymap", "text to type (UTF-8)", nullptr},
          {k(K::kControl), "control", false, "", "VM control commands", nullptr},
          {k(K::kAck), "ack", false, "", "acknowledgements of input", nullptr},
          {k(K::kGdi), "gdi", false, "app pid", "a Windows app's windows and drawing commands (vredir-gdi(5))",
           nullptr},
          {k(K::kBytes), "bytes", false, "purpose", "an opaque byte tunnel (serial, QMP, usbredir)", nullptr},
          {k(K::kClipboard), "clipboard", false, "app downstream",
           "clipboard text, from an app to its viewer or back (downstream: the channel it answers)", nullptr},
      },
      {
          {t(FrameType::kHello), "HELLO", 0, nullptr, describe_hello},
          {t(FrameType::kDeclare), "DECLARE", 0, nullptr, describe_declare},
          {t(FrameType::kClose), "CLOSE", 0, nullptr, nullptr},
          {t(FrameType::kDeflate), "DEFLATE", 0, nullptr, describe_length},
          {t(FrameType::kEnd), "END", 0, nullptr, describe_end},
          {t(FrameType::kSurface), "SURFACE", k(K::kDisplay), decode_surface_on, describe_surface},
          {t(FrameType::kRect), "RECT", k(K::kDisplay), decode_rect_on, describe_rect},
          {t(FrameType::kFrameEnd), "FRAME_END", k(K::kDisplay), decode_plain<FrameEnd, decode_frame_end>,
           describe_frame_end},
          {t(FrameType::kCursorShape), "CURSOR_SHAPE", k(K::kCursor), decode_plain<CursorShape, decode_cursor_shape>,
           describe_cursor_shape},
          {t(FrameType::kCursorPos), "CURSOR_POS", k(K::kCursor), decode_plain<CursorPos, decode_cursor_pos>,
           describe_cursor_pos},
          {t(FrameType::kAudioData), "AUDIO", k(K::kAudio), decode_audio_on, describe_audio},
          {t(FrameType::kKey), "KEY", k(K::kKeyboard), decode_plain<Key, decode_key>, describe_key},
          {t(FrameType::kPointer), "POINTER", k(K::kPointer), decode_plain<Pointer, decode_pointer>,
           describe_pointer},
          {t(FrameType::kPointerRel), "POINTER_REL", k(K::kPointer), decode_plain<PointerRel, decode_pointer_rel>,
           describe_pointer_rel},
          {t(FrameType::kText), "TEXT", k(K::kText), decode_plain<Text, decode_text>, describe_text_frame},
          {t(FrameType::kAck), "ACK", k(K::kAck), decode_plain<Ack, decode_ack>, describe_ack},
          {t(FrameType::kControl), "CONTROL", k(K::kControl), decode_plain<Control, decode_control>,
           describe_control},
          {t(FrameType::kGdi), "GDI", k(K::kGdi), decode_gdi_on, describe_gdi},
          {t(FrameType::kData), "DATA", k(K::kBytes), decode_opaque, describe_data},
          {t(FrameType::kClipboard), "CLIPBOARD", k(K::kClipboard), decode_plain<Clipboard, decode_clipboard>,
           describe_clipboard},
      });
}

}  // namespace

const KindTable& standard_table() {
  static const KindTable table = make_standard_table();
  return table;
}

}  // namespace vredir::stream
