#include "ocr/screen_reader.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "ocr/ocr_plugin.hpp"
#include "sys/plugins.hpp"

namespace vredir {

namespace {

struct Collect {
  ScreenText* text;
  std::vector<TextWord> words;
};

void on_word(void* ctx, const char* text, uint32_t x, uint32_t y, uint32_t w, uint32_t h, double confidence,
             int first_in_line) {
  auto* c = static_cast<Collect*>(ctx);
  if (first_in_line && !c->words.empty()) {
    c->text->add_line(std::move(c->words));
    c->words.clear();
  }
  TextWord word;
  word.text = text;
  word.box = ScreenRegion{x, y, w, h};
  word.confidence = confidence;
  c->words.push_back(std::move(word));
}

}  // namespace

ScreenReader::~ScreenReader() {
  if (engine_ && free_) free_(engine_);
}

Status ScreenReader::read(const uint32_t* px, uint32_t width, uint32_t height, const ScreenRegion& region,
                          ScreenText* out, Method method) {
  ScreenRegion r = region;
  if (r.w == 0 || r.h == 0) r = ScreenRegion{0, 0, width, height};
  if (uint64_t(r.x) + r.w > width || uint64_t(r.y) + r.h > height)
    return fail(kExitUsage, "the region " + std::to_string(r.x) + "," + std::to_string(r.y) + "," +
                                std::to_string(r.w) + "," + std::to_string(r.h) + " lies outside the " +
                                std::to_string(width) + "x" + std::to_string(height) + " screen");
  if (method != Method::kOcr) {
    if (!font_tried_) {
      font_tried_ = true;
      std::string where;
      if (Status st = font_.load_installed(&where); st)
        spdlog::debug("VGA text screens are read through the font in {}", where);
      else
        spdlog::debug("{}; text screens go to OCR", st.message());
    }
    std::string why;
    ScreenText all;
    if (font_.loaded() && read_text_mode(px, width, height, font_, &all, &why)) {
      *out = all.inside(region);
      return Status::ok();
    }
    if (method == Method::kFont)
      return fail(kExitFailure, "not a text screen in the firmware's font: " + (font_.loaded() ? why : "no font"));
    spdlog::debug("not read through the VGA font: {}", font_.loaded() ? why : "no font");
  }
  return ocr(px, width, height, r, out);
}

Status ScreenReader::ocr(const uint32_t* px, uint32_t width, uint32_t height, const ScreenRegion& r, ScreenText* out) {
  if (!engine_ && engine_status_) {
    void* plugin = nullptr;
    engine_status_ = load_plugin(VREDIR_OCR_PLUGIN,
                                 "OCR of screens that are not VGA text: build with Tesseract, apt-get install "
                                 "libtesseract-dev tesseract-ocr-eng",
                                 &plugin);
    if (engine_status_) {
      auto make = reinterpret_cast<vredir_ocr_new_fn>(plugin_symbol(plugin, "vredir_ocr_new"));
      read_ = reinterpret_cast<vredir_ocr_read_fn>(plugin_symbol(plugin, "vredir_ocr_read"));
      free_ = reinterpret_cast<vredir_ocr_free_fn>(plugin_symbol(plugin, "vredir_ocr_free"));
      char err[256] = "";
      if (!make || !read_ || !free_)
        engine_status_ = fail(kExitFailure, std::string(VREDIR_OCR_PLUGIN) + " lacks its functions");
      else if (!(engine_ = make(err, sizeof err)))
        engine_status_ = fail(kExitFailure, err);
    }
  }
  if (!engine_) return engine_status_;
  ScreenText text;
  text.source = "tesseract";
  Collect c{&text, {}};
  char err[256] = "";
  if (read_(engine_, px, width, height, r.x, r.y, r.w, r.h, on_word, &c, err, sizeof err) != 0)
    return fail(kExitFailure, err);
  if (!c.words.empty()) text.add_line(std::move(c.words));
  *out = std::move(text);
  return Status::ok();
}

}  // namespace vredir
