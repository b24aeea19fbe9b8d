#include <catch2/catch.hpp>

#include "virt/qmp_reply.hpp"

using namespace vredir;
using json = nlohmann::json;

TEST_CASE("QMP and guest agent replies of any shape give a Status", "[qmp_reply]") {
  json r;
  CHECK(qmp::parse_reply("{\"return\": {\"pid\": 7}}", "agent", &r));
  CHECK(qmp::int_at(r, {"pid"}) == 7);
  CHECK(qmp::parse_reply("{}", "agent", &r));
  CHECK(r.is_object());
  Status st = qmp::parse_reply("{\"error\": {\"class\": \"X\", \"desc\": \"no\"}}", "agent", &r);
  CHECK(st.code() == kExitFailure);
  CHECK(st.message().find("no") != std::string::npos);
  // Wrong types where the protocol has strings or objects.
  CHECK(qmp::parse_reply("{\"error\": 5}", "agent", &r).code() == kExitFailure);
  CHECK(qmp::parse_reply("{\"error\": {\"desc\": [1]}}", "agent", &r).code() == kExitFailure);
  CHECK(qmp::parse_reply("[1,2]", "agent", &r).code() == kExitMalformed);
  CHECK(qmp::parse_reply("{\"return\":", "agent", &r).code() == kExitMalformed);
  CHECK(qmp::parse_reply("", "agent", &r).code() == kExitMalformed);
}

TEST_CASE("guest-exec-status with wrong types is malformed, not a crash", "[qmp_reply]") {
  bool exited = false;
  int code = -1;
  CHECK(qmp::parse_exec_status(json::parse(R"({"exited": true, "exitcode": 3})"), &exited, &code));
  CHECK((exited && code == 3));
  CHECK(qmp::parse_exec_status(json::parse(R"({"exited": true, "signal": 9})"), &exited, &code));
  CHECK(code == 137);
  CHECK(qmp::parse_exec_status(json::parse(R"({"exited": false})"), &exited, &code));
  CHECK_FALSE(exited);
  for (const char* bad : {R"({"exited": "yes"})", R"({"exited": true, "exitcode": "0"})", R"({"exited": true})",
                          R"([true])", R"("exited")", R"({"exited": 1})"})
    CHECK(qmp::parse_exec_status(json::parse(bad), &exited, &code).code() == kExitMalformed);
  // Accessors never throw on other types.
  json odd = json::parse(R"({"id": 42, "kernel-name": ["Windows"], "n": {"m": "x"}})");
  CHECK_FALSE(qmp::string_at(odd, {"id"}));
  CHECK_FALSE(qmp::string_at(odd, {"kernel-name"}));
  CHECK(qmp::string_at(odd, {"n", "m"}) == "x");
  CHECK_FALSE(qmp::int_at(odd, {"n", "m", "deeper"}));
  CHECK_FALSE(qmp::bool_at(odd, {"id"}));
}
