#include "memory_budget.hpp"

#include "sys/log_text.hpp"

namespace xreplay {

bool MemoryBudget::set(uint16_t channel, uint64_t bytes) {
  auto it = charges_.find(channel);
  uint64_t old = it == charges_.end() ? 0 : it->second;
  if (bytes > old && bytes - old > max_ - used_) return false;
  used_ = used_ - old + bytes;
  if (bytes == 0) charges_.erase(channel);
  else charges_[channel] = bytes;
  return true;
}

void MemoryBudget::release(uint16_t channel) { (void)set(channel, 0); }

uint64_t MemoryBudget::available_for(uint16_t channel) const {
  auto it = charges_.find(channel);
  uint64_t own = it == charges_.end() ? 0 : it->second;
  return max_ - (used_ - own);
}

std::string MemoryBudget::over(uint16_t channel, const std::string& name, uint64_t wanted) const {
  auto it = charges_.find(channel);
  uint64_t others = used_ - (it == charges_.end() ? 0 : it->second);
  std::string need = wanted ? std::to_string(wanted) + " bytes" : "more than " + std::to_string(available_for(channel)) + " bytes";
  return "channel " + std::to_string(channel) + " (" + vredir::log_quote(name, 64) + ") needs " + need +
         ", over x-replay's memory budget of " + std::to_string(max_ >> 20) +
         " MiB (--max-memory; " + std::to_string(others >> 20) + " MiB held by other channels)";
}

}  // namespace xreplay
