/*
 * patterns.h - pixel-exact definitions of everything the test guest draws.
 *
 * The guest probe (probe.c) renders its screen only through the functions
 * below, and host-side tests compile the same header to compute the pixels
 * they expect in a screenshot or a VNC framebuffer.  Every function is a pure
 * function of its arguments.  Colours are 0x00RRGGBB (the probe's scanout
 * format is XRGB8888, so the top byte is always zero).
 *
 * Coordinates: (0,0) is the top-left pixel, x grows right, y grows down.
 * w and h are the current mode size in pixels (e.g. 1024x768).
 *
 * This header is plain C99 and also valid C++ (no designated initialisers,
 * no implicit void* conversions); it needs only <stdint.h>.
 *
 * Layer order of the composed screen (see vredir_compose_pixel):
 *   1. background: the test card, or a solid colour ("solid RRGGBB")
 *   2. the moving bar ("bar on")
 *   3. the needle ("needle DELAY_MS", once the delay has passed)
 *   4. the flip block, which inverts whatever lies below it when its state
 *      is "on" ("flip", or a key press while "flipkeys on")
 * PATTERNS.md describes the same thing in prose.
 */
#ifndef VREDIR_TESTS_GUEST_PATTERNS_H
#define VREDIR_TESTS_GUEST_PATTERNS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A rectangle: left/top corner (x, y) and size (w, h), in pixels. */
typedef struct vredir_rect {
    uint32_t x, y, w, h;
} vredir_rect;

static inline int vredir_rect_contains(vredir_rect r, uint32_t x, uint32_t y)
{
    return x >= r.x && y >= r.y && x - r.x < r.w && y - r.y < r.h;
}

/* ------------------------------------------------------------------ */
/* Test card                                                           */
/* ------------------------------------------------------------------ */

/*
 * The test card, evaluated per pixel in this order (first match wins):
 *
 *   frame:  x == 0, y == 0, x == w-1 or y == h-1         -> 0xFFFFFF
 *   grid:   x % 64 == 0 or y % 64 == 0                    -> 0x404040
 *   upper half (y < h/2): eight vertical colour bars, bar index
 *           i = x * 8 / w (integer division), colours in order
 *           white, yellow, cyan, green, magenta, red, blue, black
 *           (0xC0C0C0 0xC0C000 0x00C0C0 0x00C000 0xC000C0 0xC00000
 *            0x0000C0 0x000000)
 *   lower half (y >= h/2):
 *           R = x * 256 / w                (0..255, left to right ramp)
 *           G = (y - h/2) * 256 / (h - h/2) (0..255, top to bottom ramp)
 *           B = 0xFF if ((x / 8) + (y / 8)) is odd, else 0x00
 *                                          (8x8 checkerboard)
 *
 * All arithmetic is unsigned 32-bit integer arithmetic, so the formula is
 * exact for any w, h up to 16M pixels.  The frame makes cropping visible,
 * the 64-pixel grid makes scaling/offset errors visible, the bars check
 * channel order, the ramps check every bit of R and G, and the checkerboard
 * catches off-by-one pixel shifts.
 */
static inline uint32_t vredir_card_pixel(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    static const uint32_t bars[8] = {
        0xC0C0C0u, 0xC0C000u, 0x00C0C0u, 0x00C000u,
        0xC000C0u, 0xC00000u, 0x0000C0u, 0x000000u,
    };
    uint32_t half = h / 2;
    if (x == 0 || y == 0 || x + 1 == w || y + 1 == h)
        return 0xFFFFFFu;
    if ((x % 64u) == 0 || (y % 64u) == 0)
        return 0x404040u;
    if (y < half)
        return bars[(x * 8u / w) & 7u];
    {
        uint32_t r = x * 256u / w;
        uint32_t g = (y - half) * 256u / (h - half);
        uint32_t b = (((x / 8u) + (y / 8u)) & 1u) ? 0xFFu : 0x00u;
        return (r << 16) | (g << 8) | b;
    }
}

/* ------------------------------------------------------------------ */
/* Moving bar ("bar on")                                               */
/* ------------------------------------------------------------------ */

/* The bar is a full-height vertical stripe, 32 pixels wide, colour
 * 0xFF8000 (orange).  Frame n (n = 0, 1, 2, ... counted from "bar on",
 * one frame every 40 ms = 25 fps) puts its left edge at
 * x = (n * 8) % w; the part past the right edge is clipped (no wrap). */
#define VREDIR_BAR_COLOR 0xFF8000u
#define VREDIR_BAR_WIDTH 32u
#define VREDIR_BAR_STEP 8u
#define VREDIR_BAR_PERIOD_MS 40u

static inline vredir_rect vredir_bar_rect(uint32_t frame, uint32_t w, uint32_t h)
{
    vredir_rect r;
    r.x = w ? (uint32_t)(((uint64_t)frame * VREDIR_BAR_STEP) % w) : 0u;
    r.y = 0;
    r.w = (w - r.x < VREDIR_BAR_WIDTH) ? w - r.x : VREDIR_BAR_WIDTH;
    r.h = h;
    return r;
}

/* ------------------------------------------------------------------ */
/* Needle ("needle DELAY_MS")                                          */
/* ------------------------------------------------------------------ */

/* The needle is a 96x96 square centred on (w*3/4, h/4), i.e. in the
 * upper-right quadrant: left = w*3/4 - 48, top = h/4 - 48.  It is
 * magenta (0xFF00FF) with a 16x16 green (0x00FF00) core whose top-left
 * pixel is at offset (40, 40) inside the square.  The rect lies in the
 * card's upper half, where neither colour occurs (only the bar colours,
 * 0x404040 grid and 0xFFFFFF frame do), so on the card "any 0xFF00FF pixel
 * in the needle rect" is a reliable detector; tests wanting exactness use
 * vredir_needle_pixel. */
#define VREDIR_NEEDLE_COLOR 0xFF00FFu
#define VREDIR_NEEDLE_CORE_COLOR 0x00FF00u
#define VREDIR_NEEDLE_SIZE 96u

static inline vredir_rect vredir_needle_rect(uint32_t w, uint32_t h)
{
    vredir_rect r;
    r.x = w * 3u / 4u - VREDIR_NEEDLE_SIZE / 2u;
    r.y = h / 4u - VREDIR_NEEDLE_SIZE / 2u;
    r.w = VREDIR_NEEDLE_SIZE;
    r.h = VREDIR_NEEDLE_SIZE;
    return r;
}

/* Colour of needle pixel (dx, dy), 0 <= dx, dy < 96, relative to the
 * needle rect's top-left corner. */
static inline uint32_t vredir_needle_pixel(uint32_t dx, uint32_t dy)
{
    if (dx >= 40u && dx < 56u && dy >= 40u && dy < 56u)
        return VREDIR_NEEDLE_CORE_COLOR;
    return VREDIR_NEEDLE_COLOR;
}

/* ------------------------------------------------------------------ */
/* Flip block ("flip", "flipkeys on")                                  */
/* ------------------------------------------------------------------ */

/* A 64x64 block whose top-left corner is at (64, h - 128): in the
 * lower-left area, aligned to the card's 64-pixel grid.  When the flip
 * state is on, every pixel p inside it is shown as vredir_flip_invert(p)
 * (bitwise inverse of the RGB bits of what lies below).  Each "flip"
 * command or (with "flipkeys on") each key press toggles the state, so the
 * block alternates between "normal" and "inverted". */
#define VREDIR_FLIP_SIZE 64u

static inline vredir_rect vredir_flip_rect(uint32_t w, uint32_t h)
{
    vredir_rect r;
    (void)w;
    r.x = 64u;
    r.y = h - 128u;
    r.w = VREDIR_FLIP_SIZE;
    r.h = VREDIR_FLIP_SIZE;
    return r;
}

static inline uint32_t vredir_flip_invert(uint32_t rgb)
{
    return (~rgb) & 0xFFFFFFu;
}

/* ------------------------------------------------------------------ */
/* Composition                                                         */
/* ------------------------------------------------------------------ */

/* Everything that decides what the probe shows. */
typedef struct vredir_screen_state {
    int solid;            /* 0: test card background, 1: solid colour */
    uint32_t solid_rgb;   /* background colour when solid != 0 */
    int bar;              /* moving bar shown */
    uint32_t bar_frame;   /* current bar frame number */
    int needle;           /* needle shown */
    int flipped;          /* flip block inverted */
} vredir_screen_state;

static inline uint32_t vredir_compose_pixel(const vredir_screen_state *s, uint32_t x, uint32_t y,
                                            uint32_t w, uint32_t h)
{
    uint32_t p = s->solid ? (s->solid_rgb & 0xFFFFFFu) : vredir_card_pixel(x, y, w, h);
    if (s->bar && vredir_rect_contains(vredir_bar_rect(s->bar_frame, w, h), x, y))
        p = VREDIR_BAR_COLOR;
    if (s->needle) {
        vredir_rect n = vredir_needle_rect(w, h);
        if (vredir_rect_contains(n, x, y))
            p = vredir_needle_pixel(x - n.x, y - n.y);
    }
    if (s->flipped && vredir_rect_contains(vredir_flip_rect(w, h), x, y))
        p = vredir_flip_invert(p);
    return p;
}

/* The hardware cursor ("cursor on"): a 64x64 ARGB image, as virtio-gpu
 * cursors are, with a 16x16 opaque gradient block in its top-left corner
 * and a one-pixel half-transparent frame around it; the rest is fully
 * transparent. Hotspot (3, 5). */
#define VREDIR_CURSOR_SIZE 64u
#define VREDIR_CURSOR_HOT_X 3u
#define VREDIR_CURSOR_HOT_Y 5u
static inline uint32_t vredir_cursor_pixel(uint32_t x, uint32_t y)
{
    if (x < 16 && y < 16)
        return 0xFF000000u | ((x * 16u) << 16) | ((y * 16u) << 8) | 0x40u;
    if (x <= 16 && y <= 16)
        return 0x80FFFFFFu;
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* VREDIR_TESTS_GUEST_PATTERNS_H */
