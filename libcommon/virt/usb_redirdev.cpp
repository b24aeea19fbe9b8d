#include "virt/usb_redirdev.hpp"

#include <regex>

namespace vredir {

std::string usb_redirdev_xml(const std::string& alias, const std::string& socket_path) {
  return "<redirdev bus='usb' type='unix'><source mode='connect' path='" + socket_path + "'/><alias name='" + alias +
         "'/></redirdev>";
}

bool domain_xml_has_usb_controller(const std::string& xml) {
  static const std::regex controller("<controller type='usb'([^>]*)>");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), controller); it != std::sregex_iterator(); ++it)
    if ((*it)[1].str().find("model='none'") == std::string::npos) return true;
  return false;
}

Status attach_usb_redirdev(const Domain& d, const std::string& socket_path, DeviceHotplug* plugged,
                           std::string* alias) {
  DomainState state = DomainState::kUnknown;
  if (Status st = d.state(&state); !st) return st;
  if (state != DomainState::kRunning && state != DomainState::kPaused)
    return fail(kExitFailure, "domain '" + d.name() + "' is " + state_name(state) +
                                  ": a USB device can only be plugged into a running domain (try: vm-power " + d.name() +
                                  " start)");
  std::string xml;
  if (Status st = d.xml(&xml); !st) return st;
  if (!domain_xml_has_usb_controller(xml))
    return fail(kExitFailure, "domain '" + d.name() +
                                  "' has no USB controller (add <controller type='usb' model='qemu-xhci'/> to it)");
  *alias = DeviceHotplug::new_alias("usb");
  if (Status st = plugged->attach(d, *alias, usb_redirdev_xml(*alias, socket_path), "USB redirection port"); !st) {
    std::string why = st.message();
    if (why.find("free") != std::string::npos || why.find("port") != std::string::npos)
      why += " (every port of the domain's USB controllers is taken: add ports, e.g. <controller type='usb' "
             "model='qemu-xhci' ports='8'/>)";
    return fail(kExitFailure, "cannot plug a USB redirection port into '" + d.name() + "': " + why);
  }
  return Status::ok();
}

}  // namespace vredir
