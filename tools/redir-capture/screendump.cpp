#include "screendump.hpp"

#include <fcntl.h>
#include <libvirt/libvirt-qemu.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

namespace vredir {

namespace {

using json = nlohmann::json;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Runs a QMP command; *reply is its "return" member.
Status monitor(const Domain& d, const json& command, int* pass_fd, json* reply) {
  char* out = nullptr;
  const std::string text = command.dump();
  int rc;
  if (pass_fd) {
    unsigned int nout = 0;
    int* outfds = nullptr;
    rc = virDomainQemuMonitorCommandWithFiles(d.get(), text.c_str(), 1, pass_fd, &nout, &outfds, &out, 0);
    for (unsigned int i = 0; i < nout; ++i) ::close(outfds[i]);
    std::free(outfds);
  } else {
    rc = virDomainQemuMonitorCommand(d.get(), text.c_str(), &out, 0);
  }
  if (rc < 0) return libvirt_error("QEMU monitor of '" + d.name() + "'");
  json j = json::parse(out ? out : "", nullptr, false);
  std::free(out);
  if (j.is_object() && j.contains("error")) {
    std::string desc = j["error"].is_object() && j["error"].contains("desc") && j["error"]["desc"].is_string()
                           ? j["error"]["desc"].get<std::string>()
                           : "unknown error";
    return fail(kExitFailure, "QEMU refused " + command["execute"].get<std::string>() + ": " + desc);
  }
  if (!j.is_object() || !j.contains("return")) return fail(kExitFailure, "unexpected answer from QEMU's monitor");
  *reply = j["return"];
  return Status::ok();
}

}  // namespace

Status domain_screendump(const Domain& d, Image* out) {
  Fd mem;
  mem.fd = ::memfd_create("vredir-screendump", MFD_CLOEXEC);
  if (mem.fd < 0) return fail(kExitFailure, std::string("memfd_create: ") + std::strerror(errno));
  // QEMU opens /dev/fdset/N write-only; the fd it is given must be opened so.
  Fd wr;
  wr.fd = ::open(("/proc/self/fd/" + std::to_string(mem.fd)).c_str(), O_WRONLY | O_CLOEXEC);
  if (wr.fd < 0) return fail(kExitFailure, std::string("cannot reopen the memory file: ") + std::strerror(errno));
  json added;
  if (Status st = monitor(d, {{"execute", "add-fd"}}, &wr.fd, &added); !st) return st;
  if (!added.is_object() || !added.contains("fdset-id") || !added["fdset-id"].is_number_integer())
    return fail(kExitFailure, "unexpected answer from QEMU to add-fd");
  const int64_t set = added["fdset-id"].get<int64_t>();
  json ignored;
  Status st = monitor(d, {{"execute", "screendump"}, {"arguments", {{"filename", "/dev/fdset/" + std::to_string(set)}}}},
                      nullptr, &ignored);
  Status removed = monitor(d, {{"execute", "remove-fd"}, {"arguments", {{"fdset-id", set}}}}, nullptr, &ignored);
  if (!st) return st;
  if (!removed) return removed;
  struct stat sb {};
  if (::fstat(mem.fd, &sb) != 0 || sb.st_size <= 0)
    return fail(kExitFailure, "QEMU's screendump of '" + d.name() + "' wrote nothing");
  if (sb.st_size > (int64_t(16384) * 16384 * 3 + 64))
    return fail(kExitMalformed, "QEMU's screendump of '" + d.name() + "' is too large");
  void* map = ::mmap(nullptr, static_cast<size_t>(sb.st_size), PROT_READ, MAP_PRIVATE, mem.fd, 0);
  if (map == MAP_FAILED) return fail(kExitFailure, std::string("mmap: ") + std::strerror(errno));
  std::string err;
  bool ok = decode_ppm(std::span<const uint8_t>(static_cast<const uint8_t*>(map), static_cast<size_t>(sb.st_size)),
                       out, &err);
  ::munmap(map, static_cast<size_t>(sb.st_size));
  if (!ok) return fail(kExitMalformed, "QEMU's screendump of '" + d.name() + "': " + err);
  return Status::ok();
}

}  // namespace vredir
