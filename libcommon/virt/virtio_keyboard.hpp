// Key events into a VM's virtio keyboard through QEMU's monitor (libvirt's
// QMP passthrough), paced on the guest's own buffers.
//
// Why: QEMU's VNC server releases key events through ui/input.c's key queue
// at one per key-delay-ms (10 ms), a ceiling of 100 key events/s that libvirt
// gives no way to change. QMP input-send-event has no such delay, but feeding
// a PS/2 keyboard that way overruns its 16-byte queue (hw/input/ps2.c) with no
// way to see it happen. A virtio keyboard is different: QEMU delivers each
// event into a buffer the guest driver posted on the event virtqueue, and
// drops a whole report when there are not enough (hw/input/virtio-input.c).
// QEMU 7.0's x-query-virtio-queue-element reads the queue's avail and used
// indexes from guest memory, so the number of posted buffers is known before
// sending: a batch goes out only when every one of its events (plus the
// report's SYN) has a buffer, and the used index advancing by that much
// confirms it was delivered to the device. Nothing runs in the guest.
//
// QEMU passes key events given by number one at a time, each followed by its
// own SYN (ui/input.c), so every event takes two buffers, and a drop for want
// of buffers loses single events, never part of one.
//
// The events go through the domain's D-Bus display when it is on the
// domain's own bus (<graphics type='dbus'/>; virt/dbus_display.hpp: no
// per-byte monitor reads, so about 1.7x the rate), else as QMP
// input-send-event; the pacing and the confirmation are the same.
// A domain without such a display gets QEMU's Barrier client instead of the
// monitor for the events (virt/barrier_keyboard.hpp: about 1.9x the monitor's
// rate); VREDIR_VIRTIO_VIA_BARRIER=0 keeps them on the monitor.
// VREDIR_VIRTIO_VIA_DBUS=0 keeps them on QMP; =1 takes a peer-to-peer
// display too, which QEMU 7.2 serves to one client at a time (a running
// capture's cursor positions stop).
//
// The batch size also bounds what one batch puts into the guest at once: its
// evdev clients have a 64-event buffer (63 usable) and the driver hands a
// whole batch over before any reader runs, so a batch of 16 keys (32 events
// with their SYNs) leaves a reader half the buffer of slack.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "virt/barrier_keyboard.hpp"
#include "virt/dbus_display.hpp"
#include "virt/input_hotplug.hpp"
#include "virt/hypervisor.hpp"
#include "input/keymap.hpp"
#include "rfb/rfb_input.hpp"
#include "wire/status.hpp"

namespace vredir {

class VirtioKeyboard : public KeyBatchPath {
 public:
  static constexpr int kMaxBatch = 16;  // key events per report
  // Buffers of the 64-buffer event queue left unfilled whatever the guest
  // has taken in, so that what it takes in at once fits an evdev reader's
  // 64-event buffer (63 usable) with one to spare.
  static constexpr int kSpareBuffers = 2;

  // Finds the running domain's virtio keyboard and checks that its QEMU can
  // report the event queue. kExitNotFound when the domain has no virtio
  // keyboard; kExitFailure when QEMU is too old (no x-query-virtio).
  Status open(Domain domain);
  // The virtio keyboard at a known QOM path (one hot-plugged for the session,
  // virt/input_hotplug.hpp).
  Status open_path(Domain domain, std::string qom_path);
  // A seat's keyboard (virt/input_hotplug.hpp attach_seat): events go to
  // the console of its head, which QEMU hands to the devices bound there
  // alone, through the D-Bus display's Console_N or QMP input-send-event
  // with device and head (never the Barrier client, which has no head).
  Status open_seat(Domain domain, std::string qom_path, const SeatBinding& binding);
  const std::string& qom_path() const { return path_; }
  // "the D-Bus display" or "QMP": how the events reach QEMU.
  const char* route() const { return dbus_ ? "the D-Bus display" : barrier_ ? "QEMU's Barrier client" : "QMP"; }

  // Delivers keys (at most kMaxBatch) as one batch: waits until the guest
  // has posted enough buffers, sends, and confirms from the used index.
  Status send(std::span<const KeyPress> keys, int timeout_ms) override;
  int max_batch() const override { return kMaxBatch; }

  uint64_t batches() const { return batches_; }
  uint64_t waits() const { return waits_; }
  uint64_t resent() const { return resent_; }

 private:
  Status qmp(const std::string& command, std::string* reply) const;
  // Buffers the guest has posted and QEMU has not used yet, and the used index.
  Status queue_state(int* free_buffers, uint16_t* used_idx) const;
  // Sends keys once, through D-Bus or QMP.
  Status deliver(std::span<const KeyPress> keys, int timeout_ms);

  Domain dom_;
  std::string path_;
  std::optional<SeatBinding> seat_;
  std::unique_ptr<DbusKeyboard> dbus_;
  std::unique_ptr<BarrierKeyboard> barrier_;
  int known_free_ = -1;  // buffers free as last seen (-1: not yet asked)
  uint16_t known_used_ = 0;
  uint64_t batches_ = 0, waits_ = 0, resent_ = 0;
};

}  // namespace vredir
