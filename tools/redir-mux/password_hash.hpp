// Password hashes for the redir-mux users file: scrypt (default) or
// PBKDF2-SHA256 through OpenSSL's EVP_KDF, at OWASP strength. Each hash is a
// self-describing string that carries its algorithm, parameters and salt:
//   $scrypt$ln=14,r=8,p=5$SALT$HASH           (N = 2^ln)
//   $pbkdf2-sha256$i=600000$SALT$HASH
// SALT and HASH are standard base64. Verification compares in constant time.
#pragma once

#include <string>
#include <string_view>

#include "wire/status.hpp"

namespace vredir {

struct ScryptParams {
  // OWASP's scrypt row N=2^14, r=8, p=5: 16 MiB per lane, same work as 2^17/8/1.
  unsigned log2_n = 14;
  unsigned r = 8;
  unsigned p = 5;
};

inline constexpr unsigned kPbkdf2Iterations = 600000;  // OWASP, PBKDF2-HMAC-SHA256

// Hashes with scrypt and a fresh 16-byte random salt.
Status hash_password(std::string_view password, std::string* out, const ScryptParams& params = {});
// Hashes with PBKDF2-HMAC-SHA256 and a fresh salt.
Status hash_password_pbkdf2(std::string_view password, std::string* out, unsigned iterations = kPbkdf2Iterations);

// True when password matches the stored hash. A malformed hash, or one whose
// parameters exceed the caps (so a crafted file cannot exhaust memory), never
// matches; *err says why when given.
bool verify_password(std::string_view password, std::string_view stored, std::string* err = nullptr);

// The same work as verify_password against a real default-strength hash, and
// always false: used for unknown users so they take as long as known ones.
bool verify_password_dummy(std::string_view password);

// True when stored looks like a hash this module can verify.
bool is_password_hash(std::string_view stored);

}  // namespace vredir
