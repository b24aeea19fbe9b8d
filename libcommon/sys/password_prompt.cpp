#include "sys/password_prompt.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace vredir {

namespace {

constexpr size_t kMaxPassword = 1024;

Status prompt_tty(const std::string& prompt, std::string* out) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return fail(kExitUsage, std::string("no password given and no terminal to ask on (use --password-file FILE or ") +
                                kPasswordEnv + ")");
  (void)!::write(fd, prompt.data(), prompt.size());
  termios old {};
  bool have = ::tcgetattr(fd, &old) == 0;
  if (have) {
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n' && line.size() <= kMaxPassword) line += c;
  if (have) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  *out = line;
  return Status::ok();
}

}  // namespace

Status read_password(const std::string& file, const std::string& prompt, bool confirm, std::string* out) {
  if (!file.empty()) {
    std::ifstream f(file);
    if (!f) return fail(kExitFailure, "cannot read password file '" + file + "': " + std::strerror(errno));
    std::getline(f, *out);
    if (!out->empty() && out->back() == '\r') out->pop_back();
  } else if (const char* env = std::getenv(kPasswordEnv); env && *env) {
    *out = env;
  } else {
    if (Status st = prompt_tty(prompt, out); !st) return st;
    if (confirm) {
      std::string again;
      if (Status st = prompt_tty("Again: ", &again); !st) return st;
      if (again != *out) return fail(kExitUsage, "the two passwords differ");
    }
  }
  if (out->empty()) return fail(kExitUsage, "empty password");
  if (out->size() > kMaxPassword) return fail(kExitUsage, "password longer than 1024 bytes");
  return Status::ok();
}

}  // namespace vredir
