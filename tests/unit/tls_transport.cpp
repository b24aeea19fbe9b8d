// The TLS transport reads ahead: one read takes what the socket has, and
// pending() says when records wait inside, where poll cannot see them. A
// record that has only partly come is not pending (poll sees the rest
// come), so a peer that stops mid-record cannot make a caller spin.
//
// A client and a server Transport over two socket pairs, with the test
// carrying the bytes between them, so that it decides what arrives when.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "net/tls_transport.hpp"

using namespace vredir;

namespace {

// A self-signed certificate and key, as PEM files in a fresh directory.
struct TestCert {
  std::string dir, cert, key;
  TestCert() {
    char templ[] = "/tmp/vredir-tls-test.XXXXXX";
    REQUIRE(::mkdtemp(templ));
    dir = templ;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    REQUIRE(pkey);
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    REQUIRE(X509_sign(x, pkey, EVP_sha256()) > 0);
    FILE* f = std::fopen(cert.c_str(), "w");
    REQUIRE(f);
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    REQUIRE(f);
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~TestCert() {
    ::unlink(cert.c_str());
    ::unlink(key.c_str());
    ::rmdir(dir.c_str());
  }
};

// Whatever waits on fd now (non-blocking).
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 50) <= 0) return out;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

void put(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    REQUIRE(n > 0);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

TEST_CASE("TLS reads ahead and says what waits inside; half a record is not pending", "[tls_transport]") {
  TestCert tc;
  SslCtxHandle sctx, cctx;
  REQUIRE(make_server_tls(tc.cert, tc.key, &sctx));
  REQUIRE(make_client_tls("", &cctx));
  // client <-> c[1] ... (the test) ... s[1] <-> server
  int c[2], s[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) == 0);
  Transport client(c[0]), server(s[0]);
  // Carry the handshake both ways until both ends are done.
  bool stop = false;
  std::thread carrier([&] {
    char buf[16384];
    while (!stop) {
      pollfd pf[2] = {{c[1], POLLIN, 0}, {s[1], POLLIN, 0}};
      if (::poll(pf, 2, 20) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(pf[i].revents & POLLIN)) continue;
        ssize_t n = ::read(pf[i].fd, buf, sizeof buf);
        if (n > 0) put(i == 0 ? s[1] : c[1], std::string_view(buf, static_cast<size_t>(n)));
      }
    }
  });
  const auto deadline = Transport::Clock::now() + std::chrono::seconds(10);
  Status server_st;
  std::thread accepter([&] { server_st = server.accept_tls(sctx.get(), deadline); });
  Status client_st = client.connect_tls(cctx.get(), "", deadline);
  accepter.join();
  // What the carrier still holds of the last handshake message goes across.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  carrier.join();
  REQUIRE(client_st);
  REQUIRE(server_st);
  put(s[1], drain(c[1]));
  put(c[1], drain(s[1]));

  // Three records from the client, arriving at once.
  for (std::string_view part : {"first record", "second record", "third record"}) {
    size_t wrote = 0;
    REQUIRE(client.write_some(reinterpret_cast<const uint8_t*>(part.data()), part.size(), &wrote) ==
            Transport::Io::kOk);
    REQUIRE(wrote == part.size());
  }
  const std::string wire = drain(c[1]);
  REQUIRE(wire.size() > 3 * 22);  // three records, each with header and tag
  put(s[1], wire);

  uint8_t buf[65536];
  size_t got = 0;
  std::string text;
  REQUIRE(server.read_some(buf, sizeof buf, &got) == Transport::Io::kOk);
  text.append(reinterpret_cast<char*>(buf), got);
  // One read took the lot from the socket: the rest waits inside, and poll
  // would not say so.
  pollfd pf{s[0], POLLIN, 0};
  CHECK(::poll(&pf, 1, 0) == 0);
  CHECK(server.pending());
  while (server.pending()) {
    REQUIRE(server.read_some(buf, sizeof buf, &got) == Transport::Io::kOk);
    text.append(reinterpret_cast<char*>(buf), got);
  }
  CHECK(text == "first recordsecond recordthird record");
  CHECK(server.read_some(buf, sizeof buf, &got) == Transport::Io::kWouldBlock);
  CHECK_FALSE(server.pending());

  // A record cut in two: its start is held, and not pending once a read
  // found the rest missing; the rest completes it.
  const std::string part = "cut in two";
  size_t wrote = 0;
  REQUIRE(client.write_some(reinterpret_cast<const uint8_t*>(part.data()), part.size(), &wrote) == Transport::Io::kOk);
  const std::string rec = drain(c[1]);
  REQUIRE(rec.size() > 12);
  put(s[1], rec.substr(0, 9));
  CHECK(server.read_some(buf, sizeof buf, &got) == Transport::Io::kWouldBlock);
  CHECK_FALSE(server.pending());
  CHECK(server.read_some(buf, sizeof buf, &got) == Transport::Io::kWouldBlock);
  put(s[1], rec.substr(9));
  REQUIRE(server.read_some(buf, sizeof buf, &got) == Transport::Io::kOk);
  CHECK(std::string(reinterpret_cast<char*>(buf), got) == part);
  CHECK_FALSE(server.pending());
  ::close(c[1]);
  ::close(s[1]);
}
