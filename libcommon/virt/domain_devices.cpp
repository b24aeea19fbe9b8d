#include "virt/domain_devices.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "wire/stream_format.hpp"

namespace vredir {

namespace {

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct XPathContextFree {
  void operator()(xmlXPathContext* c) const { xmlXPathFreeContext(c); }
};
struct XPathObjectFree {
  void operator()(xmlXPathObject* o) const { xmlXPathFreeObject(o); }
};

std::string attr(xmlNode* node, const char* name) {
  if (!node) return {};
  xmlChar* v = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (!v) return {};
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

int attr_int(xmlNode* node, const char* name, int fallback) {
  std::string s = attr(node, name);
  if (s.empty()) return fallback;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (*end != '\0' || v < INT_MIN || v > INT_MAX) return fallback;
  return static_cast<int>(v);
}

// The first direct child element with the given name.
xmlNode* child(xmlNode* node, const char* name) {
  if (!node) return nullptr;
  for (xmlNode* c = node->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, reinterpret_cast<const xmlChar*>(name)))
      return c;
  return nullptr;
}

class XPath {
 public:
  explicit XPath(xmlDoc* doc) : ctx_(xmlXPathNewContext(doc)) {}
  bool ok() const { return ctx_ != nullptr; }
  // Element nodes matching expr, in document order.
  std::vector<xmlNode*> nodes(const char* expr) {
    std::vector<xmlNode*> out;
    std::unique_ptr<xmlXPathObject, XPathObjectFree> obj(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(expr), ctx_.get()));
    if (!obj || !obj->nodesetval) return out;
    for (int i = 0; i < obj->nodesetval->nodeNr; ++i) out.push_back(obj->nodesetval->nodeTab[i]);
    return out;
  }

 private:
  std::unique_ptr<xmlXPathContext, XPathContextFree> ctx_;
};

void parse_graphics(XPath& xp, DomainDevices* out) {
  for (xmlNode* g : xp.nodes("/domain/devices/graphics")) {
    GraphicsDevice d;
    d.type = attr(g, "type");
    d.port = attr_int(g, "port", -1);
    if (d.port == 0) d.port = -1;
    d.autoport = attr(g, "autoport") == "yes";
    d.socket = attr(g, "socket");  // old-style socket attribute on <graphics>
    d.address = attr(g, "listen");
    if (!d.socket.empty()) d.listen_type = "socket";
    else if (!d.address.empty()) d.listen_type = "address";
    if (xmlNode* l = child(g, "listen")) {
      d.listen_type = attr(l, "type");
      if (d.listen_type == "socket") d.socket = attr(l, "socket");
      if (d.listen_type == "address" && !attr(l, "address").empty()) d.address = attr(l, "address");
    }
    if (d.type == "dbus") {  // peer-to-peer, or the domain's own bus (its address once running)
      d.listen_type = attr(g, "p2p") == "yes" ? "p2p" : "bus";
      d.address = attr(g, "address");
    }
    d.audio_id = attr(child(g, "audio"), "id");
    out->graphics.push_back(std::move(d));
  }
}

void parse_video(XPath& xp, DomainDevices* out) {
  for (xmlNode* v : xp.nodes("/domain/devices/video")) {
    VideoDevice d;
    xmlNode* m = child(v, "model");
    d.model = attr(m, "type");
    d.heads = attr_int(m, "heads", 1);
    d.primary = attr(m, "primary") == "yes";
    if (xmlNode* a = child(v, "alias")) d.alias = attr(a, "name");
    int vram = attr_int(m, "vram", 0);
    d.vram_kib = vram > 0 ? static_cast<unsigned long long>(vram) : 0;
    out->video.push_back(std::move(d));
  }
  // libvirt lists the primary video first; mark it when the XML does not say.
  bool any_primary = false;
  for (const VideoDevice& v : out->video) any_primary = any_primary || v.primary;
  if (!any_primary && !out->video.empty()) out->video.front().primary = true;
}

void parse_inputs(XPath& xp, DomainDevices* out) {
  for (xmlNode* i : xp.nodes("/domain/devices/input")) {
    xmlNode* a = child(i, "alias");
    out->inputs.push_back(InputDevice{attr(i, "type"), attr(i, "bus"), a ? attr(a, "name") : ""});
  }
}

void parse_sound(XPath& xp, DomainDevices* out) {
  for (xmlNode* s : xp.nodes("/domain/devices/sound"))
    out->sound.push_back(SoundDevice{attr(s, "model"), attr(child(s, "audio"), "id")});
  for (xmlNode* a : xp.nodes("/domain/devices/audio"))
    out->audio.push_back(AudioBackend{attr(a, "id"), attr(a, "type")});
}

void parse_usb(XPath& xp, DomainDevices* out) {
  for (xmlNode* c : xp.nodes("/domain/devices/controller[@type='usb']")) {
    UsbController u;
    u.model = attr(c, "model");
    if (u.model == "none") continue;
    u.index = attr_int(c, "index", 0);
    u.ports = attr_int(c, "ports", -1);
    out->usb.push_back(std::move(u));
  }
  for (xmlNode* r : xp.nodes("/domain/devices/redirdev"))
    out->redirdevs.push_back(RedirDevice{attr(r, "bus"), attr(r, "type")});
}

void parse_serials(XPath& xp, DomainDevices* out) {
  for (xmlNode* s : xp.nodes("/domain/devices/serial | /domain/devices/console")) {
    SerialConsole d;
    d.element = reinterpret_cast<const char*>(s->name);
    d.type = attr(s, "type");
    d.source_path = attr(s, "tty");
    if (xmlNode* src = child(s, "source"))
      if (!attr(src, "path").empty()) d.source_path = attr(src, "path");
    xmlNode* target = child(s, "target");
    d.target_type = attr(target, "type");
    d.target_port = attr_int(target, "port", -1);
    out->serials.push_back(std::move(d));
  }
}

void parse_agent(XPath& xp, DomainDevices* out) {
  for (xmlNode* c : xp.nodes("/domain/devices/channel")) {
    xmlNode* target = child(c, "target");
    if (attr(target, "type") != "virtio" || attr(target, "name") != "org.qemu.guest_agent.0") continue;
    out->agent.present = true;
    out->agent.state = attr(target, "state");
    out->agent.source_path = attr(child(c, "source"), "path");
    break;
  }
}

// The machine type, and the PCI controllers with whether a device sits on the
// bus each provides (<address type='pci' bus='0x01'/> of any device, a
// controller's own included: a pcie-root-port sits on pcie-root's bus 0).
void parse_pci(XPath& xp, DomainDevices* out) {
  for (xmlNode* t : xp.nodes("/domain/os/type")) {
    out->machine = attr(t, "machine");
    break;
  }
  std::vector<long> buses;
  for (xmlNode* a : xp.nodes("/domain/devices/*/address[@type='pci']")) {
    std::string bus = attr(a, "bus");
    if (bus.empty()) continue;
    char* end = nullptr;
    long v = std::strtol(bus.c_str(), &end, 0);
    if (*end == '\0' && v >= 0 && v <= 0xff) buses.push_back(v);
  }
  for (xmlNode* c : xp.nodes("/domain/devices/controller[@type='pci']")) {
    PciController p;
    p.model = attr(c, "model");
    p.index = attr_int(c, "index", 0);
    for (long b : buses) p.occupied = p.occupied || b == p.index;
    out->pci.push_back(std::move(p));
  }
}

std::string input_abbrev(const std::string& type) {
  if (type == "keyboard") return "kbd";
  return type;
}

}  // namespace

std::string DomainDevices::primary_video_model() const {
  for (const VideoDevice& v : video)
    if (v.primary) return v.model;
  return video.empty() ? std::string() : video.front().model;
}

int DomainDevices::graphics_index(std::string_view type) const {
  for (size_t i = 0; i < graphics.size(); ++i)
    if (graphics[i].type == type) return static_cast<int>(i);
  return -1;
}

Status parse_domain_devices(std::string_view xml, DomainDevices* out) {
  *out = DomainDevices();
  if (xml.size() > INT_MAX) return fail(kExitMalformed, "domain XML is too large");
  std::unique_ptr<xmlDoc, DocFree> doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml",
                                                      nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                   XML_PARSE_NOWARNING));
  if (!doc) return fail(kExitMalformed, "domain XML does not parse");
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || !xmlStrEqual(root->name, reinterpret_cast<const xmlChar*>("domain")))
    return fail(kExitMalformed, "XML is not a libvirt domain (no <domain> root)");
  XPath xp(doc.get());
  if (!xp.ok()) return fail(kExitFailure, "out of memory creating an XPath context");
  parse_graphics(xp, out);
  parse_video(xp, out);
  parse_inputs(xp, out);
  parse_sound(xp, out);
  parse_usb(xp, out);
  parse_serials(xp, out);
  parse_agent(xp, out);
  parse_pci(xp, out);
  return Status::ok();
}

nlohmann::ordered_json to_json(const DomainDevices& d) {
  using json = nlohmann::ordered_json;
  json j = json::object();
  json graphics = json::array();
  for (const GraphicsDevice& g : d.graphics) {
    json o = {{"type", g.type}, {"listen", g.listen_type}, {"autoport", g.autoport}};
    if (!g.address.empty()) o["address"] = g.address;
    if (!g.socket.empty()) o["socket"] = g.socket;
    o["port"] = g.port >= 0 ? json(g.port) : json(nullptr);
    if (!g.audio_id.empty()) o["audio"] = g.audio_id;
    graphics.push_back(std::move(o));
  }
  j["graphics"] = std::move(graphics);
  json video = json::array();
  for (const VideoDevice& v : d.video)
    video.push_back({{"model", v.model}, {"heads", v.heads}, {"primary", v.primary}, {"vram_kib", v.vram_kib}});
  j["video"] = std::move(video);
  json inputs = json::array();
  for (const InputDevice& i : d.inputs) inputs.push_back({{"type", i.type}, {"bus", i.bus}});
  j["inputs"] = std::move(inputs);
  json sound = json::array();
  for (const SoundDevice& s : d.sound) {
    json o = {{"model", s.model}};
    if (!s.audio_id.empty()) o["audio"] = s.audio_id;
    sound.push_back(std::move(o));
  }
  j["sound"] = std::move(sound);
  json audio = json::array();
  for (const AudioBackend& a : d.audio) audio.push_back({{"id", a.id}, {"type", a.type}});
  j["audio"] = std::move(audio);
  json usb = json::array();
  for (const UsbController& u : d.usb) {
    json o = {{"model", u.model}, {"index", u.index}};
    o["ports"] = u.ports >= 0 ? json(u.ports) : json(nullptr);
    usb.push_back(std::move(o));
  }
  j["usb"] = std::move(usb);
  json redir = json::array();
  for (const RedirDevice& r : d.redirdevs) redir.push_back({{"bus", r.bus}, {"type", r.type}});
  j["redirdevs"] = std::move(redir);
  json serials = json::array();
  for (const SerialConsole& s : d.serials) {
    json o = {{"element", s.element}, {"type", s.type}, {"target_type", s.target_type}};
    o["port"] = s.target_port >= 0 ? json(s.target_port) : json(nullptr);
    if (!s.source_path.empty()) o["path"] = s.source_path;
    serials.push_back(std::move(o));
  }
  j["serials"] = std::move(serials);
  if (d.agent.present) {
    json o = {{"channel", "org.qemu.guest_agent.0"}};
    o["state"] = d.agent.state.empty() ? json(nullptr) : json(d.agent.state);
    j["agent"] = std::move(o);
  } else {
    j["agent"] = nullptr;
  }
  return j;
}

int DomainDevices::head_count() const {
  int n = 0;
  for (const VideoDevice& v : video)
    // virtio-gpu has at most 16 outputs (VIRTIO_GPU_MAX_SCANOUTS).
    if (v.model != "none") n += v.model == "virtio" ? std::clamp(v.heads, 1, 16) : 1;
  return n;
}

std::vector<std::string> DomainDevices::hotplug_buses() const {
  const bool q35 = machine.find("q35") != std::string::npos;
  std::vector<std::string> buses;
  for (const PciController& p : pci)
    if (q35 ? p.model == "pcie-root-port" && !p.occupied : p.model == "pci-root" || p.model == "pci-bridge")
      buses.push_back("pci." + std::to_string(p.index));
  return buses;
}

bool DomainDevices::heads_beyond_first() const {
  for (const GraphicsDevice& g : graphics)
    if (g.type == "dbus" && g.listen_type != "p2p") return head_count() > 1;
  return false;
}

bool SessionChannels::opens(std::string_view channel) const {
  for (const std::string& c : channels)
    if (c == channel) return true;
  return false;
}

bool SessionChannels::offers(std::string_view channel) const {
  for (const std::string& c : on_request)
    if (c == channel) return true;
  return false;
}

SessionChannels session_channels(const DomainDevices& d) {
  using stream::ChannelKind;
  using stream::kind_name;
  SessionChannels s;
  // Display, cursor and audio come from QEMU's VNC server (audio only with a
  // sound device to play into it); input goes through it or QMP.
  if (d.graphics_index("vnc") >= 0) {
    const int heads = d.heads_beyond_first() ? d.head_count() : 1;
    for (int h = 0; h < std::max(1, heads); ++h) s.channels.push_back(kind_name(ChannelKind::kDisplay));
    s.channels.push_back(kind_name(ChannelKind::kCursor));
    if (!d.sound.empty()) s.channels.push_back(kind_name(ChannelKind::kAudio));
    s.channels.push_back(kind_name(ChannelKind::kKeyboard));
    s.channels.push_back(kind_name(ChannelKind::kPointer));
  }
  // virDomainOpenConsole opens pty consoles only.
  bool console = false;
  for (const SerialConsole& c : d.serials) console = console || c.type == "pty";
  if (console) s.on_request.push_back(stream::kPurposeSerial);
  if (!d.usb.empty()) s.on_request.push_back("usb");
  s.input_hotplug = !d.hotplug_buses().empty();
  return s;
}

nlohmann::ordered_json to_json(const SessionChannels& s) {
  return {{"channels", s.channels}, {"on_request", s.on_request}, {"input_hotplug", s.input_hotplug}};
}

std::string device_summary(const DomainDevices& d) {
  std::vector<std::string> parts;
  auto join = [](const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& i : items) s += (s.empty() ? "" : ",") + i;
    return s;
  };
  // Displays grouped by type, in first-seen order: "vnc:1 spice:1".
  std::vector<std::pair<std::string, int>> displays;
  for (const GraphicsDevice& g : d.graphics) {
    bool found = false;
    for (auto& [type, count] : displays)
      if (type == g.type) ++count, found = true;
    if (!found) displays.emplace_back(g.type, 1);
  }
  for (const auto& [type, count] : displays) parts.push_back(type + ":" + std::to_string(count));
  std::vector<std::string> video;
  for (const VideoDevice& v : d.video)
    if (v.model != "none") video.push_back(v.model + "(" + std::to_string(v.heads) + ")");
  if (!video.empty()) parts.push_back("video:" + join(video));
  std::vector<std::string> inputs;
  for (const InputDevice& i : d.inputs) {
    std::string a = input_abbrev(i.type);
    bool seen = false;
    for (const std::string& s : inputs) seen = seen || s == a;
    if (!seen) inputs.push_back(a);
  }
  if (!inputs.empty()) parts.push_back("in:" + join(inputs));
  std::vector<std::string> sound;
  for (const SoundDevice& s : d.sound) sound.push_back(s.model);
  if (!sound.empty()) parts.push_back("snd:" + join(sound));
  if (!d.usb.empty()) parts.push_back("usb:" + std::to_string(d.usb.size()));
  if (!d.redirdevs.empty()) parts.push_back("redir:" + std::to_string(d.redirdevs.size()));
  // A <console> of target type serial is the same port as serial0: count it once.
  size_t serials = 0;
  for (const SerialConsole& s : d.serials)
    if (s.element == "serial" || s.target_type != "serial") ++serials;
  if (serials) parts.push_back("serial:" + std::to_string(serials));
  if (d.agent.present) parts.push_back(d.agent.state == "disconnected" ? "agent(off)" : "agent");
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : " ") + p;
  return out.empty() ? "-" : out;
}

}  // namespace vredir
