// os-autoinst needles: NAME.json (areas, tags) next to NAME.png (a whole
// screenshot), matched the way os-autoinst matches them, so that an openQA
// rig's needles work unchanged.
//
// The matching, as os-autoinst's tinycv does it: the screen and the needle
// image get their `exclude` areas painted green (0,255,0); both are turned
// grey (ITU-R 601 weights in OpenCV's fixed point) and blurred with a 3x3
// Gaussian ([1 2 1] x [1 2 1] / 16, edges mirrored); each `match` area is
// looked for within its margin (50 pixels by default) around where it was
// recorded, by the sum of squared differences. Among the positions within
// 10 of the least sum, the one nearest the recorded position is taken; its
// mean squared error gives the similarity 0.9 + (40 - MSE) / 380 (clamped
// to 0..1), and the area matches when that reaches its `match` percentage
// (96 by default). The needle matches when every match area does. `ocr`
// areas are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/image_files.hpp"
#include "media/screen_match.hpp"
#include "wire/status.hpp"

namespace vredir {

struct NeedleArea {
  enum class Type { kMatch, kExclude, kOcr };
  Type type = Type::kMatch;
  ScreenRegion box;
  double match = 96;     // percent
  uint32_t margin = 50;  // pixels searched around the recorded position
  // click_point: relative to the area; "center" when set with centre = true.
  bool has_click = false, click_centre = false;
  uint32_t click_x = 0, click_y = 0;
};

struct Needle {
  std::string name;  // the JSON file's name without .json
  std::vector<std::string> tags;
  std::vector<NeedleArea> areas;
  std::string png;   // the image's path
  Image image;
};

inline constexpr size_t kMaxNeedleJsonBytes = 1 << 20;
inline constexpr size_t kMaxNeedleAreas = 256;

// Parses a needle's JSON (untrusted). At least one match area is required.
bool parse_needle_json(std::string_view json, Needle* out, std::string* err);
// Reads NAME.json and its PNG ("png" in the JSON, else NAME.png beside it).
Status load_needle(const std::string& json_path, Needle* out);
// Whether a path names an os-autoinst needle (ends in .json).
bool is_needle_json(const std::string& path);

// Writes BASE.json and BASE.png: the screen, one match area per area and
// one exclude area per exclude, tagged with the base name.
Status write_needle(const std::string& base, const Image& screen, const std::vector<ScreenRegion>& areas,
                    const std::vector<ScreenRegion>& excludes);

struct NeedleAreaResult {
  ScreenRegion box;  // where it was found (size of the area)
  double similarity = 0;
  bool ok = false;
  uint32_t click_x = 0, click_y = 0;  // the click point (default: the centre), on the screen
};

struct NeedleResult {
  bool ok = false;
  std::vector<NeedleAreaResult> areas;  // one per match area, in order
};

class NeedleSearch {
 public:
  explicit NeedleSearch(const Needle& needle);
  // Matches against a width x height screen (0x00RRGGBB).
  NeedleResult find(const uint32_t* screen, uint32_t width, uint32_t height) const;

 private:
  const Needle& needle_;
  std::vector<uint8_t> needle_grey_;  // blurred grey needle image, excludes painted
};

// os-autoinst's preparation of an image (exposed for tests): exclude areas
// painted green, grey, 3x3 Gaussian blur.
std::vector<uint8_t> needle_prepare(const uint32_t* pixels, uint32_t width, uint32_t height,
                                    const std::vector<NeedleArea>& areas);

}  // namespace vredir
