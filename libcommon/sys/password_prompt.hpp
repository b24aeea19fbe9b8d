// Where a password comes from, in order: a file (first line), an environment
// variable, or a prompt on the controlling terminal with echo off. Never a
// command-line flag: those show up in ps and shell history.
#pragma once

#include <string>

#include "wire/status.hpp"

namespace vredir {

inline constexpr const char* kPasswordEnv = "VREDIR_PASSWORD";

// file: "" for none. confirm: prompt twice and require the same answer.
Status read_password(const std::string& file, const std::string& prompt, bool confirm, std::string* out);

}  // namespace vredir
