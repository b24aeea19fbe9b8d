/*
 * expect.c - writes the screen the probe should show, computed with
 * patterns.h, as a binary PPM (P6, maxval 255) on stdout.
 *
 *   expect W H [card | solid RRGGBB] [needle] [flip] [bar FRAME]
 *
 * e.g. "expect 1024 768 card" or "expect 800 600 solid 00ff00 flip".
 * Build: cc -O2 -o expect expect.c (C99; the header is also valid C++).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patterns.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: expect W H [card|solid RRGGBB] [needle] [flip] [bar FRAME]\n");
        return 2;
    }
    uint32_t w = (uint32_t)strtoul(argv[1], NULL, 10), h = (uint32_t)strtoul(argv[2], NULL, 10);
    vredir_screen_state s;
    memset(&s, 0, sizeof s);
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "card")) {
            s.solid = 0;
        } else if (!strcmp(argv[i], "solid") && i + 1 < argc) {
            s.solid = 1;
            s.solid_rgb = (uint32_t)strtoul(argv[++i], NULL, 16);
        } else if (!strcmp(argv[i], "needle")) {
            s.needle = 1;
        } else if (!strcmp(argv[i], "flip")) {
            s.flipped = 1;
        } else if (!strcmp(argv[i], "bar") && i + 1 < argc) {
            s.bar = 1;
            s.bar_frame = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "expect: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!w || !h || w > 16384 || h > 16384) {
        fprintf(stderr, "expect: bad size\n");
        return 2;
    }
    printf("P6\n%u %u\n255\n", w, h);
    unsigned char *row = malloc((size_t)w * 3);
    if (!row)
        return 1;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint32_t p = vredir_compose_pixel(&s, x, y, w, h);
            row[x * 3] = (unsigned char)(p >> 16);
            row[x * 3 + 1] = (unsigned char)(p >> 8);
            row[x * 3 + 2] = (unsigned char)p;
        }
        fwrite(row, 3, w, stdout);
    }
    free(row);
    return fflush(stdout) == 0 ? 0 : 1;
}
