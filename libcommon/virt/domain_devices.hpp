// The virtual I/O devices of a libvirt domain, read from its XML: displays,
// video heads, inputs, sound and audio backends, USB, serial consoles and the
// guest-agent channel. Capture, inject and mux pick their per-device drivers
// from this plain data type, so it holds facts only and no libvirt handles.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.hpp"

namespace vredir {

struct GraphicsDevice {
  std::string type;         // vnc, spice, dbus, sdl, egl-headless, rdp...
  std::string listen_type;  // address, socket, network, none (empty if absent); dbus: p2p or bus
  std::string address;      // listen address when listen_type is address; dbus: the bus's (unix:path=...)
  std::string socket;       // unix socket path when listen_type is socket
  int port = -1;            // -1: none or not known (inactive autoport domain)
  bool autoport = false;
  std::string audio_id;     // <audio id='N'/> inside the graphics element
};

struct VideoDevice {
  std::string model;  // virtio, vga, cirrus, qxl, bochs, ramfb, none...
  int heads = 1;
  bool primary = false;
  std::string alias;  // <alias name=.../> of a running domain ("video0"), its QEMU device id
  unsigned long long vram_kib = 0;
};

struct InputDevice {
  std::string type;  // keyboard, mouse, tablet, passthrough, evdev
  std::string bus;   // ps2, usb, virtio, xen...
  std::string alias;  // <alias name=.../> of a running domain ("" otherwise)
};

struct SoundDevice {
  std::string model;     // ich6, ich9, ac97, es1370, sb16, usb, hda...
  std::string audio_id;  // <audio id='N'/> inside the sound element
};

struct AudioBackend {
  std::string id;
  std::string type;  // none, spice, pulseaudio, alsa, file, dbus...
};

struct UsbController {
  std::string model;  // qemu-xhci, nec-xhci, piix3-uhci, ich9-ehci1...
  int index = 0;
  int ports = -1;
};

struct RedirDevice {
  std::string bus;   // usb
  std::string type;  // spicevmc, tcp
};

struct SerialConsole {
  std::string element;      // serial or console
  std::string type;         // pty, file, unix, tcp, null...
  std::string target_type;  // isa-serial, serial, virtio, pci-serial...
  int target_port = -1;
  std::string source_path;  // pty device, file or socket path
};

// A <controller type='pci'>: pci-root, pcie-root, pcie-root-port, pci-bridge...
struct PciController {
  std::string model;
  int index = 0;
  bool occupied = false;  // some device sits on the bus it provides
};

struct AgentChannel {
  bool present = false;
  std::string state;        // connected, disconnected, or empty when unknown
  std::string source_path;  // unix socket path when known
};

struct DomainDevices {
  std::string machine;  // <os><type machine=...>: pc-q35-8.2, q35, pc-i440fx-..., pc
  std::vector<GraphicsDevice> graphics;
  std::vector<VideoDevice> video;
  std::vector<InputDevice> inputs;
  std::vector<SoundDevice> sound;
  std::vector<AudioBackend> audio;
  std::vector<UsbController> usb;
  std::vector<RedirDevice> redirdevs;
  std::vector<SerialConsole> serials;  // <serial> and <console> elements
  std::vector<PciController> pci;
  AgentChannel agent;

  // The primary video model ("" when there is none).
  std::string primary_video_model() const;
  // Index (among <graphics>) of the first device of the given type, or -1.
  int graphics_index(std::string_view type) const;
  // The heads, one QEMU console each, in console order: a virtio video
  // device has `heads` of them, any other model one.
  int head_count() const;
  // Whether a capture gets the heads beyond the first: through a D-Bus
  // display that several clients share (not peer-to-peer).
  bool heads_beyond_first() const;
  // The PCI buses a hot-plugged virtio device could go on, in order, as
  // QEMU names them ("pci.INDEX"): on q35 each pcie-root-port with nothing
  // on it (one device each), elsewhere the root bus and its bridges.
  std::vector<std::string> hotplug_buses() const;
};

// Parses the <devices> of a domain XML document. Fails with kExitMalformed when
// the XML is not a libvirt domain.
Status parse_domain_devices(std::string_view xml, DomainDevices* out);

nlohmann::ordered_json to_json(const DomainDevices& devices);

// The channels a session on the domain opens: redir-capture without channel
// flags and a redir-mux session (capture plus inject) open exactly these, and
// vm-list shows them. Names are the stream's kind names (display, cursor,
// audio, keyboard, pointer) in declaration order, "display" once per head
// that a capture gets (DomainDevices::heads_beyond_first); on_request are the ones
// opened only when asked for, by the word of their flags: "serial" (a pty
// console: redir-capture --serial, redir-mux connect --console) and "usb"
// (a USB controller: redir-usb attach, redir-mux connect --usb).
struct SessionChannels {
  std::vector<std::string> channels;
  std::vector<std::string> on_request;
  // Whether virtio input devices can be hot-plugged now: a q35 machine needs a
  // pcie-root-port with nothing on it, other machines a PCI bus.
  bool input_hotplug = false;

  bool opens(std::string_view channel) const;
  bool offers(std::string_view channel) const;  // on request
};

SessionChannels session_channels(const DomainDevices& devices);

// {"channels": [...], "on_request": [...], "input_hotplug": bool}
nlohmann::ordered_json to_json(const SessionChannels& channels);

// One line for tables: "vnc:1 video:virtio(1) in:kbd,tablet snd:ich9 usb:1 serial:2 agent".
std::string device_summary(const DomainDevices& devices);

}  // namespace vredir
