// Local keyboard and pointer input as a vredir stream: HELLO "x-replay", one
// keyboard channel, one pointer channel per display window (params display,
// width, height), per-channel sequence numbers from 1, END on exit. Every
// frame is written at once, so a consumer such as redir-inject sees each
// event as it happens.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "wire/stream_writer.hpp"

namespace xreplay {

class InputWriter {
 public:
  // fd < 0: input is not written (stdout is a terminal).
  explicit InputWriter(int fd);

  bool enabled() const { return fd_ >= 0; }
  vredir::Status begin();
  vredir::Status key(uint16_t code, bool down, uint32_t keysym);
  // A display window appeared or changed size: its pointer channel is
  // declared, or closed and declared again with the new size (its sequence
  // numbers start again at 1, as for any newly declared channel).
  // head: the display channel's own head parameter ("" when it has none),
  // passed on so that the injector knows which of the VM's heads it is.
  vredir::Status display_shown(uint16_t display, const std::string& name, uint32_t width, uint32_t height,
                               const std::string& head = "");
  vredir::Status display_gone(uint16_t display);
  vredir::Status pointer(uint16_t display, int32_t x, int32_t y, uint32_t buttons);
  // Relative motion on the same pointer channel (the pointer grab).
  vredir::Status pointer_rel(uint16_t display, int32_t dx, int32_t dy, uint32_t buttons);
  // An upstream GDI record (vredir-gdi(5)) for the windows of the gdi
  // channel `gdi` of the input stream. Its upstream gdi channel is declared
  // on first use with the same id when free (else the next free id), params
  // app=NAME downstream=ID.
  vredir::Status gdi(uint16_t gdi, const std::string& name, std::string_view payload);
  // Text copied locally, for the app whose clipboard channel is `app`: an
  // upstream clipboard channel is declared on first use like gdi's (params
  // app=NAME downstream=ID).
  vredir::Status clipboard(uint16_t app, const std::string& name, const std::string& utf8);
  vredir::Status end(vredir::stream::EndReason reason, const std::string& message = "");

 private:
  struct PointerChannel {
    uint16_t id = 0;
    uint64_t seq = 0;
    uint32_t width = 0, height = 0;
  };
  static constexpr uint16_t kKeyboardChannel = 1;

  int fd_;
  vredir::stream::StreamWriter writer_;
  bool begun_ = false;
  uint64_t key_seq_ = 0;
  uint16_t next_id_ = kKeyboardChannel + 1;
  std::map<uint16_t, PointerChannel> pointers_;  // by display channel id
  std::map<uint16_t, uint16_t> gdi_;             // gdi channel id -> upstream id
  std::map<uint16_t, uint16_t> clipboard_;       // app clipboard channel id -> upstream id
  uint16_t upstream_for(std::map<uint16_t, uint16_t>& routes, uint16_t down, vredir::stream::ChannelKind kind,
                        const std::string& name, vredir::Status* st);
  bool id_used(uint16_t id) const;
  uint16_t take_id();
};

}  // namespace xreplay
