// Fuzz target for redir-mux's account and trust files: the users file parser
// (with its password-hash and VM-glob fields) and the fingerprint parser of
// --fingerprint and known_hosts. A file that parses must serialize to text
// that parses to the same accounts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "password_hash.hpp"
#include "net/tls_transport.hpp"
#include "users_file.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  UsersFile f;
  if (f.parse(in, "fuzz")) {
    UsersFile again;
    if (!again.parse(f.serialize(), "fuzz") || again.accounts().size() != f.accounts().size()) std::abort();
    for (size_t i = 0; i < f.accounts().size(); ++i) {
      const UserAccount& a = f.accounts()[i];
      const UserAccount& b = again.accounts()[i];
      if (a.name != b.name || a.hash != b.hash || a.vm_globs != b.vm_globs || a.view_only != b.view_only ||
          a.cert_fingerprint != b.cert_fingerprint)
        std::abort();
      (void)a.may_use("demo");
    }
  }
  (void)is_password_hash(in);
  (void)valid_user_name(in);
  std::vector<std::string> globs;
  (void)parse_vm_globs(in, &globs);
  (void)normalize_fingerprint(in);
  return 0;
}
