#include "stream_screens.hpp"

namespace vredir {

using namespace stream;

Status StreamScreens::add(const Event& ev, Screen** completed) {
  *completed = nullptr;
  if (ev.type() == FrameType::kDeclare && ev.channel) {
    const ChannelInfo& ch = *ev.channel;
    if (!ch.known_kind || (ch.kind_enum() != ChannelKind::kDisplay && ch.kind_enum() != ChannelKind::kGdi))
      return Status::ok();
    bool want = wanted_.empty();
    for (const std::string& w : wanted_) want |= w == std::to_string(ch.id) || w == ch.name;
    if (!want) return Status::ok();
    auto s = std::make_unique<Screen>();
    s->id = ch.id;
    s->name = ch.name;
    s->gdi = ch.kind_enum() == ChannelKind::kGdi;
    screens_[ch.id] = std::move(s);
    return Status::ok();
  }
  if (ev.what != Event::What::kFrame) return Status::ok();
  auto it = screens_.find(ev.frame.header.channel);
  if (it == screens_.end()) return Status::ok();
  Screen& s = *it->second;
  std::string err;
  if (s.gdi) {
    if (ev.type() != FrameType::kGdi) return Status::ok();
    gdi::Record rec;
    if (!gdi::decode_record(ev.frame.payload, &rec, &err))
      return fail(kExitMalformed, err + " in a GDI frame at offset " + std::to_string(ev.frame.offset));
    s.model.add(rec);
    if (std::holds_alternative<gdi::Flush>(rec)) {
      s.complete = true;
      s.shown_us = ev.frame.header.timestamp_us;
      *completed = &s;
    }
    return Status::ok();
  }
  if (const auto* sf = std::get_if<Surface>(&ev.payload)) {
    s.surface.resize(sf->width, sf->height);
  } else if (const auto* r = std::get_if<Rect>(&ev.payload)) {
    if (!s.surface.apply(*r, &err)) return fail(kExitMalformed, err + " in RECT at offset " + std::to_string(ev.frame.offset));
  } else if (std::holds_alternative<FrameEnd>(ev.payload) && s.surface.width()) {
    s.complete = true;
    s.shown_us = ev.frame.header.timestamp_us;
    *completed = &s;
  }
  return Status::ok();
}

Status StreamScreens::text(Screen& s, const ScreenRegion& region, bool ocr, ScreenText* out) {
  if (s.gdi) {
    *out = s.model.text(region);
    return Status::ok();
  }
  if (!s.surface.width()) {
    *out = ScreenText{};
    return Status::ok();
  }
  const std::vector<uint32_t>& px = s.surface.pixels();
  return reader_.read(px.data(), s.surface.width(), s.surface.height(), region, out,
                      ocr ? ScreenReader::Method::kAuto : ScreenReader::Method::kFont);
}

std::vector<StreamScreens::Screen*> StreamScreens::screens() {
  std::vector<Screen*> out;
  for (auto& [id, s] : screens_) out.push_back(s.get());
  return out;
}

}  // namespace vredir
