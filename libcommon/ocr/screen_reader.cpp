#include "ocr/screen_reader.hpp"

#include <leptonica/allheaders.h>
#include <spdlog/spdlog.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cmath>

namespace vredir {

namespace {

constexpr int kScale = 2;

struct PixFree {
  void operator()(Pix* p) const { pixDestroy(&p); }
};
using PixPtr = std::unique_ptr<Pix, PixFree>;

}  // namespace

struct ScreenReader::Engine {
  tesseract::TessBaseAPI api;
  bool ready = false;
};

ScreenReader::ScreenReader() = default;
ScreenReader::~ScreenReader() {
  if (engine_ && engine_->ready) engine_->api.End();
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

Status ScreenReader::ocr(const uint32_t* px, uint32_t width, uint32_t, const ScreenRegion& r, ScreenText* out) {
  if (!engine_) {
    engine_ = std::make_unique<Engine>();
    if (engine_->api.Init(nullptr, "eng", tesseract::OEM_LSTM_ONLY) != 0)
      return fail(kExitFailure, "Tesseract cannot load its English model (apt-get install tesseract-ocr-eng)");
    engine_->api.SetVariable("debug_file", "/dev/null");
    engine_->api.SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
    engine_->ready = true;
  }
  if (!engine_->ready) return fail(kExitFailure, "Tesseract is not available");
  // Grey, and whether the text is light on dark (then it is inverted).
  PixPtr grey(pixCreate(static_cast<l_int32>(r.w), static_cast<l_int32>(r.h), 8));
  if (!grey) return fail(kExitFailure, "out of memory for OCR");
  uint64_t sum = 0;
  for (uint32_t y = 0; y < r.h; ++y) {
    const uint32_t* row = px + size_t(r.y + y) * width + r.x;
    l_uint32* line = pixGetData(grey.get()) + size_t(y) * pixGetWpl(grey.get());
    for (uint32_t x = 0; x < r.w; ++x) {
      uint32_t v = row[x];
      uint32_t g = (((v >> 16) & 0xFF) * 299 + ((v >> 8) & 0xFF) * 587 + (v & 0xFF) * 114) / 1000;
      sum += g;
      SET_DATA_BYTE(line, x, g);
    }
  }
  const bool dark = sum < uint64_t(r.w) * r.h * 128;
  PixPtr scaled(pixScaleGrayLI(grey.get(), kScale, kScale));
  if (!scaled) return fail(kExitFailure, "cannot scale the screen for OCR");
  l_int32 threshold = 128;
  {
    PixPtr thr;
    Pix* t = nullptr;
    if (pixOtsuAdaptiveThreshold(scaled.get(), 2000, 2000, 0, 0, 0.0f, &t, nullptr) == 0 && t) {
      thr.reset(t);
      threshold = static_cast<l_int32>(GET_DATA_BYTE(pixGetData(t), 0));
    }
  }
  // pixThresholdToBinary sets pixels darker than the threshold (text on a
  // light background); light text is inverted afterwards.
  PixPtr binary(pixThresholdToBinary(scaled.get(), std::clamp<l_int32>(threshold, 1, 255)));
  if (!binary) return fail(kExitFailure, "cannot binarise the screen for OCR");
  if (dark) pixInvert(binary.get(), binary.get());
  tesseract::TessBaseAPI& api = engine_->api;
  api.SetImage(binary.get());
  api.SetSourceResolution(300);
  if (api.Recognize(nullptr) != 0) return fail(kExitFailure, "Tesseract failed to read the screen");
  ScreenText text;
  text.source = "tesseract";
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  std::vector<TextWord> words;
  if (it) {
    do {
      std::unique_ptr<char[]> w(it->GetUTF8Text(tesseract::RIL_WORD));
      if (!w || !*w.get()) continue;
      int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
      it->BoundingBox(tesseract::RIL_WORD, &x0, &y0, &x1, &y1);
      TextWord tw;
      tw.text = w.get();
      tw.box = ScreenRegion{r.x + uint32_t(std::max(0, x0)) / kScale, r.y + uint32_t(std::max(0, y0)) / kScale,
                            uint32_t(std::max(1, x1 - x0 + kScale - 1)) / kScale,
                            uint32_t(std::max(1, y1 - y0 + kScale - 1)) / kScale};
      tw.confidence = std::clamp(it->Confidence(tesseract::RIL_WORD) / 100.0, 0.0, 1.0);
      words.push_back(std::move(tw));
      if (it->IsAtFinalElement(tesseract::RIL_TEXTLINE, tesseract::RIL_WORD)) text.add_line(std::move(words)), words.clear();
    } while (it->Next(tesseract::RIL_WORD));
  }
  if (!words.empty()) text.add_line(std::move(words));
  api.Clear();
  *out = std::move(text);
  return Status::ok();
}

}  // namespace vredir
