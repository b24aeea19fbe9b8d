#include <catch2/catch.hpp>

#include "apps/app_registry.hpp"

using namespace vredir::apps;

TEST_CASE("the registry: apps, groups and who may launch what", "[app_registry]") {
  AppRegistry reg;
  std::string err;
  REQUIRE(parse_registry("# apps\n[app notepad]\npath = notepad.exe\nallow = alice @staff\ndescription = the notepad\n\n"
                         "[app paint]\npath = C:\\\\apps\\\\paint.exe\nargs = /a \"two words\"\nallow = *\n"
                         "; comment\n[group staff]\nmembers = bob, carol\n",
                         &reg, &err));
  REQUIRE(reg.apps.size() == 2);
  const RegisteredApp* np = reg.find("notepad");
  REQUIRE(np);
  CHECK(np->description == "the notepad");
  CHECK(reg.allowed(*np, "alice"));
  CHECK(reg.allowed(*np, "bob"));    // through @staff
  CHECK(reg.allowed(*np, "carol"));  // the comma after bob is a separator
  CHECK_FALSE(reg.allowed(*np, "dave"));
  CHECK_FALSE(reg.allowed(*np, ""));
  CHECK(reg.allowed(*reg.find("paint"), "dave"));
  // An unknown app and a refused one look the same.
  CHECK(reg.launchable("notepad", "alice") == np);
  CHECK(reg.launchable("notepad", "dave") == nullptr);
  CHECK(reg.launchable("nosuch", "alice") == nullptr);
  CHECK(split_args(reg.find("paint")->args) == std::vector<std::string>{"/a", "two words"});
  CHECK(split_args("a \"\" b") == std::vector<std::string>{"a", "", "b"});
}

TEST_CASE("the registry: errors name the line", "[app_registry]") {
  auto error_of = [](const std::string& text) {
    AppRegistry reg;
    std::string err;
    CHECK_FALSE(parse_registry(text, &reg, &err));
    return err;
  };
  CHECK(error_of("[app a]\npath = x\n[app a]\npath = y\n").rfind("3: ", 0) == 0);
  CHECK(error_of("[app a b]\n").rfind("1: ", 0) == 0);
  CHECK(error_of("[app x/y]\npath = a\n").find("bad name") != std::string::npos);
  CHECK(error_of("path = x\n").find("outside") != std::string::npos);
  CHECK(error_of("[app a]\nallow = *\n").find("has no path") != std::string::npos);
  CHECK(error_of("[app a]\npath = x\ncolour = red\n").find("unknown key") != std::string::npos);
  CHECK(error_of(std::string(kMaxRegistryBytes + 1, '#')).find("MiB") != std::string::npos);
}
