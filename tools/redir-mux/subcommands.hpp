// redir-mux is one binary with subcommands. Each add_* registers its
// subcommand (options, help) on the app and returns the function that runs it
// once parsing chose that subcommand. main.cpp only wires them together.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "wire/status.hpp"

namespace redir_mux {

using Runner = std::function<vredir::Status()>;

Runner add_serve(CLI::App& app);    // serve.cpp
Runner add_connect(CLI::App& app);  // connect.cpp
Runner add_users(CLI::App& app);    // users.cpp
Runner add_join(CLI::App& app);     // join.cpp
Runner add_split(CLI::App& app);    // split.cpp

}  // namespace redir_mux
