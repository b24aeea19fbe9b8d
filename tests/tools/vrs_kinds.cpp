// vrs-kinds: prints the standard kind table, one line per kind and per frame
// type, for the checks that keep the docs in step with it (tests/cli/docs.sh):
//   kind NUMBER NAME input|output PARAM...
//   type 0xNN NAME KIND|-
#include <cstdio>

#include "wire/kind_table.hpp"

int main() {
  const vredir::stream::KindTable& t = vredir::stream::standard_table();
  for (const auto& k : t.kinds()) std::printf("kind %u %s %s %s\n", k.number, k.name, k.input ? "input" : "output", k.params);
  for (const auto& ty : t.types()) {
    const auto* k = ty.kind ? t.kind(ty.kind) : nullptr;
    std::printf("type 0x%02x %s %s\n", ty.number, ty.name, k ? k->name : "-");
  }
  return 0;
}
