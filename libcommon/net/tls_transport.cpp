#include "net/tls_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sys/stdio_files.hpp"

namespace vredir {

namespace {

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Frames are small and often answer one another (USB transfers, key events):
// Nagle's wait for an acknowledgement would add a delayed-ACK round to each.
// Harmless on a Unix socket, where the call fails.
void set_no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int ms_until(Transport::Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Transport::Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(std::min<long long>(ms, 1000000));
}

// Waits for the socket; false on timeout.
bool wait_fd(int fd, bool for_write, Transport::Clock::time_point deadline) {
  pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  for (;;) {
    int r = ::poll(&p, 1, ms_until(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the next call report the error
  }
}

bool resolve(const Endpoint& ep, bool passive, addrinfo** res, std::string* err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  std::string port = std::to_string(ep.port);
  int rc = ::getaddrinfo(ep.host.empty() ? nullptr : ep.host.c_str(), port.c_str(), &hints, res);
  if (rc != 0) {
    *err = "cannot resolve '" + ep.host + "': " + ::gai_strerror(rc);
    return false;
  }
  return true;
}

bool unix_address(const std::string& path, sockaddr_un* sa, std::string* err) {
  if (path.empty() || path.size() >= sizeof(sa->sun_path)) {
    *err = "unix socket path is empty or too long: '" + path + "'";
    return false;
  }
  std::memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  std::memcpy(sa->sun_path, path.data(), path.size());
  return true;
}

}  // namespace

std::string Endpoint::to_string() const {
  if (scheme == Scheme::kUnix) return "unix:" + path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(scheme == Scheme::kTls ? "tls://" : "tcp://") + h + ":" + std::to_string(port);
}

std::string Endpoint::host_port() const {
  if (scheme == Scheme::kUnix) return path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

bool parse_endpoint(std::string_view text, Endpoint* out, std::string* err) {
  *out = Endpoint{};
  if (text.rfind("unix:", 0) == 0) {
    out->scheme = Endpoint::Scheme::kUnix;
    out->path = std::string(text.substr(5));
    if (out->path.empty()) {
      *err = "unix: needs a socket path";
      return false;
    }
    return true;
  }
  std::string_view rest;
  if (text.rfind("tls://", 0) == 0) {
    rest = text.substr(6);
  } else if (text.rfind("tcp://", 0) == 0) {
    out->scheme = Endpoint::Scheme::kTcp;
    rest = text.substr(6);
  } else {
    *err = "'" + std::string(text) + "' is not tls://HOST:PORT, tcp://HOST:PORT or unix:PATH";
    return false;
  }
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    *err = "'" + std::string(text) + "' needs HOST:PORT";
    return false;
  }
  std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535 || port.empty()) {
    *err = "bad port in '" + std::string(text) + "'";
    return false;
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(p);
  return true;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  std::string h(host);
  if (::inet_pton(AF_INET, h.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

Status listen_endpoint(const Endpoint& ep, int* fd, Endpoint* bound) {
  *bound = ep;
  std::string err;
  if (ep.scheme == Endpoint::Scheme::kUnix) {
    sockaddr_un sa{};
    if (!unix_address(ep.path, &sa, &err)) return fail(kExitUsage, err);
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ::unlink(ep.path.c_str());  // a stale socket from an earlier run
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(s, 128) != 0) {
      std::string e = std::strerror(errno);
      if (s >= 0) ::close(s);
      return fail(kExitFailure, "cannot listen on " + ep.to_string() + ": " + e);
    }
    ::chmod(ep.path.c_str(), 0600);
    set_nonblocking(s);
    *fd = s;
    return Status::ok();
  }
  addrinfo* res = nullptr;
  if (!resolve(ep, true, &res, &err)) return fail(kExitFailure, err);
  int s = -1;
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0) continue;
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(s, 128) == 0) break;
    last = std::strerror(errno);
    ::close(s);
    s = -1;
  }
  ::freeaddrinfo(res);
  if (s < 0) return fail(kExitFailure, "cannot listen on " + ep.to_string() + ": " + last);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(s, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET) bound->port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6) bound->port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  set_nonblocking(s);
  *fd = s;
  return Status::ok();
}

Status connect_endpoint(const Endpoint& ep, double timeout_s, int* fd, const std::string& source) {
  auto deadline = Transport::Clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  std::string err;
  auto finish_connect = [&](int s, const sockaddr* sa, socklen_t len) -> bool {
    set_nonblocking(s);
    if (::connect(s, sa, len) == 0) return true;
    if (errno != EINPROGRESS) {
      err = std::strerror(errno);
      return false;
    }
    if (!wait_fd(s, true, deadline)) {
      err = "timed out";
      return false;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    ::getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) err = std::strerror(soerr);
    return soerr == 0;
  };
  if (ep.scheme == Endpoint::Scheme::kUnix) {
    sockaddr_un sa{};
    if (!unix_address(ep.path, &sa, &err)) return fail(kExitUsage, err);
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && finish_connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa)) {
      *fd = s;
      return Status::ok();
    }
    if (s >= 0) ::close(s);
    return fail(kExitPeerLost, "cannot connect to " + ep.to_string() + ": " + err);
  }
  if (!source.empty() && ep.scheme == Endpoint::Scheme::kUnix)
    return fail(kExitUsage, "a source address needs a tcp:// or tls:// server");
  addrinfo* res = nullptr;
  if (!resolve(ep, false, &res, &err)) return fail(kExitFailure, err);
  int s = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0) continue;
    if (!source.empty()) {
      // Bind to the source address (port chosen by the kernel) first.
      addrinfo hints{}, *src = nullptr;
      hints.ai_family = ai->ai_family;
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
      if (::getaddrinfo(source.c_str(), nullptr, &hints, &src) != 0 || !src) {
        err = "source address '" + source + "' is not an address of the server's family";
        ::close(s);
        s = -1;
        continue;
      }
      int rc = ::bind(s, src->ai_addr, src->ai_addrlen);
      ::freeaddrinfo(src);
      if (rc != 0) {
        err = "cannot bind to source address '" + source + "': " + std::strerror(errno);
        ::close(s);
        s = -1;
        continue;
      }
    }
    if (finish_connect(s, ai->ai_addr, ai->ai_addrlen)) break;
    ::close(s);
    s = -1;
  }
  ::freeaddrinfo(res);
  if (s < 0)
    return fail(err == "timed out" ? kExitTimeout : kExitPeerLost,
                "cannot connect to " + ep.to_string() + ": " + err);
  set_no_delay(s);
  *fd = s;
  return Status::ok();
}

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  else if (ss.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  else if (ss.ss_family == AF_UNIX)
    return "unix";
  return buf[0] ? buf : "unknown";
}

Status make_server_tls(const std::string& cert_file, const std::string& key_file, SslCtxHandle* out) {
  SslCtxHandle ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail(kExitFailure, "TLS: " + ssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read takes what the socket has (a record's header and body, and the
  // records after it), not a read per header and per body; pending() says
  // when bytes wait inside.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  // Sessions are not resumed: every connection authenticates afresh.
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1)
    return fail(kExitFailure, "cannot load certificate '" + cert_file + "': " + ssl_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(kExitFailure, "cannot load key '" + key_file + "': " + ssl_errors());
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return fail(kExitFailure, "key '" + key_file + "' does not match certificate '" + cert_file + "'");
  // Ask for a client certificate, without requiring one and without a CA:
  // the handshake proves the client holds the key, and the session matches
  // the certificate's fingerprint against the account (users file cert=).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  static const unsigned char kContext[] = "redir-mux";
  SSL_CTX_set_session_id_context(ctx.get(), kContext, sizeof kContext - 1);
  *out = std::move(ctx);
  return Status::ok();
}

Status use_client_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return fail(kExitFailure, "cannot load client certificate '" + cert_file + "': " + ssl_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(kExitFailure, "cannot load client key '" + key_file + "': " + ssl_errors());
  if (SSL_CTX_check_private_key(ctx) != 1)
    return fail(kExitFailure, "key '" + key_file + "' does not match certificate '" + cert_file + "'");
  return Status::ok();
}

Status make_client_tls(const std::string& ca_file, SslCtxHandle* out) {
  SslCtxHandle ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail(kExitFailure, "TLS: " + ssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read takes what the socket has (a record's header and body, and the
  // records after it), not a read per header and per body; pending() says
  // when bytes wait inside.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1)
      return fail(kExitFailure, "cannot load CA file '" + ca_file + "': " + ssl_errors());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  *out = std::move(ctx);
  return Status::ok();
}

Transport::Transport(int fd) : fd_(fd) {}

Transport::~Transport() { close(); }

void Transport::close() {
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status Transport::handshake(Clock::time_point deadline, bool server) {
  for (;;) {
    ERR_clear_error();
    int r = server ? SSL_accept(ssl_) : SSL_connect(ssl_);
    if (r == 1) return Status::ok();
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!wait_fd(fd_, e == SSL_ERROR_WANT_WRITE, deadline))
        return fail(kExitTimeout, "TLS handshake timed out");
      continue;
    }
    if (!server) {
      long v = SSL_get_verify_result(ssl_);
      if (v != X509_V_OK)
        return fail(kExitDenied, std::string("server certificate not trusted: ") + X509_verify_cert_error_string(v));
    }
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) return fail(kExitPeerLost, "TLS handshake: peer closed");
    return fail(kExitFailure, "TLS handshake failed: " + ssl_errors());
  }
}

Status Transport::accept_tls(SSL_CTX* ctx, Clock::time_point deadline) {
  set_no_delay(fd_);
  ssl_ = SSL_new(ctx);
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return fail(kExitFailure, "TLS: " + ssl_errors());
  return handshake(deadline, true);
}

Status Transport::connect_tls(SSL_CTX* ctx, const std::string& verify_host, Clock::time_point deadline) {
  ssl_ = SSL_new(ctx);
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return fail(kExitFailure, "TLS: " + ssl_errors());
  in6_addr a6{};
  in_addr a4{};
  bool is_ip = ::inet_pton(AF_INET, verify_host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, verify_host.c_str(), &a6) == 1;
  if (!is_ip && !verify_host.empty()) SSL_set_tlsext_host_name(ssl_, verify_host.c_str());
  if (!verify_host.empty() && SSL_CTX_get_verify_mode(ctx) != SSL_VERIFY_NONE) {
    X509_VERIFY_PARAM* vp = SSL_get0_param(ssl_);
    if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(vp, verify_host.c_str());
    else X509_VERIFY_PARAM_set1_host(vp, verify_host.c_str(), 0);
  }
  return handshake(deadline, false);
}

Transport::Io Transport::map_error(int ret) {
  int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_WANT_READ) return Io::kWouldBlock;
  if (e == SSL_ERROR_WANT_WRITE) {
    want_write_ = true;
    return Io::kWouldBlock;
  }
  if (e == SSL_ERROR_ZERO_RETURN) return Io::kClosed;
  if (e == SSL_ERROR_SYSCALL && (errno == 0 || errno == ECONNRESET || errno == EPIPE)) return Io::kClosed;
  error_ = e == SSL_ERROR_SYSCALL ? std::string(std::strerror(errno)) : ssl_errors();
  return Io::kError;
}

Transport::Io Transport::read_some(uint8_t* buf, size_t max, size_t* got) {
  *got = 0;
  want_write_ = false;
  if (!ssl_) {
    ssize_t n = ::read(fd_, buf, max);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return Io::kOk;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::kWouldBlock;
    if (errno == ECONNRESET) return Io::kClosed;
    error_ = std::strerror(errno);
    return Io::kError;
  }
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_read_ex(ssl_, buf, max, &n);
  if (r == 1) {
    *got = n;
    read_starved_ = false;
    return Io::kOk;
  }
  Io io = map_error(r);
  read_starved_ = io == Io::kWouldBlock && !want_write_;  // it wanted bytes from the socket
  return io;
}

Transport::Io Transport::write_some(const uint8_t* data, size_t size, size_t* wrote) {
  *wrote = 0;
  want_write_ = false;
  if (!ssl_) {
    ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n >= 0) {
      *wrote = static_cast<size_t>(n);
      return Io::kOk;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      want_write_ = true;
      return Io::kWouldBlock;
    }
    if (errno == EPIPE || errno == ECONNRESET) return Io::kClosed;
    error_ = std::strerror(errno);
    return Io::kError;
  }
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_write_ex(ssl_, data, size, &n);
  if (r == 1) {
    *wrote = n;
    return Io::kOk;
  }
  Io io = map_error(r);
  // A write that cannot go on waits for POLLOUT, whatever OpenSSL said.
  if (io == Io::kWouldBlock) want_write_ = true;
  return io;
}

// Read ahead, the TLS layer may hold the start of a record: that is not
// pending once a read found the rest missing (poll sees the rest come).
bool Transport::pending() const { return ssl_ && !read_starved_ && SSL_has_pending(ssl_) == 1; }

Status Transport::write_all_until(std::string_view data, Clock::time_point deadline) {
  size_t off = 0;
  while (off < data.size()) {
    size_t n = 0;
    Io io = write_some(reinterpret_cast<const uint8_t*>(data.data()) + off, data.size() - off, &n);
    if (io == Io::kOk) {
      off += n;
      continue;
    }
    if (io == Io::kClosed) return fail(kExitPeerLost, "connection closed by peer");
    if (io == Io::kError) return fail(kExitPeerLost, "connection lost: " + error_);
    if (!wait_fd(fd_, true, deadline)) return fail(kExitTimeout, "timed out writing to peer");
  }
  return Status::ok();
}

Status Transport::read_until(uint8_t* buf, size_t max, size_t* got, Clock::time_point deadline) {
  for (;;) {
    Io io = read_some(buf, max, got);
    if (io == Io::kOk) return Status::ok();
    if (io == Io::kClosed) {
      *got = 0;
      return Status::ok();
    }
    if (io == Io::kError) return fail(kExitPeerLost, "connection lost: " + error_);
    if (!wait_fd(fd_, want_write_, deadline)) return fail(kExitTimeout, "timed out waiting for peer");
  }
}

std::string Transport::peer_fingerprint() const {
  if (!ssl_) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (!cert) return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  X509_free(cert);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string normalize_fingerprint(std::string_view text) {
  size_t eq = text.find('=');
  if (eq != std::string_view::npos) text = text.substr(eq + 1);
  std::string out;
  for (char c : text) {
    if (c == ':' || c == ' ' || c == '\n' || c == '\r') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out.size() == 64 ? out : "";
}

std::string format_fingerprint(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) out += ':';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
    if (i + 1 < hex.size()) out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
  }
  return out;
}

std::string default_known_hosts_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/vredir/known_hosts";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/vredir/known_hosts";
}

Status check_known_host(const std::string& file, const std::string& host_port, const std::string& fingerprint,
                        bool* added) {
  *added = false;
  std::string content;
  {
    std::ifstream f(file);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      content = ss.str();
    }
  }
  std::istringstream in(content);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ls(line);
    std::string host, fp;
    if (!(ls >> host >> fp) || host[0] == '#' || host != host_port) continue;
    if (normalize_fingerprint(fp) == fingerprint) return Status::ok();
    return fail(kExitDenied, "WARNING: THE SERVER CERTIFICATE OF " + host_port +
                                 " HAS CHANGED (someone may be intercepting the connection): now " +
                                 format_fingerprint(fingerprint) + ", known as " + format_fingerprint(fp) +
                                 " in " + file + ":" + std::to_string(lineno) +
                                 "; if the change is expected, delete that line");
  }
  size_t slash = file.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = file.substr(0, slash);
    // Parent of the directory, then the directory itself (~/.config/vredir).
    size_t up = dir.rfind('/');
    if (up != std::string::npos && up > 0) ::mkdir(dir.substr(0, up).c_str(), 0700);
    ::mkdir(dir.c_str(), 0700);
  }
  if (!content.empty() && content.back() != '\n') content += '\n';
  content += host_port + " " + fingerprint + "\n";
  if (Status st = write_file_atomic(file, content, 0600); !st) return st;
  *added = true;
  return Status::ok();
}

}  // namespace vredir
