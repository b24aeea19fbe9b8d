#include "capture_output.hpp"

#include <chrono>

#include "sys/stdio_files.hpp"

namespace vredir {

struct CaptureOutput::State {
  struct Chunk {
    Kind kind;
    std::string bytes;
    size_t pcm = 0;
  };

  int fd = 1;
  std::string what;
  size_t audio_limit = 0;
  std::mutex mu;
  std::condition_variable cv, drained;
  std::deque<Chunk> queue;
  size_t queued_bytes = 0;
  size_t queued_pcm = 0;
  int displays = 0;  // display chunks queued or being written
  bool writing = false;
  bool stop = false;
  uint64_t dropped_audio = 0;
  Status status;

  void run() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [this] { return stop || !queue.empty(); });
      if (queue.empty()) return;  // stopped and drained
      Chunk c = std::move(queue.front());
      queue.pop_front();
      if (c.kind == Kind::kAudio) queued_pcm -= c.pcm;
      writing = true;
      lock.unlock();
      Status st = write_all(fd, c.bytes, what);
      lock.lock();
      writing = false;
      queued_bytes -= c.bytes.size();
      if (c.kind == Kind::kDisplay) displays--;
      if (!st) {
        status = st;
        queue.clear();
        queued_bytes = queued_pcm = 0;
        displays = 0;
      }
      if (queue.empty()) drained.notify_all();
      if (!status) return;
    }
  }
};

CaptureOutput::CaptureOutput(int fd, std::string what, size_t audio_limit) : state_(std::make_shared<State>()) {
  state_->fd = fd;
  state_->what = std::move(what);
  state_->audio_limit = audio_limit;
  std::shared_ptr<State> s = state_;
  std::thread([s] { s->run(); }).detach();
}

CaptureOutput::~CaptureOutput() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
}

void CaptureOutput::push(Kind kind, std::string bytes, size_t pcm_bytes) {
  if (bytes.empty()) return;
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.status || s.stop) return;
    s.queued_bytes += bytes.size();
    if (kind == Kind::kDisplay) s.displays++;
    if (kind == Kind::kAudio) {
      s.queued_pcm += pcm_bytes;
      // Drop the oldest queued audio (the chunk being written has left the
      // queue already) until the rest fits.
      for (auto it = s.queue.begin(); s.queued_pcm > s.audio_limit && it != s.queue.end();) {
        if (it->kind == Kind::kAudio) {
          s.queued_pcm -= it->pcm;
          s.queued_bytes -= it->bytes.size();
          s.dropped_audio += it->pcm;
          it = s.queue.erase(it);
        } else {
          ++it;
        }
      }
    }
    s.queue.push_back(State::Chunk{kind, std::move(bytes), pcm_bytes});
  }
  s.cv.notify_all();
}

bool CaptureOutput::display_busy() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->displays > 0;
}

Status CaptureOutput::status() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->status;
}

uint64_t CaptureOutput::dropped_audio_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->dropped_audio;
}

size_t CaptureOutput::queued_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->queued_bytes;
}

bool CaptureOutput::close(int timeout_ms) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  bool drained = s.drained.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                    [&s] { return (s.queue.empty() && !s.writing) || !s.status; });
  s.stop = true;
  lock.unlock();
  s.cv.notify_all();
  return drained;
}

}  // namespace vredir
