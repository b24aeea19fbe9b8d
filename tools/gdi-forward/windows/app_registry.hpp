// The app registry on the Windows side: parsed by libcommon's portable
// apps layer (apps/app_registry.hpp, format in gdi-forward(1)); this file
// only reads it from a Windows path (or a Unix path under Wine).
#pragma once

#include <string>

#include "apps/app_registry.hpp"

namespace gdi_forward {

using vredir::apps::AppRegistry;
using vredir::apps::RegisteredApp;

// Reads and parses a registry file (a Windows path, or a Unix path under Wine).
bool load_registry(const std::string& path, AppRegistry* out, int* code, std::string* err);

}  // namespace gdi_forward
