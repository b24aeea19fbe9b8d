// Loading the parts that pull large libraries only when they are used:
// Tesseract for OCR and FFmpeg for video are plugins (shared modules with a
// small C interface), so that every tool starts as fast as it did before
// and maps no more memory: redir-dump with FFmpeg linked in loads over 150
// shared libraries before it reads a byte.
//
// A plugin FILE (vredir-ocr-tesseract.so, vredir-video-ffmpeg.so) is looked
// for in $VREDIR_PLUGIN_DIR, then in DIR/../lib/vredir beside the running
// binary's DIR (the installed layout), then in the build tree it was built
// in.
#pragma once

#include <string>

#include "wire/status.hpp"

namespace vredir {

// dlopen()s the plugin; *handle stays valid for the life of the process.
// kExitNotFound names the places looked in and what_for (the fix).
Status load_plugin(const std::string& file, const std::string& what_for, void** handle);
// A symbol of a loaded plugin, or nullptr.
void* plugin_symbol(void* handle, const char* name);

}  // namespace vredir
