// Fuzz target for what redir-capture --serial reads from others: the guest's
// console output through the --until-serial wait, and the --serial-input
// stream's serial DATA frames. The same bytes go to both.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "serial_channel.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<SerialWait> wait;
  if (!SerialWait::create("^[a-z]+ login: $|SER-[0-9]+-OK|(a|b)*c", &wait)) std::abort();
  nlohmann::ordered_json report;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // In two pieces, as output arrives.
  if (!wait->feed(bytes.substr(0, size / 2), &report) && wait->feed(bytes.substr(size / 2), &report))
    if (report["line"].get<std::string>().size() > SerialWait::kMaxLine) std::abort();
  (void)wait->failure("the console");

  SerialInput in;
  std::string out;
  (void)in.feed(data, size, &out);
  if (out.size() > size) std::abort();  // the input's bytes come from its frames only
  return 0;
}
