#include "text_worker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "ocr/screen_reader.hpp"

namespace vredir {

TextWorker::TextWorker() {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { run(); });
}

TextWorker::~TextWorker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

uint64_t TextWorker::submit(const uint32_t* pixels, uint32_t width, uint32_t height, const ScreenRegion& region) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  jobs_.push_back(Job{id, std::vector<uint32_t>(pixels, pixels + size_t(width) * height), width, height, region});
  cv_.notify_all();
  return id;
}

bool TextWorker::take(uint64_t id, Result* out) {
  std::lock_guard lock(mu_);
  auto it = done_.find(id);
  if (it == done_.end()) return false;
  *out = std::move(it->second);
  done_.erase(it);
  return true;
}

void TextWorker::cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  if (done_.erase(id)) return;
  std::erase_if(jobs_, [id](const Job& j) { return j.id == id; });
  cancelled_[id] = true;
}

void TextWorker::drain_wake() {
  char buf[64];
  while (wake_[0] >= 0 && ::read(wake_[0], buf, sizeof buf) > 0) {
  }
}

void TextWorker::run() {
  ScreenReader reader;  // lives on this thread: Tesseract's model loads here, once
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Result r;
    r.status = reader.read(job.pixels.data(), job.width, job.height, job.region, &r.text);
    lock.lock();
    if (cancelled_.erase(job.id)) continue;
    done_[job.id] = std::move(r);
    char c = 1;
    if (wake_[1] >= 0) (void)!::write(wake_[1], &c, 1);
  }
}

}  // namespace vredir
