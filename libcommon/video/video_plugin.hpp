// The C interface between VideoEncoder and its FFmpeg plugin
// (vredir-video-ffmpeg.so, built from ffmpeg_plugin.cpp when FFmpeg's
// libraries are found: VREDIR_VIDEO).
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

// Creates path (WebM/VP9 or VP8, MP4/H.264, by suffix). NULL with a reason.
typedef void* (*vredir_video_open_fn)(const char* path, uint32_t width, uint32_t height, char* err, size_t err_size);
// 0 on success.
typedef int (*vredir_video_add_fn)(void* video, const uint32_t* pixels, uint32_t width, uint32_t height,
                                   int64_t timestamp_us, char* err, size_t err_size);
// Finishes the file (end_us < 0: the last frame lasts one frame interval).
typedef int (*vredir_video_finish_fn)(void* video, int64_t end_us, char* err, size_t err_size);
typedef const char* (*vredir_video_codec_fn)(void* video);
typedef void (*vredir_video_free_fn)(void* video);

}  // extern "C"

#define VREDIR_VIDEO_PLUGIN "vredir-video-ffmpeg.so"
