// Fuzz target for redir-mux connect's trust inputs: a known-hosts file (read,
// checked and appended to on first use), endpoint strings (tls://HOST:PORT,
// tcp://..., unix:PATH) and fingerprints.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/tls_transport.hpp"
#include "sys/stdio_files.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Endpoint ep;
  std::string err;
  if (parse_endpoint(in, &ep, &err)) {
    Endpoint again;
    if (!parse_endpoint(ep.to_string(), &again, &err) || again.to_string() != ep.to_string()) std::abort();
    (void)ep.host_port();
    (void)is_loopback_host(ep.host);
  }
  std::string fp = normalize_fingerprint(in);
  if (!fp.empty() && (fp.size() != 64 || normalize_fingerprint(format_fingerprint(fp)) != fp)) std::abort();
  static const std::string file = [] {
    char path[] = "/tmp/vredir-known-hosts-fuzz.XXXXXX";
    int fd = ::mkstemp(path);
    if (fd >= 0) ::close(fd);
    return std::string(path);
  }();
  if (!write_file_atomic(file, in, 0600)) return 0;
  bool added = false;
  const std::string key(64, 'a');
  Status st = check_known_host(file, "host.example:7000", key, &added);
  if (st && !added) (void)check_known_host(file, "host.example:7000", key, &added);
  return 0;
}
