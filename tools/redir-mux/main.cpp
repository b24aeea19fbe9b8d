// redir-mux: remote sessions (serve, connect, users) and local composition of
// streams (join, split). Each subcommand lives in its own file; main only
// wires them together.
#include "sys/cli.hpp"
#include "subcommands.hpp"

int main(int argc, char** argv) {
  vredir::Tool tool("redir-mux",
                    "Remote VM sessions over TLS (serve, connect, users) and joining or splitting vredir streams");
  CLI::App& app = tool.app();
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, redir_mux::Runner>> runners;
  auto add = [&](redir_mux::Runner (*f)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    redir_mux::Runner r = f(app);
    std::vector<CLI::App*> subs = app.get_subcommands({});
    for (size_t i = before; i < subs.size(); ++i) runners.emplace_back(subs[i], r);
  };
  add(redir_mux::add_serve);
  add(redir_mux::add_connect);
  add(redir_mux::add_users);
  add(redir_mux::add_join);
  add(redir_mux::add_split);
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return tool.finish(run());
  return tool.usage_error("choose a subcommand: serve, connect, users, join or split");
}
