// vredir-ocr-tesseract.so: OCR of screens through Tesseract (Debian's
// libtesseract with the tesseract-ocr-eng model), loaded by ScreenReader
// when a screen is not a VGA text screen. The picture is made to suit the
// model: the part asked for is cut out, turned grey, scaled up twice
// (screen fonts are small; Tesseract reads best at about 20 pixels of
// x-height), binarised at Otsu's threshold and inverted when the text is
// light on dark, since the model was trained on dark text on paper.
#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "ocr/ocr_plugin.hpp"

namespace {

constexpr int kScale = 2;

struct PixFree {
  void operator()(Pix* p) const { pixDestroy(&p); }
};
using PixPtr = std::unique_ptr<Pix, PixFree>;

void set_error(char* err, size_t n, const char* what) {
  if (err && n) std::snprintf(err, n, "%s", what);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* vredir_ocr_new(char* err, size_t err_size) {
  auto* api = new tesseract::TessBaseAPI();
  if (api->Init(nullptr, "eng", tesseract::OEM_LSTM_ONLY) != 0) {
    delete api;
    set_error(err, err_size, "Tesseract cannot load its English model (apt-get install tesseract-ocr-eng)");
    return nullptr;
  }
  api->SetVariable("debug_file", "/dev/null");
  api->SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
  return api;
}

__attribute__((visibility("default"))) void vredir_ocr_free(void* engine) {
  auto* api = static_cast<tesseract::TessBaseAPI*>(engine);
  if (!api) return;
  api->End();
  delete api;
}

__attribute__((visibility("default"))) int vredir_ocr_read(void* engine, const uint32_t* px, uint32_t width,
                                                           uint32_t, uint32_t rx, uint32_t ry, uint32_t rw, uint32_t rh,
                                                           vredir_ocr_word_fn word, void* ctx, char* err,
                                                           size_t err_size) {
  auto* api = static_cast<tesseract::TessBaseAPI*>(engine);
  PixPtr grey(pixCreate(static_cast<l_int32>(rw), static_cast<l_int32>(rh), 8));
  if (!grey) {
    set_error(err, err_size, "out of memory for OCR");
    return -1;
  }
  // Grey, and whether the text is light on dark (then it is inverted).
  uint64_t sum = 0;
  for (uint32_t y = 0; y < rh; ++y) {
    const uint32_t* row = px + size_t(ry + y) * width + rx;
    l_uint32* line = pixGetData(grey.get()) + size_t(y) * pixGetWpl(grey.get());
    for (uint32_t x = 0; x < rw; ++x) {
      uint32_t v = row[x];
      uint32_t g = (((v >> 16) & 0xFF) * 299 + ((v >> 8) & 0xFF) * 587 + (v & 0xFF) * 114) / 1000;
      sum += g;
      SET_DATA_BYTE(line, x, g);
    }
  }
  const bool dark = sum < uint64_t(rw) * rh * 128;
  PixPtr scaled(pixScaleGrayLI(grey.get(), kScale, kScale));
  if (!scaled) {
    set_error(err, err_size, "cannot scale the screen for OCR");
    return -1;
  }
  l_int32 threshold = 128;
  Pix* t = nullptr;
  if (pixOtsuAdaptiveThreshold(scaled.get(), 2000, 2000, 0, 0, 0.0f, &t, nullptr) == 0 && t) {
    threshold = static_cast<l_int32>(GET_DATA_BYTE(pixGetData(t), 0));
    pixDestroy(&t);
  }
  // Pixels darker than the threshold are set (text on a light background);
  // light text is inverted afterwards.
  PixPtr binary(pixThresholdToBinary(scaled.get(), std::clamp<l_int32>(threshold, 1, 255)));
  if (!binary) {
    set_error(err, err_size, "cannot binarise the screen for OCR");
    return -1;
  }
  if (dark) pixInvert(binary.get(), binary.get());
  api->SetImage(binary.get());
  api->SetSourceResolution(300);
  if (api->Recognize(nullptr) != 0) {
    set_error(err, err_size, "Tesseract failed to read the screen");
    return -1;
  }
  std::unique_ptr<tesseract::ResultIterator> it(api->GetIterator());
  bool first = true;
  if (it) {
    do {
      std::unique_ptr<char[]> w(it->GetUTF8Text(tesseract::RIL_WORD));
      if (!w || !*w.get()) continue;
      int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
      it->BoundingBox(tesseract::RIL_WORD, &x0, &y0, &x1, &y1);
      const bool line_start = first || it->IsAtBeginningOf(tesseract::RIL_TEXTLINE);
      first = false;
      word(ctx, w.get(), rx + uint32_t(std::max(0, x0)) / kScale, ry + uint32_t(std::max(0, y0)) / kScale,
           uint32_t(std::max(1, x1 - x0 + kScale - 1)) / kScale, uint32_t(std::max(1, y1 - y0 + kScale - 1)) / kScale,
           std::clamp(it->Confidence(tesseract::RIL_WORD) / 100.0, 0.0, 1.0), line_start ? 1 : 0);
    } while (it->Next(tesseract::RIL_WORD));
  }
  api->Clear();
  return 0;
}

}  // extern "C"
