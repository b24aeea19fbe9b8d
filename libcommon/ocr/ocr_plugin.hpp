// The C interface between ScreenReader and its Tesseract plugin
// (vredir-ocr-tesseract.so, built from tesseract_plugin.cpp when Tesseract
// is found: VREDIR_OCR). Plain C types only, so that the plugin and the
// tools need not agree on anything but this.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

// One word read: UTF-8 text, box in screen pixels, confidence 0..1;
// first_in_line is 1 for the first word of a line.
typedef void (*vredir_ocr_word_fn)(void* ctx, const char* text, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                                   double confidence, int first_in_line);

// Loads the English model. NULL on failure, with a reason in err.
typedef void* (*vredir_ocr_new_fn)(char* err, size_t err_size);
// Reads the part x,y,w,h of a width x height screen (0x00RRGGBB). 0 on
// success; words go to word(ctx, ...) in reading order.
typedef int (*vredir_ocr_read_fn)(void* engine, const uint32_t* pixels, uint32_t width, uint32_t height, uint32_t x,
                                  uint32_t y, uint32_t w, uint32_t h, vredir_ocr_word_fn word, void* ctx, char* err,
                                  size_t err_size);
typedef void (*vredir_ocr_free_fn)(void* engine);

}  // extern "C"

#define VREDIR_OCR_PLUGIN "vredir-ocr-tesseract.so"
