#include "virt/qemu_monitor.hpp"

#include <libvirt/libvirt-qemu.h>
#include <unistd.h>

#include <cstdlib>

namespace vredir {

using json = nlohmann::json;

Status qmp_command(const Domain& d, const json& command, json* result, std::span<int> fds) {
  char* out = nullptr;
  const std::string text = command.dump();
  int rc;
  if (!fds.empty()) {
    unsigned int nout = 0;
    int* outfds = nullptr;
    rc = virDomainQemuMonitorCommandWithFiles(d.get(), text.c_str(), static_cast<unsigned int>(fds.size()), fds.data(),
                                              &nout, &outfds, &out, 0);
    for (unsigned int i = 0; i < nout; ++i) ::close(outfds[i]);
    std::free(outfds);
  } else {
    rc = virDomainQemuMonitorCommand(d.get(), text.c_str(), &out, 0);
  }
  if (rc < 0) return libvirt_error("QEMU monitor of '" + d.name() + "'");
  json j = json::parse(out ? out : "", nullptr, false);
  std::free(out);
  const std::string what = command.contains("execute") && command["execute"].is_string()
                               ? command["execute"].get<std::string>()
                               : "a command";
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    std::string desc = e.is_object() && e.contains("desc") && e["desc"].is_string() ? e["desc"].get<std::string>()
                                                                                      : "unknown error";
    return fail(kExitFailure, "QEMU refused " + what + ": " + desc);
  }
  if (!j.is_object() || !j.contains("return")) return fail(kExitFailure, "unexpected answer from QEMU to " + what);
  if (result) *result = j["return"];
  return Status::ok();
}

}  // namespace vredir
