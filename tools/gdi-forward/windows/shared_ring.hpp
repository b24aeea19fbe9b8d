// The down link between the hook DLL and gdi-forward.exe: a byte ring in a
// named shared memory section, one writer (the hook) and one reader
// (gdi-forward). Under Wine every read or write of a named pipe is a
// wineserver round trip, about seven per frame between the two processes; the
// ring costs no wineserver request on either side. The reader waits for data
// on a futex in the ring's header where that exists (Wine on Linux: one
// Linux system call to wake it, none while it is awake), and polls it
// elsewhere; the writer waits on a full ring.
#pragma once

#include <windows.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

namespace gdi_forward {

class SharedRing {
 public:
  static constexpr uint32_t kDefaultCapacity = 4u << 20;

  SharedRing() = default;
  SharedRing(const SharedRing&) = delete;
  SharedRing& operator=(const SharedRing&) = delete;
  ~SharedRing() {
    if (header_) UnmapViewOfFile(header_);
    if (mapping_) CloseHandle(mapping_);
  }

  // The reader's side: creates the section.
  bool create(const std::wstring& name, uint32_t capacity = kDefaultCapacity) {
    uint64_t size = sizeof(Header) + uint64_t(capacity);
    mapping_ = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, DWORD(size >> 32), DWORD(size),
                                  name.c_str());
    if (!mapping_ || GetLastError() == ERROR_ALREADY_EXISTS) return false;
    if (!map()) return false;
    header_->capacity = capacity_ = capacity;
    header_->reader_pid = GetCurrentProcessId();
    return true;
  }

  // The writer's side: opens the reader's section.
  bool open(const std::wstring& name) {
    mapping_ = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name.c_str());
    if (!mapping_ || !map()) return false;
    MEMORY_BASIC_INFORMATION mi{};
    capacity_ = header_->capacity;
    // A capacity the section cannot hold is not ours.
    return VirtualQuery(header_, &mi, sizeof(mi)) && capacity_ > 0 && mi.RegionSize >= sizeof(Header) + size_t(capacity_);
  }

  // Copies as much of data as fits; returns the bytes taken. Wakes the
  // reader if it sleeps.
  size_t write_some(const char* data, size_t size) {
    uint64_t w = header_->written.load(std::memory_order_relaxed);
    uint64_t r = header_->read.load(std::memory_order_acquire);
    uint64_t cap = capacity_;
    size_t n = w - r > cap ? 0 : size_t(std::min<uint64_t>(size, cap - (w - r)));
    if (n == 0) return 0;
    copy_in(w % cap, data, n);
    header_->written.store(w + n, std::memory_order_seq_cst);
    if (header_->sleeping.load(std::memory_order_seq_cst)) wake_reader();
    return n;
  }

  // Wakes the reader if it waits in wait_for_data (the writer after
  // writing; the reader's own process to make it look at its stop flag).
  void wake_reader() {
    header_->wake.fetch_add(1, std::memory_order_seq_cst);
    if (futex_ok()) futex(&header_->wake, kFutexWake, 1, nullptr);
  }

  // The reader: returns when data may be there, when stop is set (and
  // wake_reader called), or after about timeout_ms.
  void wait_for_data(uint32_t timeout_ms, const std::atomic<bool>& stop) {
    if (!futex_ok()) {
      Sleep(timeout_ms < 8 ? timeout_ms : 8);
      return;
    }
    uint32_t seen = header_->wake.load(std::memory_order_seq_cst);
    header_->sleeping.store(1, std::memory_order_seq_cst);
    if (header_->written.load(std::memory_order_seq_cst) == header_->read.load(std::memory_order_relaxed) &&
        !stop.load(std::memory_order_seq_cst)) {
      LinuxTimespec ts{timeout_ms / 1000, int64_t(timeout_ms % 1000) * 1000000};
      futex(&header_->wake, kFutexWait, seen, &ts);
    }
    header_->sleeping.store(0, std::memory_order_relaxed);
  }

  // Moves up to size bytes out; returns the bytes moved. The counters are
  // the writer's to scribble on, but only the reader's own capacity
  // decides where it reads.
  size_t read_some(char* out, size_t size) {
    uint64_t r = header_->read.load(std::memory_order_relaxed);
    uint64_t w = header_->written.load(std::memory_order_acquire);
    size_t n = size_t(std::min<uint64_t>(std::min<uint64_t>(size, capacity_), w - r));
    copy_out(r % capacity_, out, n);
    header_->read.store(r + n, std::memory_order_release);
    return n;
  }

  // The reader stops reading: a writer waiting for room gives up.
  void close_reader() { header_->reader_gone.store(1, std::memory_order_release); }
  bool reader_gone() const { return header_->reader_gone.load(std::memory_order_acquire) != 0; }
  DWORD reader_pid() const { return header_->reader_pid; }

 private:
  struct Header {
    std::atomic<uint64_t> written;  // bytes ever written
    char pad1[56];
    std::atomic<uint64_t> read;  // bytes ever read
    char pad2[56];
    std::atomic<uint32_t> reader_gone;
    uint32_t capacity;
    DWORD reader_pid;
    std::atomic<uint32_t> sleeping;  // the reader waits on wake
    std::atomic<uint32_t> wake;      // the futex word, bumped by the writer
  };

  // Linux futexes (not private: the two processes map the same pages),
  // called directly: Wine runs Windows code in a Linux process, and has no
  // Win32 call that wakes another process without a wineserver request.
  struct LinuxTimespec {  // the kernel's: two 64-bit fields (long is 32-bit on Windows)
    int64_t tv_sec;
    int64_t tv_nsec;
  };
  static constexpr int kFutexWait = 0, kFutexWake = 1;
  static int64_t futex(std::atomic<uint32_t>* word, int op, uint32_t val, const LinuxTimespec* ts) {
#if defined(__x86_64__)
    int64_t ret;
    register int64_t r10 asm("r10") = reinterpret_cast<int64_t>(ts);
    asm volatile("syscall"
                 : "=a"(ret)
                 : "0"(int64_t(202)), "D"(word), "S"(int64_t(op)), "d"(int64_t(val)), "r"(r10)
                 : "rcx", "r11", "memory");
    return ret;
#else
    (void)word, (void)op, (void)val, (void)ts;
    return -1;
#endif
  }
  // True under Wine on an x86-64 Linux host.
  static bool futex_ok() {
    static const bool ok = [] {
#if defined(__x86_64__)
      using HostVersion = void(CDECL*)(const char** sysname, const char** release);
      auto host = reinterpret_cast<HostVersion>(
          reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_host_version")));
      const char* sysname = nullptr;
      const char* release = nullptr;
      if (host) host(&sysname, &release);
      return sysname && std::strcmp(sysname, "Linux") == 0;
#else
      return false;
#endif
    }();
    return ok;
  }

  bool map() {
    void* view = MapViewOfFile(mapping_, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    header_ = static_cast<Header*>(view);
    data_ = reinterpret_cast<char*>(header_ + 1);
    return header_ != nullptr;
  }
  void copy_in(uint64_t at, const char* p, size_t n) {
    size_t first = size_t(std::min<uint64_t>(n, capacity_ - at));
    std::memcpy(data_ + at, p, first);
    std::memcpy(data_, p + first, n - first);
  }
  void copy_out(uint64_t at, char* p, size_t n) {
    size_t first = size_t(std::min<uint64_t>(n, capacity_ - at));
    std::memcpy(p, data_ + at, first);
    std::memcpy(p + first, data_, n - first);
  }

  HANDLE mapping_ = nullptr;
  uint32_t capacity_ = 0;
  Header* header_ = nullptr;
  char* data_ = nullptr;
};

}  // namespace gdi_forward
