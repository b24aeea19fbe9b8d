// A stream written into memory with fixed timestamps, for unit tests that
// build their input through the one StreamWriter.
#pragma once

#include <string>
#include <string_view>

#include "wire/stream_writer.hpp"

namespace vredir::stream::testing {

struct Built {
  std::string bytes;
  StreamWriter w{[this](std::string_view d) {
    bytes.append(d);
    return Status::ok();
  }};
  Built() { w.set_fixed_time(0); }
};

}  // namespace vredir::stream::testing
