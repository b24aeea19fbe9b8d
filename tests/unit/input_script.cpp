#include <catch2/catch.hpp>

#include "input/input_script.hpp"

using namespace vredir;
using Kind = InputAction::Kind;

TEST_CASE("a script parses into actions in order", "[input_script]") {
  std::vector<InputAction> actions;
  std::string err;
  const char* script =
      "# comment\n"
      "\n"
      "type ls -l\\n\r\n"
      "  key ctrl-c shift-a\n"
      "move 10 20\n"
      "click 30 40 right\n"
      "click 1 2\n"
      "scroll -3\n"
      "sleep 250\n"
      "type \"  padded  \"\n";
  REQUIRE(parse_input_script(script, "s.txt", Layout::kUs, &actions, &err));
  REQUIRE(actions.size() == 8);
  CHECK(actions[0].kind == Kind::kKeys);
  CHECK(actions[0].keys.size() == 12);  // l s space - l Enter
  CHECK(actions[0].source == "s.txt:3");
  CHECK(actions[1].keys.size() == 8);
  CHECK(actions[2].kind == Kind::kMove);
  CHECK(actions[2].x == 10);
  CHECK(actions[2].y == 20);
  CHECK(actions[3].kind == Kind::kClick);
  CHECK(actions[3].button == 3);
  CHECK(actions[4].button == 1);
  CHECK(actions[5].amount == -3);
  CHECK(actions[6].ms == 250);
  CHECK(actions[7].keys.size() == 4 * 2 + 6 * 2);  // spaces kept inside the quotes
}

TEST_CASE("a bad line is reported as file:line and nothing is kept", "[input_script]") {
  std::vector<InputAction> actions;
  std::string err;
  SECTION("unknown action") {
    CHECK_FALSE(parse_input_script("type ok\njump 1\n", "f", Layout::kUs, &actions, &err));
    CHECK(err == "f:2: unknown action 'jump' (type, key, move, move-rel, click, scroll, sleep)");
  }
  SECTION("bad numbers") {
    CHECK_FALSE(parse_input_script("move 1\n", "f", Layout::kUs, &actions, &err));
    CHECK(err.find("f:1: 'move' takes 2") == 0);
    CHECK_FALSE(parse_input_script("move -1 5\n", "f", Layout::kUs, &actions, &err));
    CHECK_FALSE(parse_input_script("move 70000 5\n", "f", Layout::kUs, &actions, &err));
    CHECK_FALSE(parse_input_script("sleep 1e3\n", "f", Layout::kUs, &actions, &err));
    CHECK_FALSE(parse_input_script("scroll 0\n", "f", Layout::kUs, &actions, &err));
    CHECK_FALSE(parse_input_script("sleep 99999999999999999999\n", "f", Layout::kUs, &actions, &err));
  }
  SECTION("untypeable text names the character and layout") {
    CHECK_FALSE(parse_input_script("type caf\xc3\xa9\n", "f", Layout::kUs, &actions, &err));
    CHECK(err.find("f:1: character U+00E9") == 0);
  }
  SECTION("binary junk") {
    CHECK_FALSE(parse_input_script(std::string_view("type a\0b\n", 9), "f", Layout::kUs, &actions, &err));
    CHECK(err.find("NUL") != std::string::npos);
    CHECK_FALSE(parse_input_script("\x01\x02\x03", "f", Layout::kUs, &actions, &err));
  }
  SECTION("unknown key and bad button") {
    CHECK_FALSE(parse_input_script("key ctrl-nope\n", "f", Layout::kUs, &actions, &err));
    CHECK_FALSE(parse_input_script("click 1 2 sideways\n", "f", Layout::kUs, &actions, &err));
    CHECK(err.find("f:1: unknown button") == 0);
  }
  SECTION("overlong line") {
    std::string long_line = "type " + std::string(kMaxScriptLine, 'a');
    CHECK_FALSE(parse_input_script(long_line, "f", Layout::kUs, &actions, &err));
  }
  CHECK(actions.empty());
}

TEST_CASE("flag actions share the script's rules", "[input_script]") {
  InputAction a;
  std::string err;
  CHECK(make_move_action("3,4", &a, &err));
  CHECK(a.x == 3);
  CHECK(make_click_action("3, 4, middle", &a, &err));
  CHECK(a.button == 2);
  CHECK_FALSE(make_click_action("3", &a, &err));
  CHECK_FALSE(make_move_action("3,4,5", &a, &err));
  CHECK(make_move_rel_action("40,-25", &a, &err));
  CHECK(a.kind == InputAction::Kind::kMoveRel);
  CHECK(a.dx == 40);
  CHECK(a.dy == -25);
  CHECK_FALSE(make_move_rel_action("40", &a, &err));
  CHECK_FALSE(make_move_rel_action("40000,0", &a, &err));
  CHECK(err.find("bad dx motion") == 0);
  std::vector<InputAction> rel;
  CHECK(parse_input_script("move-rel -3 +7\n", "f", Layout::kUs, &rel, &err));
  REQUIRE(rel.size() == 1);
  CHECK(rel[0].dx == -3);
  CHECK(rel[0].dy == 7);
  CHECK(make_scroll_action("+2", &a, &err));
  CHECK(a.amount == 2);
  CHECK(make_type_action("a\\tb", Layout::kUs, &a, &err));
  CHECK(a.keys.size() == 6);
  CHECK_FALSE(make_type_action("\\q", Layout::kUs, &a, &err));
  CHECK(make_key_action("ctrl-alt-delete", &a, &err));
  CHECK(a.keys.size() == 6);
}
