// Fuzz target for the domain XML device parser (libvirt's XML of a domain,
// which names what the hypervisor and a guest's configuration put there).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "virt/domain_devices.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string xml(reinterpret_cast<const char*>(data), size);
  DomainDevices devices;
  if (parse_domain_devices(xml, &devices)) {
    (void)device_summary(devices);
    (void)to_json(devices).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    (void)to_json(session_channels(devices)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
