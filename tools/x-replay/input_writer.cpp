#include "input_writer.hpp"

#include "sys/stdio_files.hpp"

using vredir::Status;
namespace stream = vredir::stream;

namespace xreplay {

InputWriter::InputWriter(int fd)
    : fd_(fd), writer_([this](std::string_view data) { return vredir::write_all(fd_, data, "stdout"); }) {}

Status InputWriter::begin() {
  if (!enabled()) return Status::ok();
  if (Status st = writer_.begin("x-replay"); !st) return st;
  begun_ = true;
  return writer_.declare(kKeyboardChannel, stream::ChannelKind::kKeyboard, "keyboard", {{"device", "x11"}});
}

Status InputWriter::key(uint16_t code, bool down, uint32_t keysym) {
  if (!begun_) return Status::ok();
  return writer_.key(kKeyboardChannel, stream::Key{++key_seq_, code, down, keysym});
}

Status InputWriter::display_shown(uint16_t display, const std::string& name, uint32_t width, uint32_t height,
                                  const std::string& head) {
  if (!begun_) return Status::ok();
  auto it = pointers_.find(display);
  if (it != pointers_.end()) {
    if (it->second.width == width && it->second.height == height) return Status::ok();
    if (Status st = writer_.close_channel(it->second.id); !st) return st;
  } else {
    uint16_t id = take_id();
    if (id == 0) return Status::ok();  // 65535 channels used: no more
    it = pointers_.emplace(display, PointerChannel{id, 0, 0, 0}).first;
  }
  PointerChannel& p = it->second;
  p.seq = 0;
  p.width = width;
  p.height = height;
  stream::Params params{{"device", "x11"},
                        {"display", std::to_string(display)},
                        {"width", std::to_string(width)},
                        {"height", std::to_string(height)}};
  if (!head.empty()) params["head"] = head;
  return writer_.declare(p.id, stream::ChannelKind::kPointer, "pointer-" + name, params);
}

Status InputWriter::display_gone(uint16_t display) {
  auto it = pointers_.find(display);
  if (!begun_ || it == pointers_.end()) return Status::ok();
  uint16_t id = it->second.id;
  pointers_.erase(it);
  return writer_.close_channel(id);
}

Status InputWriter::pointer(uint16_t display, int32_t x, int32_t y, uint32_t buttons) {
  auto it = pointers_.find(display);
  if (!begun_ || it == pointers_.end()) return Status::ok();
  return writer_.pointer(it->second.id, stream::Pointer{++it->second.seq, x, y, buttons});
}

Status InputWriter::pointer_rel(uint16_t display, int32_t dx, int32_t dy, uint32_t buttons) {
  auto it = pointers_.find(display);
  if (!begun_ || it == pointers_.end()) return Status::ok();
  return writer_.pointer_rel(it->second.id, stream::PointerRel{++it->second.seq, dx, dy, buttons});
}

bool InputWriter::id_used(uint16_t id) const {
  if (id == kKeyboardChannel) return true;
  for (const auto& [d, p] : pointers_)
    if (p.id == id) return true;
  for (const auto& routes : {&gdi_, &clipboard_})
    for (const auto& [g, u] : *routes)
      if (u == id) return true;
  return false;
}

uint16_t InputWriter::take_id() {
  while (next_id_ != 0 && id_used(next_id_)) ++next_id_;
  return next_id_ == 0 ? 0 : next_id_++;
}

uint16_t InputWriter::upstream_for(std::map<uint16_t, uint16_t>& routes, uint16_t down,
                                   stream::ChannelKind kind, const std::string& name, Status* st) {
  auto it = routes.find(down);
  if (it != routes.end()) return it->second;
  uint16_t id = id_used(down) ? take_id() : down;
  if (id == 0) return 0;
  routes.emplace(down, id);
  *st = writer_.declare(id, kind, name, {{"app", name}, {"downstream", std::to_string(down)}});
  return *st ? id : 0;
}

Status InputWriter::gdi(uint16_t gdi, const std::string& name, std::string_view payload) {
  if (!begun_) return Status::ok();
  Status st;
  uint16_t id = upstream_for(gdi_, gdi, stream::ChannelKind::kGdi, name, &st);
  if (id == 0) return st;
  return writer_.frame(id, stream::FrameType::kGdi, payload);
}

Status InputWriter::clipboard(uint16_t app, const std::string& name, const std::string& utf8) {
  if (!begun_) return Status::ok();
  Status st;
  uint16_t id = upstream_for(clipboard_, app, stream::ChannelKind::kClipboard, name, &st);
  if (id == 0) return st;
  std::string payload;
  stream::encode_clipboard(stream::Clipboard{stream::ClipboardFormat::kUtf8Text, utf8}, payload);
  return writer_.frame(id, stream::FrameType::kClipboard, payload);
}

Status InputWriter::end(stream::EndReason reason, const std::string& message) {
  if (!begun_ || writer_.ended()) return Status::ok();
  return writer_.end(reason, message);
}

}  // namespace xreplay
