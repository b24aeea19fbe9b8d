// vm-list: the libvirt domains and their virtual I/O devices, as a table or
// JSON lines; --watch prints lifecycle events as they happen.
#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sys/cli.hpp"
#include "virt/domain_devices.hpp"
#include "virt/domain_events.hpp"
#include "virt/hypervisor.hpp"
#include "sys/stdio_files.hpp"

namespace {

struct Options {
  std::string uri;
  bool all = false;
  bool json = false;
  bool watch = false;
  std::string states;
  std::string name_glob;
};

struct Row {
  vredir::DomainSummary summary;
  vredir::DomainDevices devices;
};

vredir::Status parse_states(const std::string& list, std::set<vredir::DomainState>* out) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto s = vredir::parse_state(item);
    if (!s)
      return vredir::fail(vredir::kExitUsage, "unknown state '" + item +
                                                  "' (valid: running, paused, shutoff, crashed, pmsuspended, "
                                                  "shutting-down, unknown)");
    out->insert(*s);
  }
  return vredir::Status::ok();
}

std::string table(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> cells = {{"NAME", "ID", "STATE", "UUID", "VCPUS", "MEMORY", "DEVICES"}};
  for (const Row& r : rows)
    cells.push_back({r.summary.name, r.summary.id >= 0 ? std::to_string(r.summary.id) : "-",
                     vredir::state_name(r.summary.state), r.summary.uuid, std::to_string(r.summary.vcpus),
                     std::to_string(r.summary.memory_kib / 1024), vredir::device_summary(r.devices)});
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string json_line(const Row& r) {
  nlohmann::ordered_json j = {{"name", r.summary.name},
                      {"id", r.summary.id >= 0 ? nlohmann::ordered_json(r.summary.id) : nlohmann::ordered_json(nullptr)},
                      {"uuid", r.summary.uuid},
                      {"state", vredir::state_name(r.summary.state)},
                      {"reason", r.summary.reason},
                      {"vcpus", r.summary.vcpus},
                      {"memory_mib", r.summary.memory_kib / 1024},
                      {"persistent", r.summary.persistent},
                      {"autostart", r.summary.autostart},
                      {"summary", vredir::device_summary(r.devices)},
                      {"devices", vredir::to_json(r.devices)}};
  // What a session would open: channels, on_request, input_hotplug.
  j.update(vredir::to_json(vredir::session_channels(r.devices)));
  return j.dump() + "\n";
}

vredir::Status list(const Options& o) {
  std::set<vredir::DomainState> wanted;
  if (!o.states.empty())
    if (vredir::Status st = parse_states(o.states, &wanted); !st) return st;
  vredir::Connection conn;
  if (vredir::Status st = conn.open(o.uri); !st) return st;
  std::vector<vredir::Domain> domains;
  if (vredir::Status st = conn.list(o.all || !wanted.empty(), &domains); !st) return st;
  std::vector<Row> rows;
  for (const vredir::Domain& d : domains) {
    if (!o.name_glob.empty() && fnmatch(o.name_glob.c_str(), d.name().c_str(), 0) != 0) continue;
    Row row;
    vredir::Status st = d.summary(&row.summary);
    if (!st && st.code() == vredir::kExitNotFound) continue;  // undefined while we listed
    if (!st) return st;
    if (!wanted.empty() && !wanted.count(row.summary.state)) continue;
    std::string xml;
    if (st = d.xml(&xml); st) st = vredir::parse_domain_devices(xml, &row.devices);
    if (!st) spdlog::warn("devices of '{}' unknown: {}", d.name(), st.message());
    rows.push_back(std::move(row));
  }
  if (o.json) {
    for (const Row& r : rows)
      if (vredir::Status st = vredir::write_stdout(json_line(r)); !st) return st;
    return vredir::Status::ok();
  }
  return vredir::write_stdout(table(rows));
}

vredir::Status watch(const Options& o) {
  if (vredir::Status st = vredir::enable_libvirt_events(); !st) return st;
  vredir::Connection conn;
  if (vredir::Status st = conn.open(o.uri); !st) return st;
  vredir::EventWatch events;
  if (vredir::Status st = events.start(conn, nullptr); !st) return st;
  spdlog::debug("watching lifecycle events on {}", conn.uri());
  while (!vredir::interrupted()) {
    if (vredir::Status st = events.run(200); !st) return st;
    while (events.has_event()) {
      vredir::LifecycleEvent e = events.take();
      if (!o.name_glob.empty() && fnmatch(o.name_glob.c_str(), e.domain.c_str(), 0) != 0) continue;
      if (vredir::Status st = vredir::write_stdout(vredir::to_json(e).dump() + "\n"); !st) return st;
    }
  }
  return vredir::fail(vredir::kExitInterrupted, "");
}

}  // namespace

int main(int argc, char** argv) {
  vredir::Tool tool("vm-list", "List libvirt domains and their virtual I/O devices");
  Options o;
  CLI::App& app = tool.app();
  app.add_option("-c,--connect", o.uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  app.add_flag("-a,--all", o.all, "Include domains that are not running");
  app.add_option("--state", o.states, "Only domains in these states (comma list: running, paused, shutoff, "
                                      "crashed, pmsuspended, shutting-down, unknown)");
  app.add_option("--name", o.name_glob, "Only domains whose name matches this glob");
  app.add_flag("--json", o.json, "One JSON object per line per domain, with all devices and the channels a session opens");
  app.add_flag("--watch", o.watch, "Print lifecycle events as JSON lines until interrupted");
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  vredir::install_interrupt_handlers();
  vredir::Status st = o.watch ? watch(o) : list(o);
  if (st.code() == vredir::kExitUsage) return tool.usage_error(st.message());
  return tool.finish(st);
}
