// Data files and standard streams: "-" means stdin/stdout. Writes go through
// write_all so that EPIPE (the reader is done) becomes a quiet, successful end.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "wire/status.hpp"

namespace vredir {

class OutputFile {
 public:
  OutputFile() = default;
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // "-" or empty means stdout. A file is created with mode (less the umask);
  // a private mode (no group or other bits) is also set on a file that existed.
  Status open(const std::string& path, unsigned mode = 0644);
  Status write(std::string_view data);
  Status write(std::span<const uint8_t> data) {
    return write(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  Status close();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = 1;
  bool owned_ = false;
  std::string path_ = "stdout";
};

class InputFile {
 public:
  InputFile() = default;
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // "-" or empty means stdin.
  Status open(const std::string& path);
  // Reads up to max bytes; 0 at end of file. Retries EINTR.
  Status read(uint8_t* buf, size_t max, size_t* got);
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = 0;
  bool owned_ = false;
  std::string path_ = "stdin";
};

// Writes everything or fails; EPIPE gives Status::reader_gone().
Status write_all(int fd, std::string_view data, const std::string& what);

// stdout for text output (tables, JSON lines), with the same EPIPE rule.
Status write_stdout(std::string_view text);

// Writes a whole file atomically (temp file + rename), with the given mode.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);

}  // namespace vredir
