#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "virt/domain_devices.hpp"
#include "virt/input_hotplug.hpp"

using vredir::DomainDevices;

namespace {

const char* kFullDomain = R"(<domain type='qemu'>
  <name>demo</name>
  <devices>
    <controller type='usb' index='0' model='qemu-xhci' ports='15'/>
    <controller type='usb' index='1' model='none'/>
    <controller type='virtio-serial' index='0'/>
    <serial type='file'>
      <source path='/var/log/demo-serial.log'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <serial type='pty'>
      <source path='/dev/pts/7'/>
      <target port='1'/>
    </serial>
    <console type='pty' tty='/dev/pts/7'>
      <target type='serial' port='0'/>
    </console>
    <console type='pty'>
      <target type='virtio' port='1'/>
    </console>
    <channel type='unix'>
      <source mode='bind' path='/run/demo-qga.sock'/>
      <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>
    </channel>
    <channel type='spicevmc'>
      <target type='virtio' name='com.redhat.spice.0'/>
    </channel>
    <input type='tablet' bus='usb'/>
    <input type='keyboard' bus='ps2'/>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='virtio'/>
    <graphics type='vnc' socket='/run/demo-vnc.sock'>
      <listen type='socket' socket='/run/demo-vnc.sock'/>
      <audio id='1'/>
    </graphics>
    <graphics type='spice' port='5901' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <graphics type='dbus' p2p='yes'/>
    <audio id='1' type='none'/>
    <audio id='2' type='spice'/>
    <sound model='ich9'>
      <audio id='1'/>
    </sound>
    <sound model='usb'/>
    <video>
      <model type='virtio' heads='2' primary='yes' vram='16384'/>
    </video>
    <video>
      <model type='qxl' heads='4'/>
    </video>
    <redirdev bus='usb' type='spicevmc'/>
    <redirdev bus='usb' type='tcp'/>
  </devices>
</domain>)";

DomainDevices parse(const char* xml) {
  DomainDevices d;
  vredir::Status st = vredir::parse_domain_devices(xml, &d);
  INFO(st.message());
  REQUIRE(st.is_ok());
  return d;
}

}  // namespace

TEST_CASE("displays: vnc on a socket, spice on an address, dbus", "[domain_devices]") {
  DomainDevices d = parse(kFullDomain);
  REQUIRE(d.graphics.size() == 3);
  SECTION("vnc") {
    CHECK(d.graphics[0].type == "vnc");
    CHECK(d.graphics[0].listen_type == "socket");
    CHECK(d.graphics[0].socket == "/run/demo-vnc.sock");
    CHECK(d.graphics[0].port == -1);
    CHECK(d.graphics[0].audio_id == "1");
  }
  SECTION("spice") {
    CHECK(d.graphics[1].type == "spice");
    CHECK(d.graphics[1].listen_type == "address");
    CHECK(d.graphics[1].address == "127.0.0.1");
    CHECK(d.graphics[1].port == 5901);
    CHECK(d.graphics[1].autoport);
  }
  SECTION("dbus") {
    CHECK(d.graphics[2].type == "dbus");
    CHECK(d.graphics[2].listen_type == "p2p");
    CHECK(d.graphics[2].address.empty());
  }
  SECTION("dbus on the domain's own bus (running: libvirt names the address)") {
    DomainDevices b;
    REQUIRE(parse_domain_devices(
        "<domain><devices><graphics type='dbus' address='unix:path=/run/libvirt/qemu/dbus/3-x-dbus.sock'/>"
        "</devices></domain>",
        &b));
    REQUIRE(b.graphics.size() == 1);
    CHECK(b.graphics[0].listen_type == "bus");
    CHECK(b.graphics[0].address == "unix:path=/run/libvirt/qemu/dbus/3-x-dbus.sock");
  }
  CHECK(d.graphics_index("vnc") == 0);
  CHECK(d.graphics_index("spice") == 1);
  CHECK(d.graphics_index("rdp") == -1);
}

TEST_CASE("video models with heads and primary", "[domain_devices]") {
  DomainDevices d = parse(kFullDomain);
  REQUIRE(d.video.size() == 2);
  CHECK(d.video[0].model == "virtio");
  CHECK(d.video[0].heads == 2);
  CHECK(d.video[0].primary);
  CHECK(d.video[0].vram_kib == 16384);
  CHECK(d.video[1].model == "qxl");
  CHECK(d.video[1].heads == 4);
  CHECK_FALSE(d.video[1].primary);
  CHECK(d.primary_video_model() == "virtio");

  SECTION("the first video is primary when the XML does not say") {
    DomainDevices v = parse("<domain><devices><video><model type='vga'/></video></devices></domain>");
    REQUIRE(v.video.size() == 1);
    CHECK(v.video[0].primary);
    CHECK(v.video[0].heads == 1);
    CHECK(v.primary_video_model() == "vga");
  }
}

TEST_CASE("inputs, sound and audio backends", "[domain_devices]") {
  DomainDevices d = parse(kFullDomain);
  REQUIRE(d.inputs.size() == 4);
  CHECK(d.inputs[0].type == "tablet");
  CHECK(d.inputs[0].bus == "usb");
  CHECK(d.inputs[3].bus == "virtio");
  REQUIRE(d.sound.size() == 2);
  CHECK(d.sound[0].model == "ich9");
  CHECK(d.sound[0].audio_id == "1");
  CHECK(d.sound[1].audio_id.empty());
  REQUIRE(d.audio.size() == 2);
  CHECK(d.audio[0].id == "1");
  CHECK(d.audio[0].type == "none");
  CHECK(d.audio[1].type == "spice");
}

TEST_CASE("usb controllers and redirdevs", "[domain_devices]") {
  DomainDevices d = parse(kFullDomain);
  REQUIRE(d.usb.size() == 1);  // model='none' is no controller
  CHECK(d.usb[0].model == "qemu-xhci");
  CHECK(d.usb[0].ports == 15);
  REQUIRE(d.redirdevs.size() == 2);
  CHECK(d.redirdevs[0].type == "spicevmc");
  CHECK(d.redirdevs[1].type == "tcp");
}

TEST_CASE("serial ports and consoles", "[domain_devices]") {
  DomainDevices d = parse(kFullDomain);
  REQUIRE(d.serials.size() == 4);
  CHECK(d.serials[0].element == "serial");
  CHECK(d.serials[0].type == "file");
  CHECK(d.serials[0].target_type == "isa-serial");
  CHECK(d.serials[0].target_port == 0);
  CHECK(d.serials[0].source_path == "/var/log/demo-serial.log");
  CHECK(d.serials[1].target_port == 1);
  CHECK(d.serials[1].source_path == "/dev/pts/7");
  CHECK(d.serials[2].element == "console");
  CHECK(d.serials[2].source_path == "/dev/pts/7");  // from tty=
  CHECK(d.serials[3].target_type == "virtio");
}

TEST_CASE("guest agent channel", "[domain_devices]") {
  DomainDevices d = parse(kFullDomain);
  CHECK(d.agent.present);
  CHECK(d.agent.state == "connected");
  CHECK(d.agent.source_path == "/run/demo-qga.sock");

  SECTION("absent") {
    DomainDevices n = parse("<domain><devices><channel type='spicevmc'><target type='virtio' "
                            "name='com.redhat.spice.0'/></channel></devices></domain>");
    CHECK_FALSE(n.agent.present);
  }
  SECTION("disconnected") {
    DomainDevices n = parse("<domain><devices><channel type='unix'><target type='virtio' "
                            "name='org.qemu.guest_agent.0' state='disconnected'/></channel></devices></domain>");
    CHECK(n.agent.present);
    CHECK(n.agent.state == "disconnected");
    CHECK(vredir::device_summary(n) == "agent(off)");
  }
}

TEST_CASE("summary line", "[domain_devices]") {
  DomainDevices d = parse(kFullDomain);
  // Two serial ports, the serial console is serial0 again, the virtio console counts.
  CHECK(vredir::device_summary(d) ==
        "vnc:1 spice:1 dbus:1 video:virtio(2),qxl(4) in:tablet,kbd,mouse snd:ich9,usb usb:1 redir:2 serial:3 agent");
  CHECK(vredir::device_summary(parse("<domain/>")) == "-");
}

TEST_CASE("JSON form", "[domain_devices]") {
  nlohmann::ordered_json j = vredir::to_json(parse(kFullDomain));
  CHECK(j["graphics"][0]["type"] == "vnc");
  CHECK(j["graphics"][0]["socket"] == "/run/demo-vnc.sock");
  CHECK(j["graphics"][0]["port"].is_null());
  CHECK(j["graphics"][1]["port"] == 5901);
  CHECK(j["video"][0]["heads"] == 2);
  CHECK(j["inputs"].size() == 4);
  CHECK(j["sound"][0]["audio"] == "1");
  CHECK(j["audio"][1]["type"] == "spice");
  CHECK(j["usb"][0]["model"] == "qemu-xhci");
  CHECK(j["serials"][0]["path"] == "/var/log/demo-serial.log");
  CHECK(j["agent"]["state"] == "connected");
  CHECK(vredir::to_json(parse("<domain/>"))["agent"].is_null());
}

TEST_CASE("XML that is not a domain", "[domain_devices]") {
  DomainDevices d;
  CHECK(vredir::parse_domain_devices("not xml at all <", &d).code() == vredir::kExitMalformed);
  CHECK(vredir::parse_domain_devices("<network/>", &d).code() == vredir::kExitMalformed);
  CHECK(vredir::parse_domain_devices("", &d).code() == vredir::kExitMalformed);
}

// The channels a session opens follow the devices (session_channels).
TEST_CASE("session channels", "[domain_devices]") {
  using Names = std::vector<std::string>;
  SECTION("VNC display with sound, a pty console and a USB controller") {
    vredir::SessionChannels s = vredir::session_channels(parse(kFullDomain));
    CHECK(s.channels == Names{"display", "cursor", "audio", "keyboard", "pointer"});
    CHECK(s.on_request == Names{"serial", "usb"});
    CHECK(s.opens("audio"));
    CHECK(s.offers("serial"));
    CHECK_FALSE(s.offers("audio"));
  }
  SECTION("no sound device: no audio channel") {
    vredir::SessionChannels s = vredir::session_channels(
        parse("<domain><devices><graphics type='vnc'/><audio id='1' type='none'/></devices></domain>"));
    CHECK(s.channels == Names{"display", "cursor", "keyboard", "pointer"});
    CHECK_FALSE(s.opens("audio"));
    CHECK(s.on_request.empty());
  }
  SECTION("sound but no VNC display: nothing to capture it through") {
    vredir::SessionChannels s =
        vredir::session_channels(parse("<domain><devices><sound model='ich9'/><graphics type='spice'/></devices></domain>"));
    CHECK(s.channels.empty());
  }
  SECTION("a console that is not a pty, a USB controller of model none") {
    vredir::SessionChannels s = vredir::session_channels(
        parse("<domain><devices><serial type='file'><source path='/tmp/x'/></serial>"
              "<controller type='usb' model='none'/></devices></domain>"));
    CHECK(s.on_request.empty());
  }
  SECTION("JSON") {
    nlohmann::ordered_json j = vredir::to_json(vredir::session_channels(parse(kFullDomain)));
    CHECK(j.dump() ==
          R"({"channels":["display","cursor","audio","keyboard","pointer"],"on_request":["serial","usb"],)"
          R"("input_hotplug":false})");
  }
}

// A display channel per head, when a shared D-Bus display brings the heads
// beyond the first (VNC shows the first alone).
TEST_CASE("heads", "[domain_devices]") {
  using Names = std::vector<std::string>;
  auto devices = [](const std::string& inner) {
    return parse(("<domain><devices>" + inner + "</devices></domain>").c_str());
  };
  const std::string two = "<video><model type='virtio' heads='2' primary='yes'/></video>";
  SECTION("two heads and a shared D-Bus display: two display channels") {
    vredir::DomainDevices d = devices("<graphics type='vnc'/><graphics type='dbus'/>" + two);
    CHECK(d.head_count() == 2);
    CHECK(d.heads_beyond_first());
    CHECK(vredir::session_channels(d).channels == Names{"display", "display", "cursor", "keyboard", "pointer"});
  }
  SECTION("two heads, VNC alone: the first head only") {
    vredir::DomainDevices d = devices("<graphics type='vnc'/>" + two);
    CHECK(d.head_count() == 2);
    CHECK_FALSE(d.heads_beyond_first());
    CHECK(vredir::session_channels(d).channels == Names{"display", "cursor", "keyboard", "pointer"});
  }
  SECTION("two heads, a peer-to-peer D-Bus display (one client, the cursor's): the first head only") {
    vredir::DomainDevices d =
        devices("<graphics type='vnc'/><graphics type='dbus' p2p='yes'/>" + two);
    CHECK_FALSE(d.heads_beyond_first());
  }
  SECTION("a second video device is a head; a hostile heads count is capped at virtio-gpu's 16") {
    CHECK(devices(two + "<video><model type='vga'/></video>").head_count() == 3);
    CHECK(devices("<video><model type='virtio' heads='100000'/></video>").head_count() == 16);
    CHECK(devices("<video><model type='virtio' heads='-4'/></video>").head_count() == 1);
    CHECK(devices("<video><model type='none'/></video>").head_count() == 0);
  }
}

// A seat's binding: head N of the running domain as a video device's QEMU
// id and its own head number.
TEST_CASE("seat bindings", "[domain_devices]") {
  vredir::DomainDevices d = parse(
      "<domain><devices><video><model type='virtio' heads='2' primary='yes'/><alias name='video0'/></video>"
      "<video><model type='qxl'/><alias name='video1'/></video></devices></domain>");
  vredir::SeatBinding b;
  REQUIRE(vredir::seat_binding(d, "vm", 1, &b));
  CHECK((b.display == "video0" && b.head == 1));
  REQUIRE(vredir::seat_binding(d, "vm", 2, &b));
  CHECK((b.display == "video1" && b.head == 0));
  vredir::Status st = vredir::seat_binding(d, "vm", 3, &b);
  CHECK(st.code() == vredir::kExitNotFound);
  CHECK(st.message() == "domain 'vm' has 3 heads (0 to 2), so no seat 3");
  vredir::DomainDevices off = parse("<domain><devices><video><model type='virtio'/></video></devices></domain>");
  CHECK(vredir::seat_binding(off, "vm", 0, &b).code() == vredir::kExitFailure);  // not running: no QEMU id
}

TEST_CASE("input hot-plug", "[domain_devices]") {
  auto hotplug = [](const std::string& xml) { return vredir::session_channels(parse(xml.c_str())).input_hotplug; };
  const std::string q35 = "<domain><os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os><devices>";
  const std::string pcie_root =
      "<controller type='pci' index='0' model='pcie-root'/>"
      "<controller type='pci' index='1' model='pcie-root-port'>"
      "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></controller>";
  SECTION("q35 with a free pcie-root-port") {
    CHECK(hotplug(q35 + pcie_root + "</devices></domain>"));
  }
  SECTION("q35 whose only pcie-root-port is taken") {
    CHECK_FALSE(hotplug(q35 + pcie_root +
                        "<controller type='usb' model='qemu-xhci'>"
                        "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></controller>"
                        "</devices></domain>"));
  }
  SECTION("q35 without root ports") {
    CHECK_FALSE(hotplug(q35 + "<controller type='pci' index='0' model='pcie-root'/></devices></domain>"));
  }
  SECTION("pc: its PCI bus takes hot-plugged devices") {
    CHECK(hotplug("<domain><os><type arch='x86_64' machine='pc-i440fx-8.2'>hvm</type></os><devices>"
                  "<controller type='pci' index='0' model='pci-root'/></devices></domain>"));
  }
  SECTION("no PCI bus at all") {
    CHECK_FALSE(hotplug("<domain><os><type machine='microvm'>hvm</type></os><devices/></domain>"));
  }
  SECTION("facts in DomainDevices") {
    DomainDevices d = parse((q35 + pcie_root + "</devices></domain>").c_str());
    CHECK(d.machine == "pc-q35-8.2");
    REQUIRE(d.pci.size() == 2);
    CHECK(d.pci[0].occupied);  // the root port sits on pcie-root's bus 0
    CHECK(d.pci[1].model == "pcie-root-port");
    CHECK_FALSE(d.pci[1].occupied);
    CHECK(d.hotplug_buses() == std::vector<std::string>{"pci.1"});
  }
  SECTION("the buses in order: each free root port on q35, a seat's keyboard and tablet one each") {
    DomainDevices d = parse((q35 + pcie_root +
                             "<controller type='pci' index='2' model='pcie-root-port'/>"
                             "<controller type='pci' index='3' model='pcie-root-port'/>"
                             "<controller type='usb' model='qemu-xhci'>"
                             "<address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></controller>"
                             "</devices></domain>")
                                .c_str());
    CHECK(d.hotplug_buses() == std::vector<std::string>{"pci.1", "pci.3"});
  }
}
