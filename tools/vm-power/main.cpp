// vm-power: lifecycle of a libvirt domain (start, shutdown, reboot, reset,
// poweroff, suspend, resume), logoff through the guest agent, display
// resolution through the VNC server, and status.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "sys/cli.hpp"
#include "virt/display_resolution.hpp"
#include "virt/domain_events.hpp"
#include "virt/domain_power.hpp"
#include "virt/guest_agent.hpp"
#include "virt/hypervisor.hpp"
#include "sys/stdio_files.hpp"

namespace {

constexpr const char* kActions =
    "start, shutdown, reboot, reset, poweroff, suspend, resume, logoff, resolution, status";

struct Options {
  std::string action;
  std::vector<std::string> args;  // DOMAIN, and WxH for resolution (either order)
  std::string uri;
  bool wait = false;
  double timeout_s = 60;
  bool force = false;
  int head = -1;
  bool json = false;
};

vredir::Status status(const vredir::Domain& d, bool json) {
  vredir::DomainSummary s;
  if (vredir::Status st = d.summary(&s); !st) return st;
  if (!json) return vredir::write_stdout(std::string(vredir::state_name(s.state)) + "\n");
  nlohmann::ordered_json j = {{"name", s.name},
                      {"id", s.id >= 0 ? nlohmann::ordered_json(s.id) : nlohmann::ordered_json(nullptr)},
                      {"uuid", s.uuid},
                      {"state", vredir::state_name(s.state)},
                      {"reason", s.reason}};
  return vredir::write_stdout(j.dump() + "\n");
}

vredir::Status run(const Options& o, const std::string& domain_ref, uint16_t width, uint16_t height) {
  std::optional<vredir::PowerAction> power = vredir::parse_power_action(o.action);
  // Only a reboot wait listens to libvirt events; the loop must exist before connecting.
  if (power == vredir::PowerAction::kReboot && o.wait)
    if (vredir::Status st = vredir::enable_libvirt_events(); !st) return st;
  vredir::Connection conn;
  if (vredir::Status st = conn.open(o.uri); !st) return st;
  vredir::Domain domain;
  if (vredir::Status st = conn.lookup(domain_ref, &domain); !st) return st;

  if (power) {
    vredir::PowerOptions po;
    po.wait = o.wait;
    po.timeout_s = o.timeout_s;
    po.force = o.force;
    return vredir::run_power_action(conn, domain, *power, po);
  }
  if (o.action == "status") return status(domain, o.json);
  if (o.action == "logoff") return vredir::logoff_session(domain, o.timeout_s);
  vredir::ResolutionRequest req;
  req.width = width;
  req.height = height;
  req.head = o.head;
  req.wait = o.wait;
  req.timeout_s = o.timeout_s;
  return vredir::change_resolution(domain, req);
}

}  // namespace

int main(int argc, char** argv) {
  vredir::Tool tool("vm-power", "Start, stop, pause, log off or resize a libvirt domain");
  Options o;
  CLI::App& app = tool.app();
  app.add_option("ACTION", o.action, std::string("What to do: ") + kActions)->required();
  app.add_option("DOMAIN", o.args, "DOMAIN (name, UUID or id); resolution also takes WxH")->required();
  app.add_option("-c,--connect", o.uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  app.add_flag("--wait", o.wait, "Wait until the action has completed (state reached, guest rebooted, mode applied)");
  app.add_option("--timeout", o.timeout_s, "Seconds to wait before giving up with exit 5 (default 60)")
      ->check(vredir::kNonNegative);
  app.add_flag("--force", o.force, "shutdown: power off when the guest has not stopped within --timeout");
  app.add_option("--head", o.head, "resolution: the display head (screen) to resize (default 0)")
      ->check(vredir::kNonNegative);
  app.add_flag("--json", o.json, "status: one JSON object (name, id, uuid, state, reason)");
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  vredir::install_interrupt_handlers();

  if (!vredir::parse_power_action(o.action) && o.action != "logoff" && o.action != "resolution" &&
      o.action != "status")
    return tool.usage_error("unknown action '" + o.action + "' (valid: " + kActions + ")");
  std::string domain_ref;
  uint16_t width = 0, height = 0;
  if (o.action == "resolution") {
    if (o.args.size() != 2) return tool.usage_error("resolution needs a size and a domain: resolution WxH DOMAIN");
    size_t size_at = vredir::parse_resolution(o.args[0], &width, &height) ? 0 : 1;
    if (size_at == 1 && !vredir::parse_resolution(o.args[1], &width, &height))
      return tool.usage_error("resolution needs a size like 1024x768");
    domain_ref = o.args[1 - size_at];
  } else {
    if (o.args.size() != 1) return tool.usage_error(o.action + " takes one domain");
    domain_ref = o.args[0];
  }
  if (o.force && o.action != "shutdown") return tool.usage_error("--force only applies to shutdown");
  if (o.head >= 0 && o.action != "resolution") return tool.usage_error("--head only applies to resolution");
  return tool.finish(run(o, domain_ref, width, height));
}
