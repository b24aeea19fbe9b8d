#include "virt/guest_agent.hpp"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "sys/signals.hpp"
#include "virt/domain_devices.hpp"
#include "virt/qmp_reply.hpp"

namespace vredir {

namespace {

std::string no_agent_fix(const std::string& name) {
  return " (add <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel> "
         "and run qemu-guest-agent in the guest; see: virsh edit " + name + ")";
}

}  // namespace

Status GuestAgent::check_channel() const {
  std::string xml;
  if (Status st = domain_.xml(&xml); !st) return st;
  DomainDevices devices;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  if (!devices.agent.present)
    return fail(kExitFailure, "domain '" + domain_.name() + "' has no guest agent channel" + no_agent_fix(domain_.name()));
  if (devices.agent.state == "disconnected")
    return fail(kExitFailure, "the guest agent of '" + domain_.name() +
                                  "' is not connected (is qemu-guest-agent running in the guest?)");
  return Status::ok();
}

Status GuestAgent::call(const std::string& command, const nlohmann::json& args, nlohmann::json* result,
                        int timeout_s) const {
  nlohmann::json req = {{"execute", command}};
  if (!args.is_null()) req["arguments"] = args;
  std::string text = req.dump();
  char* reply = virDomainQemuAgentCommand(domain_.get(), text.c_str(), timeout_s, 0);
  if (!reply) {
    virErrorPtr err = virGetLastError();
    int code = err ? err->code : VIR_ERR_OK;
    if (code == VIR_ERR_AGENT_UNRESPONSIVE || code == VIR_ERR_AGENT_UNSYNCED)
      return fail(kExitFailure, "the guest agent of '" + domain_.name() +
                                    "' does not answer (is qemu-guest-agent running in the guest?)");
    if (code == VIR_ERR_ARGUMENT_UNSUPPORTED)
      return libvirt_error("guest agent command " + command + " failed in '" + domain_.name() + "'");
    return libvirt_error("cannot reach the guest agent of '" + domain_.name() + "'");
  }
  std::string answer(reply);
  std::free(reply);
  return qmp::parse_reply(answer, "the guest agent of '" + domain_.name() + "' (" + command + ")", result);
}

Status GuestAgent::exec(const std::string& path, const std::vector<std::string>& args, double timeout_s,
                        int* exit_code) const {
  nlohmann::json ret;
  nlohmann::json exec_args = {{"path", path}, {"arg", args}, {"capture-output", true}};
  if (Status st = call("guest-exec", exec_args, &ret); !st) return st;
  std::optional<int64_t> got_pid = qmp::int_at(ret, {"pid"});
  if (!got_pid) return fail(kExitMalformed, "guest-exec in '" + domain_.name() + "' returned no pid");
  int64_t pid = *got_pid;
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    nlohmann::json status;
    if (Status st = call("guest-exec-status", {{"pid", pid}}, &status); !st) return st;
    bool exited = false;
    if (Status st = qmp::parse_exec_status(status, &exited, exit_code); !st)
      return fail(st.code(), st.message() + " in '" + domain_.name() + "'");
    if (exited) return Status::ok();
    if (interrupted()) return fail(kExitInterrupted, "interrupted while waiting for " + path + " in the guest");
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= timeout_s)
      return fail(kExitTimeout, path + " did not finish in '" + domain_.name() + "' within the timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status logoff_session(const Domain& domain, double timeout_s) {
  GuestAgent agent(domain);
  if (Status st = agent.check_channel(); !st) return st;
  nlohmann::json os;
  if (Status st = agent.call("guest-get-osinfo", nullptr, &os); !st) return st;
  std::string os_id = qmp::string_at(os, {"id"}).value_or("");
  std::string kernel = qmp::string_at(os, {"kernel-name"}).value_or("");
  bool windows = os_id == "mswindows" || kernel.rfind("Windows", 0) == 0;
  spdlog::debug("guest OS of '{}': id={} kernel={}", domain.name(), os_id, kernel);

  int code = 0;
  std::string what;
  if (windows) {
    what = "shutdown.exe /l";
    if (Status st = agent.exec("shutdown.exe", {"/l"}, timeout_s, &code); !st) return st;
  } else {
    what = "loginctl terminate-seat seat0";
    Status st = agent.exec("/usr/bin/loginctl", {"terminate-seat", "seat0"}, timeout_s, &code);
    if (!st && st.code() == kExitFailure)  // not at the usual path: let the guest's PATH find it
      st = agent.exec("loginctl", {"terminate-seat", "seat0"}, timeout_s, &code);
    if (!st) return st;
  }
  if (code != 0)
    return fail(kExitFailure, what + " exited with status " + std::to_string(code) + " in '" + domain.name() + "'");
  return Status::ok();
}

}  // namespace vredir
