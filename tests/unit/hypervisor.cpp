// Against libvirt's built-in test driver (test:///default): one running
// domain "test", id 1, in a private in-process hypervisor.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "virt/domain_devices.hpp"
#include "virt/domain_events.hpp"
#include "virt/domain_power.hpp"
#include "virt/hypervisor.hpp"

using vredir::DomainState;
using vredir::uri_is_local;

TEST_CASE("state vocabulary", "[hypervisor]") {
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_RUNNING))) == "running");
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_BLOCKED))) == "running");
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_PAUSED))) == "paused");
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_SHUTDOWN))) == "shutting-down");
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_SHUTOFF))) == "shutoff");
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_CRASHED))) == "crashed");
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_PMSUSPENDED))) == "pmsuspended");
  CHECK(std::string(vredir::state_name(vredir::state_from_libvirt(VIR_DOMAIN_NOSTATE))) == "unknown");

  SECTION("every name parses back") {
    for (DomainState s : {DomainState::kRunning, DomainState::kPaused, DomainState::kShutoff, DomainState::kCrashed,
                          DomainState::kPmSuspended, DomainState::kShuttingDown, DomainState::kUnknown})
      CHECK(vredir::parse_state(vredir::state_name(s)) == s);
    CHECK(vredir::parse_state("blocked") == DomainState::kRunning);
    CHECK_FALSE(vredir::parse_state("shut off").has_value());
  }
  SECTION("reasons") {
    CHECK(vredir::state_reason_name(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED) == "destroyed");
    CHECK(vredir::state_reason_name(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED) == "booted");
    CHECK(vredir::state_reason_name(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER) == "user");
    CHECK(vredir::state_reason_name(VIR_DOMAIN_RUNNING, 999) == "unknown");
  }
}

TEST_CASE("connect URI precedence", "[hypervisor]") {
  const char* saved = std::getenv("LIBVIRT_DEFAULT_URI");
  std::string restore = saved ? saved : "";
  unsetenv("LIBVIRT_DEFAULT_URI");
  CHECK(vredir::resolve_connect_uri("") == "qemu:///system");
  setenv("LIBVIRT_DEFAULT_URI", "test:///default", 1);
  CHECK(vredir::resolve_connect_uri("") == "test:///default");
  CHECK(vredir::resolve_connect_uri("qemu:///session") == "qemu:///session");
  if (saved) setenv("LIBVIRT_DEFAULT_URI", restore.c_str(), 1);
  else unsetenv("LIBVIRT_DEFAULT_URI");
}

TEST_CASE("local and remote URIs", "[hypervisor]") {
  CHECK(uri_is_local("qemu:///system"));
  CHECK(uri_is_local("qemu:///session"));
  CHECK(uri_is_local("test:///default"));
  CHECK(uri_is_local("qemu+tcp://localhost:16509/system"));
  CHECK(uri_is_local("qemu+ssh://root@127.0.0.1/system"));
  CHECK(uri_is_local("qemu+ssh://user@[::1]:22/system?keyfile=/k"));
  CHECK_FALSE(uri_is_local("qemu+ssh://other/system"));
  CHECK_FALSE(uri_is_local("qemu+ssh://root@host.example:2222/system"));
  CHECK_FALSE(uri_is_local("qemu+tls://10.0.0.2/system"));
  CHECK_FALSE(uri_is_local("qemu+tcp://localhost.example/system"));
  CHECK_FALSE(uri_is_local("qemu+ssh://[::1/system"));
  CHECK_FALSE(uri_is_local("qemu+ssh://[fe80::1]:22/system"));
}

TEST_CASE("connection failures name the URI", "[hypervisor]") {
  vredir::Connection conn;
  vredir::Status st = conn.open("test:///no/such/dir/domains.xml");
  CHECK(st.code() == vredir::kExitFailure);
  CHECK(st.message().find("cannot connect to test:///no/such/dir/domains.xml") == 0);
  CHECK(st.message().find('\n') == std::string::npos);
}

TEST_CASE("lookup by name, UUID and id", "[hypervisor]") {
  vredir::Connection conn;
  REQUIRE(conn.open("test:///default").is_ok());
  vredir::Domain by_name;
  REQUIRE(conn.lookup("test", &by_name).is_ok());
  CHECK(by_name.name() == "test");
  std::string uuid = by_name.uuid();
  REQUIRE(uuid.size() == 36);

  vredir::Domain by_uuid;
  REQUIRE(conn.lookup(uuid, &by_uuid).is_ok());
  CHECK(by_uuid.name() == "test");

  vredir::Domain by_id;
  REQUIRE(conn.lookup(std::to_string(by_name.id()), &by_id).is_ok());
  CHECK(by_id.name() == "test");

  SECTION("missing gives 3 and the fix") {
    vredir::Domain none;
    vredir::Status st = conn.lookup("web1", &none);
    CHECK(st.code() == vredir::kExitNotFound);
    CHECK(st.message() == "domain 'web1' not found on test:///default (try: vm-list --all)");
    CHECK(conn.lookup("4242", &none).code() == vredir::kExitNotFound);
    CHECK(conn.lookup("00000000-0000-0000-0000-000000000000", &none).code() == vredir::kExitNotFound);
  }
}

TEST_CASE("listing and summaries", "[hypervisor]") {
  vredir::Connection conn;
  REQUIRE(conn.open("test:///default").is_ok());
  std::vector<vredir::Domain> domains;
  REQUIRE(conn.list(false, &domains).is_ok());
  REQUIRE(domains.size() == 1);
  vredir::DomainSummary s;
  REQUIRE(domains[0].summary(&s).is_ok());
  CHECK(s.name == "test");
  CHECK(s.state == DomainState::kRunning);
  CHECK(s.id >= 0);
  CHECK(s.vcpus > 0);
  CHECK(s.memory_kib > 0);
  std::string xml;
  REQUIRE(domains[0].xml(&xml).is_ok());
  vredir::DomainDevices devices;
  CHECK(vredir::parse_domain_devices(xml, &devices).is_ok());
  CHECK_FALSE(devices.agent.present);
}

TEST_CASE("power actions on the test driver", "[hypervisor]") {
  vredir::Connection conn;  // each test:///default connection is a fresh hypervisor
  REQUIRE(conn.open("test:///default").is_ok());
  vredir::Domain d;
  REQUIRE(conn.lookup("test", &d).is_ok());
  vredir::PowerOptions wait;
  wait.wait = true;
  wait.timeout_s = 5;
  DomainState s;

  REQUIRE(vredir::run_power_action(conn, d, vredir::PowerAction::kSuspend, wait).is_ok());
  REQUIRE(d.state(&s).is_ok());
  CHECK(s == DomainState::kPaused);
  CHECK(vredir::run_power_action(conn, d, vredir::PowerAction::kSuspend, wait).is_ok());  // already: a note
  CHECK(vredir::run_power_action(conn, d, vredir::PowerAction::kStart, wait).code() == vredir::kExitFailure);
  REQUIRE(vredir::run_power_action(conn, d, vredir::PowerAction::kResume, wait).is_ok());
  REQUIRE(d.state(&s).is_ok());
  CHECK(s == DomainState::kRunning);

  REQUIRE(vredir::run_power_action(conn, d, vredir::PowerAction::kPoweroff, wait).is_ok());
  REQUIRE(d.state(&s).is_ok());
  CHECK(s == DomainState::kShutoff);
  CHECK(vredir::run_power_action(conn, d, vredir::PowerAction::kPoweroff, wait).is_ok());  // already
  CHECK(vredir::run_power_action(conn, d, vredir::PowerAction::kShutdown, wait).is_ok());  // already
  CHECK(vredir::run_power_action(conn, d, vredir::PowerAction::kResume, wait).code() == vredir::kExitFailure);
  CHECK(vredir::run_power_action(conn, d, vredir::PowerAction::kStart, wait).is_ok());
  REQUIRE(d.state(&s).is_ok());
  CHECK(s == DomainState::kRunning);
  CHECK(vredir::wait_for_state(d, DomainState::kPaused, 0.3).code() == vredir::kExitTimeout);
}

TEST_CASE("power action names", "[hypervisor]") {
  for (const char* n : {"start", "shutdown", "reboot", "reset", "poweroff", "suspend", "resume"}) {
    auto a = vredir::parse_power_action(n);
    REQUIRE(a.has_value());
    CHECK(std::string(vredir::power_action_name(*a)) == n);
  }
  CHECK_FALSE(vredir::parse_power_action("logoff").has_value());
}

TEST_CASE("lifecycle event words", "[hypervisor]") {
  auto e = vredir::lifecycle_words(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED);
  CHECK(e.event == "started");
  CHECK(e.detail == "booted");
  e = vredir::lifecycle_words(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
  CHECK(e.event == "stopped");
  CHECK(e.detail == "destroyed");
  e = vredir::lifecycle_words(VIR_DOMAIN_EVENT_SUSPENDED, 99);
  CHECK(e.event == "suspended");
  CHECK(e.detail == "unknown");
  auto j = vredir::to_json(vredir::LifecycleEvent{"t", "demo", "u", "rebooted", "reset"});
  CHECK(j.dump() == R"({"time":"t","domain":"demo","uuid":"u","event":"rebooted","detail":"reset"})");
}
