#include "virt/hypervisor.hpp"

#include <libvirt/virterror.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>

namespace vredir {

namespace {

void ignore_libvirt_error(void*, virErrorPtr) {}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 10 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool looks_like_uuid(const std::string& s) {
  size_t hex = 0;
  for (unsigned char c : s) {
    if (std::isxdigit(c)) ++hex;
    else if (c != '-') return false;
  }
  return hex == 32;
}

// Strips libvirt's trailing period and newlines so messages stay one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && (s.back() == ' ' || s.back() == '.')) s.pop_back();
  return s;
}

int last_error_code() {
  virErrorPtr err = virGetLastError();
  return err ? err->code : VIR_ERR_OK;
}

}  // namespace

std::string last_libvirt_message() {
  virErrorPtr err = virGetLastError();
  return err && err->message ? one_line(err->message) : std::string("unknown libvirt error");
}

const char* state_name(DomainState state) {
  switch (state) {
    case DomainState::kRunning: return "running";
    case DomainState::kPaused: return "paused";
    case DomainState::kShutoff: return "shutoff";
    case DomainState::kCrashed: return "crashed";
    case DomainState::kPmSuspended: return "pmsuspended";
    case DomainState::kShuttingDown: return "shutting-down";
    case DomainState::kUnknown: break;
  }
  return "unknown";
}

std::optional<DomainState> parse_state(std::string_view name) {
  if (name == "running" || name == "blocked") return DomainState::kRunning;
  if (name == "paused") return DomainState::kPaused;
  if (name == "shutoff") return DomainState::kShutoff;
  if (name == "crashed") return DomainState::kCrashed;
  if (name == "pmsuspended") return DomainState::kPmSuspended;
  if (name == "shutting-down") return DomainState::kShuttingDown;
  if (name == "unknown") return DomainState::kUnknown;
  return std::nullopt;
}

DomainState state_from_libvirt(int vir_state) {
  switch (vir_state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED: return DomainState::kRunning;
    case VIR_DOMAIN_PAUSED: return DomainState::kPaused;
    case VIR_DOMAIN_SHUTDOWN: return DomainState::kShuttingDown;
    case VIR_DOMAIN_SHUTOFF: return DomainState::kShutoff;
    case VIR_DOMAIN_CRASHED: return DomainState::kCrashed;
    case VIR_DOMAIN_PMSUSPENDED: return DomainState::kPmSuspended;
    default: return DomainState::kUnknown;
  }
}

std::string state_reason_name(int vir_state, int reason) {
  static const char* const running[] = {"unknown", "booted", "migrated", "restored", "from-snapshot", "unpaused",
                                        "migration-canceled", "save-canceled", "wakeup", "crashed", "postcopy",
                                        "postcopy-failed"};
  static const char* const paused[] = {"unknown", "user", "migration", "save", "dump", "ioerror", "watchdog",
                                       "from-snapshot", "shutting-down", "snapshot", "crashed", "starting-up",
                                       "postcopy", "postcopy-failed"};
  static const char* const shutoff[] = {"unknown", "shutdown", "destroyed", "crashed", "migrated",
                                        "saved", "failed", "from-snapshot", "daemon"};
  static const char* const shutdown[] = {"unknown", "user"};
  static const char* const crashed[] = {"unknown", "panicked"};
  auto pick = [reason](const char* const* names, size_t n) -> std::string {
    return reason >= 0 && static_cast<size_t>(reason) < n ? names[reason] : "unknown";
  };
  switch (vir_state) {
    case VIR_DOMAIN_RUNNING: return pick(running, std::size(running));
    case VIR_DOMAIN_PAUSED: return pick(paused, std::size(paused));
    case VIR_DOMAIN_SHUTOFF: return pick(shutoff, std::size(shutoff));
    case VIR_DOMAIN_SHUTDOWN: return pick(shutdown, std::size(shutdown));
    case VIR_DOMAIN_CRASHED: return pick(crashed, std::size(crashed));
    default: return "unknown";
  }
}

bool uri_is_local(const std::string& uri) {
  size_t colon = uri.find("://");
  if (colon == std::string::npos) return true;
  std::string rest = uri.substr(colon + 3);
  std::string host = rest.substr(0, rest.find_first_of("/?"));
  if (size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (!host.empty() && host[0] == '[') {
    if (size_t close = host.find(']'); close != std::string::npos) host = host.substr(0, close + 1);  // IPv6
  } else if (size_t port = host.rfind(':'); port != std::string::npos) {
    host = host.substr(0, port);
  }
  return host.empty() || host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

std::string resolve_connect_uri(const std::string& option) {
  if (!option.empty()) return option;
  const char* env = std::getenv("LIBVIRT_DEFAULT_URI");
  if (env && *env) return env;
  return "qemu:///system";
}

Status libvirt_error(const std::string& context) {
  int code = last_error_code();
  std::string msg = context + ": " + last_libvirt_message();
  switch (code) {
    case VIR_ERR_NO_DOMAIN: return fail(kExitNotFound, msg);
    case VIR_ERR_ACCESS_DENIED:
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_AUTH_CANCELLED:
    case VIR_ERR_AUTH_UNAVAILABLE:
    case VIR_ERR_OPERATION_DENIED: return fail(kExitDenied, msg);
    case VIR_ERR_OPERATION_TIMEOUT: return fail(kExitTimeout, msg);
    default: return fail(kExitFailure, msg);
  }
}

void silence_libvirt_errors() {
  static std::once_flag once;
  std::call_once(once, [] { virSetErrorFunc(nullptr, ignore_libvirt_error); });
}

Status enable_libvirt_events() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = virEventRegisterDefaultImpl(); });
  if (rc < 0) return libvirt_error("cannot start the libvirt event loop");
  return Status::ok();
}

void ConnectionClose::operator()(virConnectPtr c) const { virConnectClose(c); }
void DomainFree::operator()(virDomainPtr d) const { virDomainFree(d); }

Domain::Domain(DomainHandle handle, std::string uri) : handle_(std::move(handle)), uri_(std::move(uri)) {
  if (const char* n = virDomainGetName(handle_.get())) name_ = n;
}

Domain Domain::share() const {
  if (!handle_) return Domain();
  virDomainRef(handle_.get());
  return Domain(DomainHandle(handle_.get()), uri_);
}

std::string Domain::uuid() const {
  char buf[VIR_UUID_STRING_BUFLEN] = {};
  if (virDomainGetUUIDString(handle_.get(), buf) < 0) return {};
  return buf;
}

int Domain::id() const {
  unsigned int id = virDomainGetID(handle_.get());
  return id == static_cast<unsigned int>(-1) ? -1 : static_cast<int>(id);
}

Status Domain::state(DomainState* state, int* reason) const {
  int s = 0, r = 0;
  if (virDomainGetState(handle_.get(), &s, &r, 0) < 0)
    return libvirt_error("cannot read the state of '" + name_ + "'");
  *state = state_from_libvirt(s);
  if (reason) *reason = r;
  return Status::ok();
}

Status Domain::xml(std::string* out) const {
  char* x = virDomainGetXMLDesc(handle_.get(), 0);
  if (!x) return libvirt_error("cannot read the XML of '" + name_ + "'");
  out->assign(x);
  std::free(x);
  return Status::ok();
}

Status Domain::summary(DomainSummary* out) const {
  *out = DomainSummary();
  out->name = name_;
  out->uuid = uuid();
  out->id = id();
  int s = 0, r = 0;
  if (virDomainGetState(handle_.get(), &s, &r, 0) < 0)
    return libvirt_error("cannot read the state of '" + name_ + "'");
  out->state = state_from_libvirt(s);
  out->reason = state_reason_name(s, r);
  virDomainInfo info{};
  if (virDomainGetInfo(handle_.get(), &info) < 0)
    return libvirt_error("cannot read the info of '" + name_ + "'");
  out->vcpus = info.nrVirtCpu;
  out->memory_kib = info.memory ? info.memory : info.maxMem;
  out->persistent = virDomainIsPersistent(handle_.get()) == 1;
  int autostart = 0;
  if (virDomainGetAutostart(handle_.get(), &autostart) == 0) out->autostart = autostart != 0;
  return Status::ok();
}

Status Connection::open(const std::string& uri_option) {
  silence_libvirt_errors();
  uri_ = resolve_connect_uri(uri_option);
  handle_.reset(virConnectOpenAuth(uri_.c_str(), virConnectAuthPtrDefault, 0));
  if (handle_) return Status::ok();
  int code = last_error_code();
  std::string why = last_libvirt_message();
  if (code == VIR_ERR_AUTH_FAILED || code == VIR_ERR_AUTH_CANCELLED || code == VIR_ERR_AUTH_UNAVAILABLE ||
      code == VIR_ERR_ACCESS_DENIED || code == VIR_ERR_OPERATION_DENIED)
    return fail(kExitDenied, "permission denied connecting to " + uri_ + ": " + why +
                                 " (try: run as root, join the libvirt group, or use qemu:///session)");
  std::string fix = uri_.rfind("qemu", 0) == 0 ? " (is libvirtd running? try: libvirtd -d)"
                                               : " (check the URI; see: virsh -c URI uri)";
  return fail(kExitFailure, "cannot connect to " + uri_ + ": " + why + fix);
}

Status Connection::lookup(const std::string& ref, Domain* out) const {
  virDomainPtr d = nullptr;
  if (all_digits(ref)) d = virDomainLookupByID(handle_.get(), std::atoi(ref.c_str()));
  if (!d && looks_like_uuid(ref)) d = virDomainLookupByUUIDString(handle_.get(), ref.c_str());
  if (!d) d = virDomainLookupByName(handle_.get(), ref.c_str());
  if (!d) {
    int code = last_error_code();
    if (code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_OK || code == VIR_ERR_INVALID_ARG)
      return fail(kExitNotFound, "domain '" + ref + "' not found on " + uri_ + " (try: vm-list --all)");
    return libvirt_error("cannot look up domain '" + ref + "' on " + uri_);
  }
  *out = Domain(DomainHandle(d), uri_);
  return Status::ok();
}

Status Connection::list(bool all, std::vector<Domain>* out) const {
  out->clear();
  virDomainPtr* doms = nullptr;
  unsigned int flags = all ? 0 : VIR_CONNECT_LIST_DOMAINS_ACTIVE;
  int n = virConnectListAllDomains(handle_.get(), &doms, flags);
  if (n < 0) return libvirt_error("cannot list domains on " + uri_);
  for (int i = 0; i < n; ++i) out->emplace_back(DomainHandle(doms[i]), uri_);
  std::free(doms);
  std::sort(out->begin(), out->end(), [](const Domain& a, const Domain& b) {
    int ia = a.id(), ib = b.id();
    if ((ia >= 0) != (ib >= 0)) return ia >= 0;
    if (ia >= 0 && ia != ib) return ia < ib;
    return a.name() < b.name();
  });
  return Status::ok();
}

}  // namespace vredir
