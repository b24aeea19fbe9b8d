// Reading screens on a thread of their own, so that OCR (a second or more
// per screen through Tesseract) never holds up the capture loop, which has
// to keep reading QEMU's socket. Jobs carry a copy of the screen; results
// are picked up by id. wake_fd() becomes readable when one is ready.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "media/screen_text.hpp"
#include "wire/status.hpp"

namespace vredir {

class TextWorker {
 public:
  struct Result {
    Status status;
    ScreenText text;
  };

  TextWorker();
  ~TextWorker();
  TextWorker(const TextWorker&) = delete;
  TextWorker& operator=(const TextWorker&) = delete;

  // Queues a reading of region (w == 0: all) of a width x height screen.
  uint64_t submit(const uint32_t* pixels, uint32_t width, uint32_t height, const ScreenRegion& region);
  // The result of job id once it is done.
  bool take(uint64_t id, Result* out);
  // Forgets a job (its result is dropped when it comes).
  void cancel(uint64_t id);
  int wake_fd() const { return wake_[0]; }
  // Empties the wake pipe (the loop does this before looking at results).
  void drain_wake();

 private:
  struct Job {
    uint64_t id;
    std::vector<uint32_t> pixels;
    uint32_t width, height;
    ScreenRegion region;
  };
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::map<uint64_t, Result> done_;
  std::map<uint64_t, bool> cancelled_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace vredir
