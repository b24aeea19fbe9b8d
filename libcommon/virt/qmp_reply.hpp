// Replies from QEMU's monitor (QMP) and from the guest agent, read without
// trusting their shape. Both come from a process that a guest can influence
// (the agent runs inside it), so a reply whose JSON types are not what the
// protocol says is an error with an exit code, never an exception or a crash.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "wire/status.hpp"

namespace vredir::qmp {

// A member of nested objects, or nullptr when the reply does not have that shape.
const nlohmann::json* member(const nlohmann::json& j, std::initializer_list<const char*> keys);
// Typed members: nullopt when absent or of another type.
std::optional<std::string> string_at(const nlohmann::json& j, std::initializer_list<const char*> keys);
std::optional<bool> bool_at(const nlohmann::json& j, std::initializer_list<const char*> keys);
std::optional<int64_t> int_at(const nlohmann::json& j, std::initializer_list<const char*> keys);

// A reply: {"return": ...} or {"error": {"class": ..., "desc": ...}}. On
// success *result is the "return" member (an empty object when absent).
// Not JSON, not an object, or an error: the Status says which, in one line
// naming `who` (for example "the guest agent of 'web1'").
Status parse_reply(const std::string& text, const std::string& who, nlohmann::json* result);

// guest-exec-status's return: *exited, and when it has exited its exit code
// (128 + the signal when it was killed).
Status parse_exec_status(const nlohmann::json& ret, bool* exited, int* exit_code);

}  // namespace vredir::qmp
