#include "screendump.hpp"

#include "virt/qemu_monitor.hpp"

#include <fcntl.h>
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
  if (Status st = qmp_command(d, {{"execute", "add-fd"}}, &added, std::span<int>(&wr.fd, 1)); !st) return st;
  if (!added.is_object() || !added.contains("fdset-id") || !added["fdset-id"].is_number_integer())
    return fail(kExitFailure, "unexpected answer from QEMU to add-fd");
  const int64_t set = added["fdset-id"].get<int64_t>();
  json ignored;
  Status st = qmp_command(d, {{"execute", "screendump"}, {"arguments", {{"filename", "/dev/fdset/" + std::to_string(set)}}}},
                          &ignored);
  Status removed = qmp_command(d, {{"execute", "remove-fd"}, {"arguments", {{"fdset-id", set}}}}, &ignored);
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
