#include "virt/qmp_reply.hpp"

namespace vredir::qmp {

using json = nlohmann::json;

const json* member(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(k);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::optional<std::string> string_at(const json& j, std::initializer_list<const char*> keys) {
  const json* m = member(j, keys);
  if (!m || !m->is_string()) return std::nullopt;
  return m->get<std::string>();
}

std::optional<bool> bool_at(const json& j, std::initializer_list<const char*> keys) {
  const json* m = member(j, keys);
  if (!m || !m->is_boolean()) return std::nullopt;
  return m->get<bool>();
}

std::optional<int64_t> int_at(const json& j, std::initializer_list<const char*> keys) {
  const json* m = member(j, keys);
  if (!m || !m->is_number_integer()) return std::nullopt;
  if (m->is_number_unsigned() && m->get<uint64_t>() > uint64_t(INT64_MAX)) return std::nullopt;
  return m->get<int64_t>();
}

Status parse_reply(const std::string& text, const std::string& who, json* result) {
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return fail(kExitMalformed, who + " sent a reply that is not JSON");
  if (parsed.contains("error")) {
    std::string desc = string_at(parsed, {"error", "desc"}).value_or("an error without a description");
    return fail(kExitFailure, who + " answered with an error: " + desc.substr(0, 512));
  }
  if (!parsed.contains("return")) {
    *result = json::object();
    return Status::ok();
  }
  *result = std::move(parsed["return"]);
  return Status::ok();
}

Status parse_exec_status(const json& ret, bool* exited, int* exit_code) {
  if (!ret.is_object()) return fail(kExitMalformed, "guest-exec-status returned no object");
  std::optional<bool> e = bool_at(ret, {"exited"});
  if (!e) return fail(kExitMalformed, "guest-exec-status returned no 'exited' flag");
  *exited = *e;
  if (!*exited) return Status::ok();
  if (auto code = int_at(ret, {"exitcode"})) {
    *exit_code = static_cast<int>(*code & 0xff);
  } else if (auto sig = int_at(ret, {"signal"})) {
    *exit_code = 128 + static_cast<int>(*sig & 0x7f);
  } else {
    return fail(kExitMalformed, "guest-exec-status says the program exited, with no exit code or signal");
  }
  return Status::ok();
}

}  // namespace vredir::qmp
