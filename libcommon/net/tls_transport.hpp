// Network transport for redir-mux: endpoints (tls://HOST:PORT, tcp://HOST:PORT,
// unix:PATH), listening and connecting sockets, and a byte stream that is TLS
// 1.3 through OpenSSL (or plain for loopback tcp:// and unix:). Sockets are
// non-blocking: the session loops poll them, and the *_until helpers wait
// with a deadline. Server identity on the client side: CA verification with
// the host name, a pinned SHA-256 fingerprint, or a known-hosts file with
// trust on first use.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "wire/status.hpp"

namespace vredir {

struct Endpoint {
  enum class Scheme { kTls, kTcp, kUnix };
  Scheme scheme = Scheme::kTls;
  std::string host;  // tls/tcp; IPv6 without brackets
  uint16_t port = 0;
  std::string path;  // unix

  bool plain() const { return scheme != Scheme::kTls; }
  std::string to_string() const;  // tls://127.0.0.1:5900, unix:/run/x.sock
  std::string host_port() const;   // 127.0.0.1:5900 (known-hosts key), or the path
};

bool parse_endpoint(std::string_view text, Endpoint* out, std::string* err);
// 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(std::string_view host);

// Listens (SO_REUSEADDR, backlog 128). Port 0 picks a free port: *bound is
// the endpoint actually listened on.
Status listen_endpoint(const Endpoint& ep, int* fd, Endpoint* bound);
// Connects within timeout_s; the socket comes back non-blocking. A source
// address (tcp/tls only) binds the socket to it first.
Status connect_endpoint(const Endpoint& ep, double timeout_s, int* fd, const std::string& source = "");
// "127.0.0.1" for an accepted socket, "unix" for a unix one.
std::string peer_address(int fd);

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxHandle = std::unique_ptr<SSL_CTX, SslCtxFree>;

// TLS 1.3 only. The server context loads a PEM certificate chain and key,
// and asks clients for a certificate (optional, any issuer: the caller
// matches its fingerprint, Transport::peer_fingerprint()).
Status make_server_tls(const std::string& cert_file, const std::string& key_file, SslCtxHandle* out);
// A client context presents this certificate and key when the server asks.
Status use_client_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file);
// ca_file empty: no chain verification (the caller pins a fingerprint or
// checks known hosts instead).
Status make_client_tls(const std::string& ca_file, SslCtxHandle* out);

class Transport {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Io { kOk, kWouldBlock, kClosed, kError };

  Transport() = default;
  explicit Transport(int fd);  // takes ownership; plain until a handshake
  // Closes what it held and takes ownership of fd.
  void adopt(int fd) {
    close();
    fd_ = fd;
  }
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // TLS handshakes, bounded by the deadline (kExitTimeout after it).
  Status accept_tls(SSL_CTX* ctx, Clock::time_point deadline);
  // verify_host: the name or address checked against the certificate when
  // the context verifies a chain (empty: no host check).
  Status connect_tls(SSL_CTX* ctx, const std::string& verify_host, Clock::time_point deadline);

  Io read_some(uint8_t* buf, size_t max, size_t* got);
  Io write_some(const uint8_t* data, size_t size, size_t* wrote);
  // Bytes waiting in the TLS layer that poll cannot see: decrypted, or read
  // ahead from the socket.
  bool pending() const;
  // The last read or write needs the socket writable / readable to go on.
  bool wants_write() const { return want_write_; }

  // Blocking forms with a deadline, for the handshake phase of a session.
  Status write_all_until(std::string_view data, Clock::time_point deadline);
  // Reads at least one byte; *got 0 means the peer closed.
  Status read_until(uint8_t* buf, size_t max, size_t* got, Clock::time_point deadline);

  // SHA-256 of the peer certificate (DER), lower-case hex without colons.
  std::string peer_fingerprint() const;
  std::string last_error() const { return error_; }
  bool is_tls() const { return ssl_ != nullptr; }
  int fd() const { return fd_; }
  void close();

 private:
  Status handshake(Clock::time_point deadline, bool server);
  Io map_error(int ret);

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool want_write_ = false;
  bool read_starved_ = false;  // the last read wanted more from the socket
  std::string error_;
};

// "AB:CD:..." (as openssl x509 -fingerprint -sha256 prints it, with or
// without "SHA256 Fingerprint=") or plain hex -> 64 lower-case hex digits;
// "" when it is not a SHA-256 fingerprint.
std::string normalize_fingerprint(std::string_view text);
// Colon-separated upper-case form for messages.
std::string format_fingerprint(std::string_view hex);

// Known hosts, one "HOST:PORT SHA256HEX" per line. Unknown host: the
// fingerprint is added (trust on first use) and *added is set. Known host with
// another fingerprint: kExitDenied with a message that says so loudly.
Status check_known_host(const std::string& file, const std::string& host_port, const std::string& fingerprint,
                        bool* added);
// $XDG_CONFIG_HOME/vredir/known_hosts, else ~/.config/vredir/known_hosts.
std::string default_known_hosts_file();

}  // namespace vredir
