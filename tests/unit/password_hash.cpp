#include <catch2/catch.hpp>

#include "password_hash.hpp"

using namespace vredir;

TEST_CASE("scrypt hashes carry algorithm, parameters and salt", "[password_hash]") {
  std::string h;
  REQUIRE(hash_password("correct horse", &h));
  CHECK(h.rfind("$scrypt$ln=14,r=8,p=5$", 0) == 0);
  CHECK(is_password_hash(h));
  CHECK(verify_password("correct horse", h));
  CHECK_FALSE(verify_password("correct horsf", h));
  CHECK_FALSE(verify_password("", h));
  SECTION("a fresh salt each time") {
    std::string h2;
    REQUIRE(hash_password("correct horse", &h2));
    CHECK(h2 != h);
    CHECK(verify_password("correct horse", h2));
  }
}

TEST_CASE("the stored parameters are the ones used", "[password_hash]") {
  std::string h;
  REQUIRE(hash_password("pw", &h, ScryptParams{10, 8, 1}));
  CHECK(h.rfind("$scrypt$ln=10,r=8,p=1$", 0) == 0);
  CHECK(verify_password("pw", h));
  // Changing a parameter changes the derived key: no match.
  std::string tampered = h;
  tampered.replace(tampered.find("ln=10"), 5, "ln=11");
  CHECK_FALSE(verify_password("pw", tampered));
}

TEST_CASE("PBKDF2-SHA256 hashes", "[password_hash]") {
  std::string h;
  REQUIRE(hash_password_pbkdf2("s3cret", &h, 1000));
  CHECK(h.rfind("$pbkdf2-sha256$i=1000$", 0) == 0);
  CHECK(verify_password("s3cret", h));
  CHECK_FALSE(verify_password("s3cret ", h));
  CHECK(kPbkdf2Iterations >= 600000);
}

TEST_CASE("malformed or oversized hashes never match", "[password_hash]") {
  std::string err;
  for (const char* bad : {"", "plain", "$scrypt$ln=14,r=8$AAAAAAAAAAA=$AAAA", "$md5$x$y$z",
                          "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$pbkdf2-sha256$i=0$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$scrypt$ln=14,r=8,p=5$!!!!$AAAA"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_password_hash(bad));
    err.clear();
    CHECK_FALSE(verify_password("x", bad, &err));
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("the dummy check for unknown users never succeeds", "[password_hash]") {
  CHECK_FALSE(verify_password_dummy("unknown user"));
  CHECK_FALSE(verify_password_dummy(""));
}
