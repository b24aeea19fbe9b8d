/*
 * probe.c - PID 1 of the vredir test guest.
 *
 * Built statically by build-guest.sh and placed as /init in a small
 * initramfs.  It:
 *   - mounts proc, sys and devtmpfs and loads the kernel modules listed in
 *     /etc/modules.order (dependency order, computed at build time);
 *   - drives the virtio-gpu display through DRM/KMS dumb buffers (raw
 *     ioctls), follows preferred-mode changes and draws the patterns
 *     defined in patterns.h;
 *   - logs every input event and every state change to /dev/ttyS0 as
 *     "VRP <seq> ..." lines;
 *   - reads commands, one per line, from /dev/ttyS1;
 *   - plays tones through the OSS emulation of the HDA sound card;
 *   - answers a minimal subset of the QEMU guest agent protocol on the
 *     virtio-serial port "org.qemu.guest_agent.0";
 *   - powers off on the ACPI power button, "poweroff" or guest-shutdown.
 * README.md and PATTERNS.md in this directory document the protocols.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/input.h>
#include <linux/soundcard.h>

#include "patterns.h"

#define PROBE_VERSION "1"

/* ------------------------------------------------------------------ */
/* DRM UAPI subset (layouts identical to include/uapi/drm/drm_mode.h;  */
/* defined here because the distribution's kernel headers package does */
/* not ship the drm/ directory).                                       */
/* ------------------------------------------------------------------ */

struct vp_mode_card_res {
    uint64_t fb_id_ptr, crtc_id_ptr, connector_id_ptr, encoder_id_ptr;
    uint32_t count_fbs, count_crtcs, count_connectors, count_encoders;
    uint32_t min_width, max_width, min_height, max_height;
};

struct vp_mode_modeinfo {
    uint32_t clock;
    uint16_t hdisplay, hsync_start, hsync_end, htotal, hskew;
    uint16_t vdisplay, vsync_start, vsync_end, vtotal, vscan;
    uint32_t vrefresh;
    uint32_t flags;
    uint32_t type;
    char name[32];
};

struct vp_mode_crtc {
    uint64_t set_connectors_ptr;
    uint32_t count_connectors;
    uint32_t crtc_id, fb_id, x, y, gamma_size, mode_valid;
    struct vp_mode_modeinfo mode;
};

struct vp_mode_get_encoder {
    uint32_t encoder_id, encoder_type, crtc_id, possible_crtcs, possible_clones;
};

struct vp_mode_get_connector {
    uint64_t encoders_ptr, modes_ptr, props_ptr, prop_values_ptr;
    uint32_t count_modes, count_props, count_encoders;
    uint32_t encoder_id, connector_id, connector_type, connector_type_id;
    uint32_t connection, mm_width, mm_height, subpixel, pad;
};

struct vp_mode_fb_cmd {
    uint32_t fb_id, width, height, pitch, bpp, depth, handle;
};

struct vp_mode_create_dumb {
    uint32_t height, width, bpp, flags, handle, pitch;
    uint64_t size;
};

struct vp_mode_map_dumb {
    uint32_t handle, pad;
    uint64_t offset;
};

struct vp_mode_destroy_dumb {
    uint32_t handle;
};

struct vp_clip_rect {
    unsigned short x1, y1, x2, y2;
};

struct vp_mode_fb_dirty_cmd {
    uint32_t fb_id, flags, color, num_clips;
    uint64_t clips_ptr;
};

#define VP_DRM_IOWR(nr, type) _IOWR('d', nr, type)
#define VP_IOCTL_MODE_GETRESOURCES VP_DRM_IOWR(0xA0, struct vp_mode_card_res)
#define VP_IOCTL_MODE_SETCRTC VP_DRM_IOWR(0xA2, struct vp_mode_crtc)
#define VP_IOCTL_MODE_GETENCODER VP_DRM_IOWR(0xA6, struct vp_mode_get_encoder)
#define VP_IOCTL_MODE_GETCONNECTOR VP_DRM_IOWR(0xA7, struct vp_mode_get_connector)
#define VP_IOCTL_MODE_ADDFB VP_DRM_IOWR(0xAE, struct vp_mode_fb_cmd)
#define VP_IOCTL_MODE_RMFB VP_DRM_IOWR(0xAF, unsigned int)
#define VP_IOCTL_MODE_DIRTYFB VP_DRM_IOWR(0xB1, struct vp_mode_fb_dirty_cmd)
#define VP_IOCTL_MODE_CREATE_DUMB VP_DRM_IOWR(0xB2, struct vp_mode_create_dumb)
#define VP_IOCTL_MODE_MAP_DUMB VP_DRM_IOWR(0xB3, struct vp_mode_map_dumb)
#define VP_IOCTL_MODE_DESTROY_DUMB VP_DRM_IOWR(0xB4, struct vp_mode_destroy_dumb)

struct vp_mode_cursor2 {
    uint32_t flags, crtc_id;
    int32_t x, y;
    uint32_t width, height, handle;
    int32_t hot_x, hot_y;
};
#define VP_MODE_CURSOR_BO 0x01u
#define VP_MODE_CURSOR_MOVE 0x02u
#define VP_IOCTL_MODE_CURSOR2 VP_DRM_IOWR(0xBB, struct vp_mode_cursor2)
#define VP_MODE_TYPE_PREFERRED (1u << 3)
#define VP_MODE_CONNECTED 1u

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

static int log_fd = 2;
static unsigned long log_seq;

/* Log lines are queued in memory and written to the serial port whenever it
 * takes them, so that reading input never waits on the (slow, emulated)
 * UART: an input reader that falls behind loses events in the kernel's evdev
 * buffer, and the test would blame the host. Nothing is ever dropped here: a
 * full queue is written out first. Before the main loop, in forked children
 * and at power-off, lines are written directly. */
static char log_buf[1 << 21];
static size_t log_off, log_len; /* pending: log_buf[log_off, log_len) */
static int log_direct = 1;

static void log_write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(log_fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {log_fd, POLLOUT, 0};
                poll(&pf, 1, 100);
                continue;
            }
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void log_flush_all(void)
{
    log_write_all(log_buf + log_off, log_len - log_off);
    log_off = log_len = 0;
}

/* Writes what the port takes now without waiting. */
static void log_flush_some(void)
{
    while (log_off < log_len) {
        ssize_t w = write(log_fd, log_buf + log_off, log_len - log_off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN) {
            log_off = log_len; /* the port is gone: nothing can be written */
            break;
        }
        if (w <= 0)
            break;
        log_off += (size_t)w;
    }
    if (log_off == log_len)
        log_off = log_len = 0;
}

static int log_pending(void) { return log_len > log_off; }

/* Queues one complete "VRP <seq> <text>\n" line. */
static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "VRP %lu ", ++log_seq);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    /* keep one line per record whatever the text contained */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    if (log_direct) {
        log_flush_all();
        log_write_all(line, (size_t)n);
        return;
    }
    if (log_len + (size_t)n > sizeof log_buf) {
        if (log_off > 0) {
            memmove(log_buf, log_buf + log_off, log_len - log_off);
            log_len -= log_off;
            log_off = 0;
        }
        if (log_len + (size_t)n > sizeof log_buf)
            log_flush_all();
    }
    memcpy(log_buf + log_len, line, (size_t)n);
    log_len += (size_t)n;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0)
        return;
    cfmakeraw(&t);
    cfsetispeed(&t, B115200);
    cfsetospeed(&t, B115200);
    t.c_cflag |= CLOCAL | CREAD;
    tcsetattr(fd, TCSANOW, &t);
}

/* ------------------------------------------------------------------ */
/* Text console (kernel command line word "vredir.text")               */
/* ------------------------------------------------------------------ */

/* With the word "vredir.text" on the kernel command line the probe leaves
 * the display to the kernel's VGA text console (it loads no virtio-gpu
 * driver, so the screen stays in QEMU's 720x400 VGA text mode) and runs a
 * busybox shell on /dev/tty1, restarted when it exits: the screen then shows
 * a prompt with the VGA cursor blinking, what is typed there and its output.
 * Everything else (input logging, commands, the guest agent) is unchanged;
 * the drawing commands have no screen to draw on. */
#define TEXT_CONSOLE_WORD "vredir.text"
#define TEXT_CONSOLE_W 720
#define TEXT_CONSOLE_H 400

static int text_console;
static pid_t text_shell_pid;

static int cmdline_has_word(const char *word)
{
    char buf[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    for (char *save = NULL, *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
        if (strcmp(w, word) == 0)
            return 1;
    return 0;
}

/* The modules that would take the display away from the text console. */
static int text_console_skips_module(const char *path)
{
    return text_console && strstr(path, "virtio-gpu") != NULL;
}

/* A busybox shell on tty, its controlling terminal; clear: clear the
 * screen first; lines: the tty reads lines (canonical, CR as LF) without
 * echo, so that busybox reads them plainly, without its line editor (which
 * echoes and asks the terminal for the cursor position, ESC [6n, after
 * every prompt). Returns its pid, or -1. */
static pid_t shell_start(const char *tty, int clear, int lines, const char *ps1)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        setsid();
        int fd = open(tty, O_RDWR);
        if (fd < 0)
            _exit(127);
        ioctl(fd, TIOCSCTTY, 1);
        struct termios t;
        if (lines && tcgetattr(fd, &t) == 0) {
            t.c_lflag = ICANON;
            t.c_iflag |= ICRNL;
            tcsetattr(fd, TCSANOW, &t);
        }
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
        if (clear)
            (void)!write(1, "\033[H\033[J", 6); /* the firmware's lines go: the screen is the shell's */
        char *argv[] = {"sh", NULL};
        char *envp[] = {"PATH=/bin:/sbin", "HOME=/", "TERM=linux", (char *)ps1, NULL};
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    return pid;
}

static void text_shell_start(void)
{
    pid_t pid = shell_start("/dev/tty1", 1, 0, "PS1=/ # ");
    if (pid < 0) {
        vlog("warn text-console fork: %s", strerror(errno));
        return;
    }
    text_shell_pid = pid;
    vlog("text-console shell %d", (int)pid);
}

/* Instead of the DRM display: the screen size is that of the text mode
 * (for the tablet's pixel positions), and the shell starts. */
static void text_console_start(uint32_t *w, uint32_t *h)
{
    *w = TEXT_CONSOLE_W;
    *h = TEXT_CONSOLE_H;
    text_shell_start();
}

/* Called for every child reaped: a shell that exited is started again. */
static void text_console_reaped(pid_t pid)
{
    if (text_console && pid == text_shell_pid)
        text_shell_start();
}

/* ------------------------------------------------------------------ */
/* Serial shell (kernel command line word "vredir.serial-shell")       */
/* ------------------------------------------------------------------ */

/* With the word "vredir.serial-shell" a busybox shell also runs on
 * /dev/ttyS0 (started after "ready", again when it exits), for the serial
 * console tests: what is written to the domain's console reaches it and its
 * output comes back there, among the VRP lines of the serial log. It reads
 * whole lines without echo, and its prompt ends with a newline, so that a
 * VRP line after it still starts a line. (The port's output settings stay
 * the probe's: raw.) */
#define SERIAL_SHELL_WORD "vredir.serial-shell"

static int serial_shell;
static pid_t serial_shell_pid;

static void serial_shell_start(void)
{
    pid_t pid = shell_start("/dev/ttyS0", 0, 1, "PS1=/ #\n");
    if (pid < 0) {
        vlog("warn serial-shell fork: %s", strerror(errno));
        return;
    }
    serial_shell_pid = pid;
    vlog("serial-shell %d", (int)pid);
}

static void serial_shell_reaped(pid_t pid)
{
    if (serial_shell && pid == serial_shell_pid)
        serial_shell_start();
}

/* ------------------------------------------------------------------ */
/* Early system setup                                                  */
/* ------------------------------------------------------------------ */

static void load_modules(void)
{
    FILE *f = fopen("/etc/modules.order", "r");
    if (!f) {
        vlog("warn no /etc/modules.order");
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        /* line: <path> [params...] */
        char *params = strchr(line, ' ');
        if (params)
            *params++ = 0;
        else
            params = "";
        if (text_console_skips_module(line))
            continue;
        int fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            vlog("warn module %s missing", line);
            continue;
        }
        if (syscall(SYS_finit_module, fd, params, 0) != 0 && errno != EEXIST)
            vlog("warn module %s: %s", line, strerror(errno));
        close(fd);
    }
    fclose(f);
}

static void early_setup(void)
{
    mkdir("/proc", 0755);
    mkdir("/sys", 0755);
    mkdir("/dev", 0755);
    mkdir("/tmp", 01777);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
    int fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        set_raw(fd);
        log_fd = fd;
    }
}

/* ------------------------------------------------------------------ */
/* Display                                                             */
/* ------------------------------------------------------------------ */

struct display {
    int fd;
    uint32_t conn_id, crtc_id;
    uint32_t w, h, pitch;
    uint32_t fb_id, handle;
    uint64_t size;
    uint32_t *map;
    struct vp_mode_modeinfo mode;
    int ok;
};

static struct display disp = {.fd = -1};
static vredir_screen_state scr;

/* Fetches the connector with its mode list; *modes is malloc'd. */
static int get_connector(int fd, uint32_t id, struct vp_mode_get_connector *c,
                         struct vp_mode_modeinfo **modes, uint32_t **encs)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        memset(c, 0, sizeof *c);
        c->connector_id = id;
        if (ioctl(fd, VP_IOCTL_MODE_GETCONNECTOR, c) != 0)
            return -1;
        uint32_t nm = c->count_modes, ne = c->count_encoders;
        struct vp_mode_modeinfo *m = calloc(nm ? nm : 1, sizeof *m);
        uint32_t *e = calloc(ne ? ne : 1, sizeof *e);
        c->modes_ptr = (uintptr_t)m;
        c->encoders_ptr = (uintptr_t)e;
        c->count_props = 0;
        if (ioctl(fd, VP_IOCTL_MODE_GETCONNECTOR, c) != 0) {
            free(m);
            free(e);
            return -1;
        }
        if (c->count_modes == nm && c->count_encoders == ne) {
            *modes = m;
            if (encs)
                *encs = e;
            else
                free(e);
            return 0;
        }
        free(m);
        free(e);
    }
    return -1;
}

static int pick_mode(const struct vp_mode_modeinfo *m, uint32_t n, struct vp_mode_modeinfo *out)
{
    if (n == 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (m[i].type & VP_MODE_TYPE_PREFERRED) {
            *out = m[i];
            return 0;
        }
    *out = m[0];
    return 0;
}

static void present(uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1)
{
    if (!disp.ok)
        return;
    struct vp_clip_rect clip = {(unsigned short)x0, (unsigned short)y0, (unsigned short)x1,
                                (unsigned short)y1};
    struct vp_mode_fb_dirty_cmd d = {0};
    d.fb_id = disp.fb_id;
    d.num_clips = 1;
    d.clips_ptr = (uintptr_t)&clip;
    ioctl(disp.fd, VP_IOCTL_MODE_DIRTYFB, &d);
}

/* Renders the rectangle [x0,x1) x [y0,y1) from the screen state. */
static void render(uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1)
{
    if (!disp.ok)
        return;
    if (x1 > disp.w)
        x1 = disp.w;
    if (y1 > disp.h)
        y1 = disp.h;
    if (x0 >= x1 || y0 >= y1)
        return;
    uint32_t stride = disp.pitch / 4;
    for (uint32_t y = y0; y < y1; y++) {
        uint32_t *row = disp.map + (size_t)y * stride;
        for (uint32_t x = x0; x < x1; x++)
            row[x] = vredir_compose_pixel(&scr, x, y, disp.w, disp.h);
    }
    present(x0, y0, x1, y1);
}

static void render_rect(vredir_rect r)
{
    render(r.x, r.y, r.x + r.w, r.y + r.h);
}

static void render_all(void)
{
    render(0, 0, disp.w, disp.h);
}

static void free_fb(uint32_t fb_id, uint32_t handle, uint32_t *map, uint64_t size)
{
    if (map)
        munmap(map, size);
    if (fb_id)
        ioctl(disp.fd, VP_IOCTL_MODE_RMFB, &fb_id);
    if (handle) {
        struct vp_mode_destroy_dumb d = {handle};
        ioctl(disp.fd, VP_IOCTL_MODE_DESTROY_DUMB, &d);
    }
}

/* Creates a framebuffer for mode m, draws the current state and scans it
 * out.  On failure the previous framebuffer stays in use. */
/* A mapped XRGB8888 dumb buffer of w x h, added as a framebuffer. */
struct dumb_fb {
    uint32_t fb_id, handle, pitch, w, h;
    uint64_t size;
    uint32_t *map;
};

static int dumb_fb_create(uint32_t w, uint32_t h, struct dumb_fb *out)
{
    struct vp_mode_create_dumb c = {0};
    c.width = w;
    c.height = h;
    c.bpp = 32;
    if (ioctl(disp.fd, VP_IOCTL_MODE_CREATE_DUMB, &c) != 0) {
        vlog("error create_dumb %ux%u: %s", c.width, c.height, strerror(errno));
        return -1;
    }
    struct vp_mode_fb_cmd fb = {0};
    fb.width = c.width;
    fb.height = c.height;
    fb.pitch = c.pitch;
    fb.bpp = 32;
    fb.depth = 24;
    fb.handle = c.handle;
    if (ioctl(disp.fd, VP_IOCTL_MODE_ADDFB, &fb) != 0) {
        vlog("error addfb: %s", strerror(errno));
        free_fb(0, c.handle, NULL, 0);
        return -1;
    }
    struct vp_mode_map_dumb mp = {0};
    mp.handle = c.handle;
    void *map = MAP_FAILED;
    if (ioctl(disp.fd, VP_IOCTL_MODE_MAP_DUMB, &mp) == 0)
        map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, disp.fd, (off_t)mp.offset);
    if (map == MAP_FAILED) {
        vlog("error map_dumb: %s", strerror(errno));
        free_fb(fb.fb_id, c.handle, NULL, 0);
        return -1;
    }
    out->fb_id = fb.fb_id;
    out->handle = c.handle;
    out->pitch = c.pitch;
    out->w = c.width;
    out->h = c.height;
    out->size = c.size;
    out->map = map;
    return 0;
}

static int set_mode(const struct vp_mode_modeinfo *m)
{
    struct dumb_fb nf;
    if (dumb_fb_create(m->hdisplay, m->vdisplay, &nf) != 0)
        return -1;
    uint32_t old_fb = disp.fb_id, old_handle = disp.handle;
    uint32_t *old_map = disp.map;
    uint64_t old_size = disp.size;
    int was_ok = disp.ok;

    disp.fb_id = nf.fb_id;
    disp.handle = nf.handle;
    disp.map = nf.map;
    disp.size = nf.size;
    disp.pitch = nf.pitch;
    disp.w = nf.w;
    disp.h = nf.h;
    disp.ok = 1;
    if (scr.bar)
        scr.bar_frame = 0;
    /* draw before scanning out so the first visible frame is complete */
    uint32_t stride = disp.pitch / 4;
    for (uint32_t y = 0; y < disp.h; y++)
        for (uint32_t x = 0; x < disp.w; x++)
            disp.map[(size_t)y * stride + x] = vredir_compose_pixel(&scr, x, y, disp.w, disp.h);

    struct vp_mode_crtc crtc = {0};
    uint32_t conn = disp.conn_id;
    crtc.crtc_id = disp.crtc_id;
    crtc.fb_id = nf.fb_id;
    crtc.set_connectors_ptr = (uintptr_t)&conn;
    crtc.count_connectors = 1;
    crtc.mode = *m;
    crtc.mode_valid = 1;
    if (ioctl(disp.fd, VP_IOCTL_MODE_SETCRTC, &crtc) != 0) {
        vlog("error setcrtc %ux%u: %s", nf.w, nf.h, strerror(errno));
        disp.fb_id = old_fb;
        disp.handle = old_handle;
        disp.map = old_map;
        disp.size = old_size;
        disp.ok = was_ok;
        free_fb(nf.fb_id, nf.handle, nf.map, nf.size);
        return -1;
    }
    disp.mode = *m;
    present(0, 0, disp.w, disp.h);
    if (was_ok)
        free_fb(old_fb, old_handle, old_map, old_size);
    return 0;
}

static int display_init(void)
{
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            usleep(50 * 1000);
    }
    if (fd < 0) {
        vlog("error no /dev/dri/card0");
        return -1;
    }
    disp.fd = fd;
    struct vp_mode_card_res res = {0};
    if (ioctl(fd, VP_IOCTL_MODE_GETRESOURCES, &res) != 0) {
        vlog("error getresources: %s", strerror(errno));
        return -1;
    }
    uint32_t *crtcs = calloc(res.count_crtcs + 1, 4), *conns = calloc(res.count_connectors + 1, 4);
    struct vp_mode_card_res res2 = {0};
    res2.crtc_id_ptr = (uintptr_t)crtcs;
    res2.count_crtcs = res.count_crtcs;
    res2.connector_id_ptr = (uintptr_t)conns;
    res2.count_connectors = res.count_connectors;
    if (ioctl(fd, VP_IOCTL_MODE_GETRESOURCES, &res2) != 0 || res2.count_connectors == 0 ||
        res2.count_crtcs == 0) {
        vlog("error no connector/crtc");
        return -1;
    }
    /* first connected connector with modes, else the first one */
    uint32_t chosen = conns[0];
    for (uint32_t i = 0; i < res2.count_connectors; i++) {
        struct vp_mode_get_connector c;
        struct vp_mode_modeinfo *m = NULL;
        if (get_connector(fd, conns[i], &c, &m, NULL) == 0) {
            free(m);
            if (c.connection == VP_MODE_CONNECTED && c.count_modes > 0) {
                chosen = conns[i];
                break;
            }
        }
    }
    disp.conn_id = chosen;
    disp.crtc_id = crtcs[0];
    struct vp_mode_get_connector c;
    struct vp_mode_modeinfo *modes = NULL;
    uint32_t *encs = NULL;
    if (get_connector(fd, chosen, &c, &modes, &encs) != 0) {
        vlog("error getconnector");
        return -1;
    }
    if (c.encoder_id || c.count_encoders) {
        struct vp_mode_get_encoder e = {0};
        e.encoder_id = c.encoder_id ? c.encoder_id : encs[0];
        if (ioctl(fd, VP_IOCTL_MODE_GETENCODER, &e) == 0) {
            if (e.crtc_id)
                disp.crtc_id = e.crtc_id;
            else
                for (uint32_t i = 0; i < res2.count_crtcs; i++)
                    if (e.possible_crtcs & (1u << i)) {
                        disp.crtc_id = crtcs[i];
                        break;
                    }
        }
    }
    struct vp_mode_modeinfo mode;
    if (pick_mode(modes, c.count_modes, &mode) != 0) {
        memset(&mode, 0, sizeof mode);
        vlog("error connector has no modes");
        return -1;
    }
    free(modes);
    free(encs);
    free(crtcs);
    free(conns);
    return set_mode(&mode);
}

/* The second head: the second connector of the card, lit in a mode of its
 * own (its preferred one when the host has enabled it, else 640x480 from the
 * first connector's list, as a disconnected connector lists none), filled
 * with `rgb` and a 64x64 square of its inverse at (16,16), so that a capture
 * can check the head's size, content and orientation. */
static struct dumb_fb head2;

static int head2_light(uint32_t rgb, uint32_t *w_out, uint32_t *h_out)
{
    if (!disp.ok)
        return -1;
    struct vp_mode_card_res res = {0};
    if (ioctl(disp.fd, VP_IOCTL_MODE_GETRESOURCES, &res) != 0 || res.count_connectors < 2 || res.count_crtcs < 2) {
        vlog("error head2: the card has %u connectors and %u crtcs", res.count_connectors, res.count_crtcs);
        return -1;
    }
    uint32_t *crtcs = calloc(res.count_crtcs, 4), *conns = calloc(res.count_connectors, 4);
    struct vp_mode_card_res res2 = {0};
    res2.crtc_id_ptr = (uintptr_t)crtcs;
    res2.count_crtcs = res.count_crtcs;
    res2.connector_id_ptr = (uintptr_t)conns;
    res2.count_connectors = res.count_connectors;
    int rc = -1;
    struct vp_mode_get_connector c;
    struct vp_mode_modeinfo *modes = NULL, mode;
    uint32_t conn = 0;
    if (ioctl(disp.fd, VP_IOCTL_MODE_GETRESOURCES, &res2) != 0)
        goto out;
    for (uint32_t i = 0; i < res2.count_connectors && !conn; i++)
        if (conns[i] != disp.conn_id)
            conn = conns[i];
    uint32_t crtc = crtcs[0] == disp.crtc_id ? crtcs[1] : crtcs[0];
    if (get_connector(disp.fd, conn, &c, &modes, NULL) != 0)
        goto out;
    int have = c.count_modes > 0 && pick_mode(modes, c.count_modes, &mode) == 0;
    free(modes);
    modes = NULL;
    if (!have) {
        if (get_connector(disp.fd, disp.conn_id, &c, &modes, NULL) != 0)
            goto out;
        for (uint32_t i = 0; i < c.count_modes && !have; i++)
            if (modes[i].hdisplay == 640 && modes[i].vdisplay == 480) {
                mode = modes[i];
                have = 1;
            }
        if (!have)
            mode = disp.mode;
    }
    struct dumb_fb cd;
    if (dumb_fb_create(mode.hdisplay, mode.vdisplay, &cd) != 0)
        goto out;
    uint32_t *px = cd.map;
    for (uint32_t y = 0; y < cd.h; y++)
        for (uint32_t x = 0; x < cd.w; x++)
            px[(size_t)y * (cd.pitch / 4) + x] =
                (x >= 16 && x < 80 && y >= 16 && y < 80) ? (~rgb & 0xFFFFFFu) : (rgb & 0xFFFFFFu);
    struct vp_mode_crtc sc = {0};
    sc.crtc_id = crtc;
    sc.fb_id = cd.fb_id;
    sc.set_connectors_ptr = (uintptr_t)&conn;
    sc.count_connectors = 1;
    sc.mode = mode;
    sc.mode_valid = 1;
    if (ioctl(disp.fd, VP_IOCTL_MODE_SETCRTC, &sc) != 0) {
        vlog("error head2 setcrtc %ux%u: %s", cd.w, cd.h, strerror(errno));
        free_fb(cd.fb_id, cd.handle, cd.map, cd.size);
        goto out;
    }
    struct vp_clip_rect clip = {0, 0, (unsigned short)cd.w, (unsigned short)cd.h};
    struct vp_mode_fb_dirty_cmd d = {0};
    d.fb_id = cd.fb_id;
    d.num_clips = 1;
    d.clips_ptr = (uintptr_t)&clip;
    ioctl(disp.fd, VP_IOCTL_MODE_DIRTYFB, &d);
    if (head2.fb_id)
        free_fb(head2.fb_id, head2.handle, head2.map, head2.size);
    head2 = cd;
    *w_out = cd.w;
    *h_out = cd.h;
    rc = 0;
out:
    free(modes);
    free(crtcs);
    free(conns);
    return rc;
}

/* Polled periodically: follows a change of the preferred mode. */
/* Display mode changes (the host resized the display) are watched by a
 * thread of their own: asking virtio-gpu for the connector waits for a round
 * trip to the host, and the main loop must keep reading input meanwhile (an
 * input reader that stalls loses events in the kernel's evdev buffer). The
 * thread only looks; the main loop sets the mode and draws. */
static pthread_mutex_t mode_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vp_mode_modeinfo mode_wanted; /* guarded by mode_lock */
static int mode_wanted_set;                 /* guarded by mode_lock */
static uint16_t mode_cur_w, mode_cur_h;     /* guarded by mode_lock */
static int mode_pipe[2] = {-1, -1};         /* watcher -> main loop */

static void *mode_watch(void *arg)
{
    for (;;) {
        usleep(300000);
        struct vp_mode_get_connector c;
        struct vp_mode_modeinfo *modes = NULL;
        if (get_connector(disp.fd, disp.conn_id, &c, &modes, NULL) != 0)
            continue;
        struct vp_mode_modeinfo m;
        int have = pick_mode(modes, c.count_modes, &m) == 0;
        free(modes);
        if (!have)
            continue;
        int notify = 0;
        pthread_mutex_lock(&mode_lock);
        if (m.hdisplay != mode_cur_w || m.vdisplay != mode_cur_h) {
            mode_wanted = m;
            mode_wanted_set = 1;
            notify = 1;
        }
        pthread_mutex_unlock(&mode_lock);
        if (notify && write(mode_pipe[1], "m", 1) < 0) {
            /* the pipe is full: the main loop has a wake-up pending */
        }
    }
    return NULL;
}

static void mode_publish(void)
{
    pthread_mutex_lock(&mode_lock);
    mode_cur_w = disp.mode.hdisplay;
    mode_cur_h = disp.mode.vdisplay;
    pthread_mutex_unlock(&mode_lock);
}

/* A detached worker thread that wakes the main loop through wake_pipe
 * (made here, non-blocking); logs a warning naming it when it cannot start. */
static void start_worker(int wake_pipe[2], void *(*fn)(void *), const char *what)
{
    pthread_t t;
    if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0 || pthread_create(&t, NULL, fn, NULL) != 0) {
        vlog("warn no %s", what);
        return;
    }
    pthread_detach(t);
}

/* Main loop: empties a worker's wake pipe before looking at its work. */
static void drain_wake_pipe(int fd)
{
    char b[256];
    while (read(fd, b, sizeof b) > 0) {
    }
}

static void mode_watch_start(void)
{
    if (!disp.ok)
        return;
    mode_publish();
    start_worker(mode_pipe, mode_watch, "mode watcher");
}

/* Main loop: applies a mode change the watcher saw. */
static void display_apply_mode(void)
{
    drain_wake_pipe(mode_pipe[0]);
    pthread_mutex_lock(&mode_lock);
    struct vp_mode_modeinfo m = mode_wanted;
    int have = mode_wanted_set;
    mode_wanted_set = 0;
    pthread_mutex_unlock(&mode_lock);
    if (!have || (m.hdisplay == disp.mode.hdisplay && m.vdisplay == disp.mode.vdisplay))
        return;
    if (set_mode(&m) == 0)
        vlog("mode %ux%u", disp.w, disp.h);
    mode_publish();
}

/* The hardware cursor: a dumb buffer on the cursor plane ("cursor on"),
 * which virtio-gpu hands to QEMU as a cursor shape with its hotspot. */
static uint32_t cursor_handle;

/* Puts the cursor's hotspot at x,y ("cursor move X Y"). */
static int cursor_move(int32_t x, int32_t y)
{
    if (!disp.ok || !cursor_handle)
        return -1;
    struct vp_mode_cursor2 mv = {0};
    mv.flags = VP_MODE_CURSOR_MOVE;
    mv.crtc_id = disp.crtc_id;
    mv.x = x;
    mv.y = y;
    return ioctl(disp.fd, VP_IOCTL_MODE_CURSOR2, &mv) == 0 ? 0 : -1;
}

static int cursor_set(int on)
{
    if (!disp.ok)
        return -1;
    if (on && !cursor_handle) {
        struct vp_mode_create_dumb c = {0};
        c.width = VREDIR_CURSOR_SIZE;
        c.height = VREDIR_CURSOR_SIZE;
        c.bpp = 32;
        if (ioctl(disp.fd, VP_IOCTL_MODE_CREATE_DUMB, &c) != 0)
            return -1;
        struct vp_mode_map_dumb mp = {0};
        mp.handle = c.handle;
        void *map = MAP_FAILED;
        if (ioctl(disp.fd, VP_IOCTL_MODE_MAP_DUMB, &mp) == 0)
            map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, disp.fd, (off_t)mp.offset);
        if (map == MAP_FAILED) {
            struct vp_mode_destroy_dumb d = {c.handle};
            ioctl(disp.fd, VP_IOCTL_MODE_DESTROY_DUMB, &d);
            return -1;
        }
        for (uint32_t y = 0; y < VREDIR_CURSOR_SIZE; y++) {
            uint32_t *row = (uint32_t *)((char *)map + (size_t)y * c.pitch);
            for (uint32_t x = 0; x < VREDIR_CURSOR_SIZE; x++)
                row[x] = vredir_cursor_pixel(x, y);
        }
        munmap(map, c.size);
        cursor_handle = c.handle;
    }
    struct vp_mode_cursor2 cur = {0};
    cur.flags = VP_MODE_CURSOR_BO;
    cur.crtc_id = disp.crtc_id;
    cur.width = on ? VREDIR_CURSOR_SIZE : 0;
    cur.height = on ? VREDIR_CURSOR_SIZE : 0;
    cur.handle = on ? cursor_handle : 0;
    cur.hot_x = VREDIR_CURSOR_HOT_X;
    cur.hot_y = VREDIR_CURSOR_HOT_Y;
    if (ioctl(disp.fd, VP_IOCTL_MODE_CURSOR2, &cur) != 0)
        return -1;
    if (on)
        return cursor_move((int32_t)(disp.w / 2), (int32_t)(disp.h / 2));
    return 0;
}

/* ------------------------------------------------------------------ */
/* Power                                                               */
/* ------------------------------------------------------------------ */

static void power_off(const char *why)
{
    vlog("poweroff %s", why);
    log_direct = 1;
    log_flush_all();
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

/* ------------------------------------------------------------------ */
/* Screen state helpers                                                */
/* ------------------------------------------------------------------ */

static uint64_t bar_next_ms;
static uint64_t needle_due_ms; /* 0: none pending */
static int flipkeys;
static int keydev; /* "keydev on": key, btn and abs lines name their device */

static void toggle_flip(void)
{
    scr.flipped = !scr.flipped;
    render_rect(vredir_flip_rect(disp.w, disp.h));
}

static void reset_screen(void)
{
    memset(&scr, 0, sizeof scr);
    needle_due_ms = 0;
    flipkeys = 0;
    render_all();
}

static void bar_step(void)
{
    vredir_rect old = vredir_bar_rect(scr.bar_frame, disp.w, disp.h);
    scr.bar_frame++;
    vredir_rect nw = vredir_bar_rect(scr.bar_frame, disp.w, disp.h);
    /* one update covering both positions unless the bar wrapped */
    if (nw.x >= old.x && nw.x <= old.x + old.w)
        render(old.x, 0, nw.x + nw.w, disp.h);
    else {
        render_rect(old);
        render_rect(nw);
    }
}

/* ------------------------------------------------------------------ */
/* Tone                                                                */
/* ------------------------------------------------------------------ */

struct tone_job {
    pid_t pid;
    unsigned hz, ms;
};
static struct tone_job tone_jobs[8];

static int play_tone(unsigned hz, unsigned ms)
{
    int fd = open("/dev/dsp", O_WRONLY);
    if (fd < 0)
        return 2;
    int fmt = AFMT_S16_LE, ch = 2, rate = 48000;
    if (ioctl(fd, SNDCTL_DSP_SETFMT, &fmt) != 0 || fmt != AFMT_S16_LE)
        return 3;
    if (ioctl(fd, SNDCTL_DSP_CHANNELS, &ch) != 0 || (ch != 1 && ch != 2))
        return 4;
    if (ioctl(fd, SNDCTL_DSP_SPEED, &rate) != 0 || rate <= 0)
        return 5;
    uint64_t frames = (uint64_t)rate * ms / 1000u;
    int16_t buf[2 * 1024];
    double phase = 0, step = 2.0 * M_PI * hz / rate;
    uint64_t done = 0;
    while (done < frames) {
        unsigned n = 0;
        while (n < 1024 && done < frames) {
            int16_t v = (int16_t)lrint(sin(phase) * 16000.0);
            phase += step;
            if (phase > 2.0 * M_PI)
                phase -= 2.0 * M_PI;
            for (int c = 0; c < ch; c++)
                buf[n * ch + c] = v;
            n++;
            done++;
        }
        const char *p = (const char *)buf;
        size_t left = (size_t)n * ch * 2;
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return 6;
            }
            p += w;
            left -= (size_t)w;
        }
    }
    ioctl(fd, SNDCTL_DSP_SYNC, 0);
    close(fd);
    return 0;
}

static void start_tone(unsigned hz, unsigned ms)
{
    for (int i = 0; i < 8; i++) {
        if (tone_jobs[i].pid)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            /* the parent's queued lines are the parent's to write */
            log_off = log_len = 0;
            log_direct = 1;
            _exit(play_tone(hz, ms));
        }
        if (pid < 0) {
            vlog("tone-error %u %u fork", hz, ms);
            return;
        }
        tone_jobs[i].pid = pid;
        tone_jobs[i].hz = hz;
        tone_jobs[i].ms = ms;
        return;
    }
    vlog("tone-error %u %u busy", hz, ms);
}

static int usb_bulk_reaped(pid_t pid, int status);
static void usb_bulk_start(unsigned long bytes, const char *tty);

static void reap_children(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        text_console_reaped(pid);
        serial_shell_reaped(pid);
        if (usb_bulk_reaped(pid, st))
            continue;
        for (int i = 0; i < 8; i++) {
            if (tone_jobs[i].pid != pid)
                continue;
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
            if (code == 0)
                vlog("tone %u %u", tone_jobs[i].hz, tone_jobs[i].ms);
            else
                vlog("tone-error %u %u code=%d", tone_jobs[i].hz, tone_jobs[i].ms, code);
            tone_jobs[i].pid = 0;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Commands (ttyS1)                                                    */
/* ------------------------------------------------------------------ */

/* Set by the command "agent-replies malformed" (see the guest agent below). */
static int qga_malformed;

static void do_command(char *line)
{
    /* trim */
    while (*line && isspace((unsigned char)*line))
        line++;
    size_t len = strlen(line);
    while (len && isspace((unsigned char)line[len - 1]))
        line[--len] = 0;
    if (!*line)
        return;
    char cmd[32] = "", a1[64] = "", a2[64] = "", a3[64] = "";
    sscanf(line, "%31s %63s %63s %63s", cmd, a1, a2, a3);
    int ok = 1;
    if (!strcmp(cmd, "card")) {
        scr.solid = 0;
        render_all();
    } else if (!strcmp(cmd, "solid") && strlen(a1) == 6 && strspn(a1, "0123456789abcdefABCDEF") == 6) {
        scr.solid = 1;
        scr.solid_rgb = (uint32_t)strtoul(a1, NULL, 16);
        render_all();
    } else if (!strcmp(cmd, "head2") && strlen(a1) == 6 && strspn(a1, "0123456789abcdefABCDEF") == 6) {
        uint32_t w = 0, h = 0;
        ok = head2_light((uint32_t)strtoul(a1, NULL, 16), &w, &h) == 0;
        if (ok) {
            vlog("ok %s", line);
            vlog("head2 %ux%u %s", w, h, a1);
            return;
        }
    } else if (!strcmp(cmd, "bar") && (!strcmp(a1, "on") || !strcmp(a1, "off"))) {
        int on = !strcmp(a1, "on");
        if (on && !scr.bar) {
            scr.bar = 1;
            scr.bar_frame = 0;
            bar_next_ms = now_ms() + VREDIR_BAR_PERIOD_MS;
            render_rect(vredir_bar_rect(0, disp.w, disp.h));
        } else if (!on && scr.bar) {
            vredir_rect r = vredir_bar_rect(scr.bar_frame, disp.w, disp.h);
            scr.bar = 0;
            render_rect(r);
        }
    } else if (!strcmp(cmd, "needle") && a1[0] && strspn(a1, "0123456789") == strlen(a1)) {
        if (scr.needle) {
            scr.needle = 0;
            render_rect(vredir_needle_rect(disp.w, disp.h));
        }
        needle_due_ms = now_ms() + strtoul(a1, NULL, 10);
        if (needle_due_ms == 0)
            needle_due_ms = 1;
    } else if (!strcmp(cmd, "flip") && !a1[0]) {
        vlog("ok %s", line);
        toggle_flip();
        vlog("flip %d", scr.flipped);
        return;
    } else if (!strcmp(cmd, "cursor") && (!strcmp(a1, "on") || !strcmp(a1, "off"))) {
        ok = cursor_set(!strcmp(a1, "on")) == 0;
    } else if (!strcmp(cmd, "cursor") && !strcmp(a1, "move") && a2[0] && a3[0]) {
        ok = cursor_move((int32_t)atoi(a2), (int32_t)atoi(a3)) == 0;
    } else if (!strcmp(cmd, "keydev") && (!strcmp(a1, "on") || !strcmp(a1, "off"))) {
        keydev = !strcmp(a1, "on");
    } else if (!strcmp(cmd, "flipkeys") && (!strcmp(a1, "on") || !strcmp(a1, "off"))) {
        flipkeys = !strcmp(a1, "on");
    } else if (!strcmp(cmd, "usbbulk") && a1[0] && strspn(a1, "0123456789") == strlen(a1) &&
               strtoul(a1, NULL, 10) > 0 && strtoul(a1, NULL, 10) <= (64ul << 20) &&
               (!a2[0] || (!strncmp(a2, "ttyACM", 6) && a2[6] && strlen(a2) < 10 &&
                           strspn(a2 + 6, "0123456789") == strlen(a2 + 6)))) {
        usb_bulk_start(strtoul(a1, NULL, 10), a2);
    } else if (!strcmp(cmd, "tone") && atoi(a1) > 0 && atoi(a2) > 0) {
        start_tone((unsigned)atoi(a1), (unsigned)atoi(a2));
    } else if (!strcmp(cmd, "poweroff")) {
        vlog("ok %s", line);
        power_off("command");
    } else if (!strcmp(cmd, "agent-replies") && (!strcmp(a1, "malformed") || !strcmp(a1, "normal"))) {
        /* malformed: guest-get-osinfo and guest-exec-status answer with
         * members of the wrong JSON types, as a hostile guest could */
        qga_malformed = !strcmp(a1, "malformed");
    } else if (!strcmp(cmd, "ping")) {
        /* ack only */
    } else if (!strcmp(cmd, "mode")) {
        vlog("ok %s", line);
        vlog("mode %ux%u", disp.w, disp.h);
        return;
    } else {
        ok = 0;
    }
    vlog("%s %s", ok ? "ok" : "err", line);
}

/* ------------------------------------------------------------------ */
/* Input devices                                                       */
/* ------------------------------------------------------------------ */

#define MAX_DEV 32
struct input_dev {
    int fd;
    int num;          /* N of /dev/input/eventN */
    int is_power;     /* ACPI "Power Button" device */
    int has_abs;
    int absmin[2], absmax[2];
    int absval[2];
    int abs_dirty;
    int gone;         /* read error ENODEV: fd closed by the reader thread */
    char name[80];
};
/* Slots are never reused: the reader thread indexes them without a lock,
 * and ndevs only grows (under dev_lock). */
static struct input_dev devs[MAX_DEV];
static int ndevs;
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;

static int dev_known(int num)
{
    for (int i = 0; i < ndevs; i++)
        if (devs[i].num == num && !devs[i].gone)
            return 1;
    return 0;
}

static void scan_inputs(void)
{
    DIR *d = opendir("/dev/input");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int num;
        if (sscanf(e->d_name, "event%d", &num) != 1 || dev_known(num) || ndevs >= MAX_DEV)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/dev/input/event%d", num);
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct input_dev *dv = &devs[ndevs];
        memset(dv, 0, sizeof *dv);
        dv->fd = fd;
        dv->num = num;
        ioctl(fd, EVIOCGNAME(sizeof dv->name - 1), dv->name);
        dv->is_power = strstr(dv->name, "Power Button") != NULL;
        for (int a = 0; a < 2; a++) {
            struct input_absinfo ai;
            if (ioctl(fd, EVIOCGABS(a), &ai) == 0 && ai.maximum > ai.minimum) {
                dv->has_abs = 1;
                dv->absmin[a] = ai.minimum;
                dv->absmax[a] = ai.maximum;
                dv->absval[a] = ai.value;
            }
        }
        for (char *p = dv->name; *p; p++)
            if (!isprint((unsigned char)*p))
                *p = '?';
        pthread_mutex_lock(&dev_lock);
        ndevs++;
        pthread_mutex_unlock(&dev_lock);
        vlog("input event%d %s", num, dv->name);
    }
    closedir(d);
}

/* Maps an absolute axis value to a pixel coordinate on an axis of
 * `size` pixels; the exact inverse of QEMU's pixel -> tablet scaling
 * raw = px * (max - min) / size + min. */
static uint32_t abs_to_px(int raw, int min, int max, uint32_t size)
{
    int64_t range = (int64_t)max - min;
    if (range <= 0 || size == 0)
        return 0;
    int64_t v = (int64_t)raw - min;
    if (v < 0)
        v = 0;
    int64_t px = (v * (int64_t)size + range - 1) / range;
    if (px > (int64_t)size - 1)
        px = (int64_t)size - 1;
    return (uint32_t)px;
}

static void handle_event(struct input_dev *dv, const struct input_event *ev)
{
    switch (ev->type) {
    case EV_KEY:
        if ((ev->code >= BTN_MISC && ev->code < KEY_OK) ||
            (ev->code >= BTN_DPAD_UP && ev->code < KEY_ALS_TOGGLE) ||
            ev->code >= BTN_TRIGGER_HAPPY) {
            if (keydev)
                vlog("btn %u %d event%d", ev->code, ev->value, dv->num);
            else
                vlog("btn %u %d", ev->code, ev->value);
        }
        else if (keydev)
            vlog("key %u %d event%d", ev->code, ev->value, dv->num);
        else
            vlog("key %u %d", ev->code, ev->value);
        if (dv->is_power && ev->code == KEY_POWER && ev->value == 1)
            power_off("acpi");
        if (flipkeys && ev->value == 1 && !(ev->code >= BTN_MISC && ev->code < KEY_OK)) {
            toggle_flip();
            vlog("flip %d", scr.flipped);
        }
        break;
    case EV_REL:
        vlog("rel %u %d", ev->code, ev->value);
        break;
    case EV_ABS:
        if (ev->code == ABS_X || ev->code == ABS_Y) {
            dv->absval[ev->code] = ev->value;
            dv->abs_dirty = 1;
        } else {
            vlog("absaxis %u %d", ev->code, ev->value);
        }
        break;
    case EV_SYN:
        /* the kernel's buffer for this reader overflowed: events were lost
         * inside the guest, after the device had them */
        if (ev->code == SYN_DROPPED)
            vlog("input-dropped event%d", dv->num);
        if (ev->code == SYN_REPORT && dv->abs_dirty) {
            dv->abs_dirty = 0;
            uint32_t px = abs_to_px(dv->absval[0], dv->absmin[0], dv->absmax[0], disp.w);
            uint32_t py = abs_to_px(dv->absval[1], dv->absmin[1], dv->absmax[1], disp.h);
            if (keydev)
                vlog("abs %d %d %u %u event%d", dv->absval[0], dv->absval[1], px, py, dv->num);
            else
                vlog("abs %d %d %u %u", dv->absval[0], dv->absval[1], px, py);
        }
        break;
    default:
        break;
    }
}

/* The input reader: a real-time thread that only moves events from the
 * kernel's evdev buffers (64 events per reader) into a large queue, so that
 * rendering, logging or a slow command in the main loop cannot make the
 * kernel drop events (SYN_DROPPED). The main loop logs them from the queue. */
#define INQ_SIZE 65536
struct queued_input {
    struct input_event ev;
    int dev;
    int gone; /* the device went away (no event) */
};
static struct queued_input inq[INQ_SIZE];
static size_t inq_head, inq_tail; /* [tail, head) pending, indices mod INQ_SIZE */
static pthread_mutex_t inq_lock = PTHREAD_MUTEX_INITIALIZER;
static int inq_pipe[2] = {-1, -1}; /* reader -> main loop */
static volatile int reader_priority = -1; /* set by the reader thread */

static void inq_push(const struct input_event *ev, size_t n, int dev, int gone)
{
    size_t i = 0;
    while (i < n || gone) {
        pthread_mutex_lock(&inq_lock);
        while (inq_head - inq_tail < INQ_SIZE && (i < n || gone)) {
            struct queued_input *q = &inq[inq_head % INQ_SIZE];
            q->dev = dev;
            q->gone = i >= n;
            if (i < n)
                q->ev = ev[i++];
            else
                gone = 0;
            inq_head++;
        }
        pthread_mutex_unlock(&inq_lock);
        if (write(inq_pipe[1], "i", 1) < 0 && errno != EAGAIN) {
            /* the main loop is gone */
        }
        if (i < n || gone)
            usleep(1000); /* full: the main loop is far behind */
    }
}

static void *input_reader(void *arg)
{
    (void)arg;
    struct sched_param sp = {.sched_priority = 50};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
        sp.sched_priority = 0; /* keep going at normal priority */
    reader_priority = sp.sched_priority;
    for (;;) {
        struct pollfd pf[MAX_DEV];
        int idx[MAX_DEV], n = 0;
        pthread_mutex_lock(&dev_lock);
        for (int i = 0; i < ndevs; i++)
            if (!devs[i].gone) {
                pf[n] = (struct pollfd){devs[i].fd, POLLIN, 0};
                idx[n++] = i;
            }
        pthread_mutex_unlock(&dev_lock);
        /* a device added meanwhile is polled from the next round */
        if (poll(pf, (nfds_t)n, 100) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            struct input_event ev[64];
            for (;;) {
                ssize_t r = read(pf[k].fd, ev, sizeof ev);
                if (r <= 0) {
                    if (r < 0 && errno == ENODEV) {
                        pthread_mutex_lock(&dev_lock);
                        devs[idx[k]].gone = 1;
                        close(pf[k].fd);
                        pthread_mutex_unlock(&dev_lock);
                        inq_push(NULL, 0, idx[k], 1);
                    }
                    break;
                }
                inq_push(ev, (size_t)r / sizeof ev[0], idx[k], 0);
            }
        }
    }
    return NULL;
}

static void input_reader_start(void)
{
    start_worker(inq_pipe, input_reader, "input reader thread");
}

/* Main loop: logs what the reader queued. */
static void drain_input(void)
{
    drain_wake_pipe(inq_pipe[0]);
    static struct queued_input batch[4096];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&inq_lock);
        while (inq_tail < inq_head && n < sizeof batch / sizeof batch[0])
            batch[n++] = inq[inq_tail++ % INQ_SIZE];
        pthread_mutex_unlock(&inq_lock);
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            struct input_dev *dv = &devs[batch[i].dev];
            if (batch[i].gone)
                vlog("input-gone event%d", dv->num);
            else
                handle_event(dv, &batch[i].ev);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Guest agent (virtio-serial "org.qemu.guest_agent.0")                */
/* ------------------------------------------------------------------ */

static int qga_fd = -1;
static uint64_t qga_retry_ms;
static char qga_buf[65536];
static size_t qga_len;
static int qga_depth, qga_in_str, qga_esc;
static unsigned long qga_next_pid = 1000;

static void qga_open(void)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], name[128] = "";
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(name, sizeof name, f))
            name[0] = 0;
        fclose(f);
        name[strcspn(name, "\r\n")] = 0;
        if (strcmp(name, "org.qemu.guest_agent.0"))
            continue;
        snprintf(path, sizeof path, "/dev/%s", e->d_name);
        qga_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (qga_fd >= 0)
            vlog("qga %s", e->d_name);
        break;
    }
    closedir(d);
}

static void qga_write(const char *s, size_t n)
{
    uint64_t deadline = now_ms() + 2000;
    while (n) {
        ssize_t w = write(qga_fd, s, n);
        if (w < 0) {
            if ((errno == EAGAIN || errno == EINTR) && now_ms() < deadline) {
                struct pollfd p = {qga_fd, POLLOUT, 0};
                poll(&p, 1, 50);
                continue;
            }
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void qga_reply(const char *json)
{
    qga_write(json, strlen(json));
    qga_write("\n", 1);
}

/* Returns a pointer to the value following "key": anywhere in obj. */
static const char *json_find(const char *obj, const char *key)
{
    size_t kl = strlen(key);
    const char *p = obj;
    while ((p = strchr(p, '"')) != NULL) {
        if (!strncmp(p + 1, key, kl) && p[1 + kl] == '"') {
            const char *q = p + 2 + kl;
            while (isspace((unsigned char)*q))
                q++;
            if (*q == ':') {
                q++;
                while (isspace((unsigned char)*q))
                    q++;
                return q;
            }
        }
        /* skip over this string */
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        if (!*p)
            return NULL;
        p++;
    }
    return NULL;
}

/* Decodes the JSON string at p (pointing at the opening quote). */
static const char *json_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (!p || *p != '"') {
        if (cap)
            out[0] = 0;
        return NULL;
    }
    p++;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\' && *p) {
            c = *p++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u':
                c = '?';
                for (int i = 0; i < 4 && *p; i++)
                    p++;
                break;
            default: break;
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (cap)
        out[n] = 0;
    return *p == '"' ? p + 1 : p;
}

/* Copies the JSON number token at p into out (digits and sign only). */
static void json_number(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    while (p && (*p == '-' || isdigit((unsigned char)*p)) && n + 1 < cap)
        out[n++] = *p++;
    out[n] = 0;
    if (!n && cap > 1) {
        out[0] = '0';
        out[1] = 0;
    }
}

static void json_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 7 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = 0;
}

static const char *const qga_commands[] = {
    "guest-sync", "guest-sync-delimited", "guest-ping", "guest-info", "guest-get-osinfo",
    "guest-shutdown", "guest-exec", "guest-exec-status",
};

static void qga_dispatch(const char *req)
{
    char cmd[64], out[4096];
    json_string(json_find(req, "execute"), cmd, sizeof cmd);
    if (!cmd[0])
        json_string(json_find(req, "exec-oob"), cmd, sizeof cmd);
    if (!strcmp(cmd, "guest-sync") || !strcmp(cmd, "guest-sync-delimited")) {
        char id[32];
        json_number(json_find(req, "id"), id, sizeof id);
        if (cmd[10] == '-')
            qga_write("\xff", 1);
        snprintf(out, sizeof out, "{\"return\": %s}", id);
        qga_reply(out);
    } else if (!strcmp(cmd, "guest-ping")) {
        qga_reply("{\"return\": {}}");
    } else if (!strcmp(cmd, "guest-info")) {
        size_t n = (size_t)snprintf(out, sizeof out,
                                    "{\"return\": {\"version\": \"vredir-probe-" PROBE_VERSION
                                    "\", \"supported_commands\": [");
        for (size_t i = 0; i < sizeof qga_commands / sizeof qga_commands[0]; i++)
            n += (size_t)snprintf(out + n, sizeof out - n,
                                  "%s{\"enabled\": true, \"name\": \"%s\", \"success-response\": %s}",
                                  i ? ", " : "", qga_commands[i],
                                  strcmp(qga_commands[i], "guest-shutdown") ? "true" : "false");
        snprintf(out + n, sizeof out - n, "]}}");
        qga_reply(out);
    } else if (!strcmp(cmd, "guest-get-osinfo") && qga_malformed) {
        qga_reply("{\"return\": {\"id\": 42, \"kernel-name\": [\"Windows\"], \"name\": {}}}");
    } else if (!strcmp(cmd, "guest-get-osinfo")) {
        struct utsname u;
        uname(&u);
        char rel[200], ver[200], mach[100];
        json_escape(u.release, rel, sizeof rel);
        json_escape(u.version, ver, sizeof ver);
        json_escape(u.machine, mach, sizeof mach);
        snprintf(out, sizeof out,
                 "{\"return\": {\"id\": \"vredir-probe\", \"name\": \"vredir probe\", "
                 "\"pretty-name\": \"vredir test probe " PROBE_VERSION "\", \"version\": \"" PROBE_VERSION
                 "\", \"version-id\": \"" PROBE_VERSION "\", \"kernel-release\": \"%s\", "
                 "\"kernel-version\": \"%s\", \"machine\": \"%s\"}}",
                 rel, ver, mach);
        qga_reply(out);
    } else if (!strcmp(cmd, "guest-shutdown")) {
        char mode[32];
        json_string(json_find(req, "mode"), mode, sizeof mode);
        vlog("qga guest-shutdown %s", mode[0] ? mode : "powerdown");
        /* no reply: guest-shutdown has no success response */
        power_off("agent");
    } else if (!strcmp(cmd, "guest-exec")) {
        char path[256], args[1024] = "", a[256];
        json_string(json_find(req, "path"), path, sizeof path);
        const char *p = json_find(req, "arg");
        int is_logoff_args = 0, nargs = 0;
        char first[256] = "", second[256] = "";
        if (p && *p == '[') {
            p++;
            for (;;) {
                while (*p && (isspace((unsigned char)*p) || *p == ','))
                    p++;
                if (*p != '"')
                    break;
                p = json_string(p, a, sizeof a);
                if (nargs == 0)
                    snprintf(first, sizeof first, "%s", a);
                else if (nargs == 1)
                    snprintf(second, sizeof second, "%s", a);
                nargs++;
                size_t l = strlen(args);
                snprintf(args + l, sizeof args - l, " %s", a);
                if (!p)
                    break;
            }
        }
        is_logoff_args = nargs == 2 && !strcmp(first, "terminate-seat") && !strcmp(second, "seat0");
        unsigned long pid = qga_next_pid++;
        vlog("exec %s%s", path, args);
        size_t pl = strlen(path);
        if (is_logoff_args && pl >= 8 && !strcmp(path + pl - 8, "loginctl")) {
            reset_screen();
            vlog("logoff");
        }
        snprintf(out, sizeof out, "{\"return\": {\"pid\": %lu}}", pid);
        qga_reply(out);
    } else if (!strcmp(cmd, "guest-exec-status") && qga_malformed) {
        qga_reply("{\"return\": {\"exited\": \"yes\", \"exitcode\": \"0\"}}");
    } else if (!strcmp(cmd, "guest-exec-status")) {
        qga_reply("{\"return\": {\"exited\": true, \"exitcode\": 0}}");
    } else {
        char esc[128];
        json_escape(cmd, esc, sizeof esc);
        snprintf(out, sizeof out,
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command %s has not been "
                 "found\"}}",
                 esc);
        qga_reply(out);
    }
}

/* Splits the byte stream into top-level JSON objects (no newlines needed);
 * a 0xFF byte resets the parser as in the real agent. */
static void qga_feed(const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == 0xFF) {
            qga_len = 0;
            qga_depth = qga_in_str = qga_esc = 0;
            continue;
        }
        if (qga_depth == 0 && c != '{')
            continue;
        if (qga_len + 1 >= sizeof qga_buf) {
            qga_len = 0;
            qga_depth = qga_in_str = qga_esc = 0;
            continue;
        }
        qga_buf[qga_len++] = (char)c;
        if (qga_in_str) {
            if (qga_esc)
                qga_esc = 0;
            else if (c == '\\')
                qga_esc = 1;
            else if (c == '"')
                qga_in_str = 0;
            continue;
        }
        if (c == '"')
            qga_in_str = 1;
        else if (c == '{' || c == '[')
            qga_depth++;
        else if (c == '}' || c == ']') {
            if (--qga_depth == 0) {
                qga_buf[qga_len] = 0;
                qga_dispatch(qga_buf);
                qga_len = 0;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* USB devices                                                         */
/* ------------------------------------------------------------------ */

/* Every USB device the guest enumerates is logged when it appears and
 * when it goes (from sysfs, rescanned every 250 ms; root hubs are left
 * out). A CDC-ACM serial port (ttyACM) gets one line written to it, and
 * what comes back is logged: redir-usb's software test device answers
 * uppercased, which proves the round trip through the redirection. */
#define MAX_USB 16
struct usb_seen {
    char name[32];   /* sysfs name, "1-2" */
    char id[10];     /* "1209:0001" */
    int seen;        /* in the current scan */
    int echoed;      /* its ttyACM has been written to */
};
static struct usb_seen usbs[MAX_USB];
static int nusbs;
static int acm_fd = -1;
static char acm_name[16];
static char acm_buf[256];
static size_t acm_len;
static uint64_t acm_deadline;
static unsigned acm_seq;

static int read_small(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    out[n] = 0;
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

static void acm_close(void)
{
    if (acm_fd >= 0)
        close(acm_fd);
    acm_fd = -1;
    acm_len = 0;
}

/* The USB device (sysfs name) a ttyACM belongs to. */
static int acm_owner(const char *tty, char *out, size_t cap)
{
    char link[256], path[320];
    snprintf(path, sizeof path, "/sys/class/tty/%s/device", tty);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 0)
        return -1;
    link[n] = 0;
    const char *base = strrchr(link, '/');
    base = base ? base + 1 : link;
    size_t len = strcspn(base, ":");
    if (len >= cap)
        return -1;
    memcpy(out, base, len);
    out[len] = 0;
    return 0;
}

static void acm_start(void)
{
    DIR *d = opendir("/sys/class/tty");
    if (!d)
        return;
    struct dirent *e;
    while (acm_fd < 0 && (e = readdir(d)) != NULL) {
        char owner[32];
        if (strncmp(e->d_name, "ttyACM", 6) != 0 || acm_owner(e->d_name, owner, sizeof owner) != 0)
            continue;
        for (int i = 0; i < nusbs; i++) {
            if (usbs[i].echoed || strcmp(usbs[i].name, owner) != 0)
                continue;
            char path[300];
            snprintf(path, sizeof path, "/dev/%s", e->d_name);
            int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0)
                break; /* not ready yet: the next scan tries again */
            usbs[i].echoed = 1;
            set_raw(fd);
            char line[64];
            int n = snprintf(line, sizeof line, "vredir usb echo %u\n", ++acm_seq);
            if (write(fd, line, (size_t)n) != n) {
                vlog("usb-echo-error %s %s", e->d_name, strerror(errno));
                close(fd);
                break;
            }
            acm_fd = fd;
            snprintf(acm_name, sizeof acm_name, "%.15s", e->d_name);
            acm_len = 0;
            acm_deadline = now_ms() + 10000;
            break;
        }
    }
    closedir(d);
}

/* Main loop: the ttyACM has something to say (or went away). */
static void acm_read(void)
{
    char b[128];
    ssize_t n = read(acm_fd, b, sizeof b);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        vlog("usb-echo-error %s %s", acm_name, n < 0 ? strerror(errno) : "closed");
        acm_close();
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (b[i] == '\n') {
            acm_buf[acm_len] = 0;
            vlog("usb-echo %s %s", acm_name, acm_buf);
            acm_close();
            return;
        }
        if (acm_len + 1 < sizeof acm_buf)
            acm_buf[acm_len++] = isprint((unsigned char)b[i]) ? b[i] : '?';
    }
}

static void scan_usb(void)
{
    for (int i = 0; i < nusbs; i++)
        usbs[i].seen = 0;
    DIR *d = opendir("/sys/bus/usb/devices");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || strchr(e->d_name, ':') || strncmp(e->d_name, "usb", 3) == 0 ||
                strlen(e->d_name) >= sizeof usbs[0].name)
                continue;
            char path[320], vid[16], pid[16];
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/idVendor", e->d_name);
            if (read_small(path, vid, sizeof vid) != 0)
                continue;
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/idProduct", e->d_name);
            if (read_small(path, pid, sizeof pid) != 0)
                continue;
            char id[10];
            snprintf(id, sizeof id, "%.4s:%.4s", vid, pid);
            int k = 0;
            while (k < nusbs && (strcmp(usbs[k].name, e->d_name) != 0 || strcmp(usbs[k].id, id) != 0))
                k++;
            if (k == nusbs) {
                if (nusbs >= MAX_USB)
                    continue;
                memset(&usbs[k], 0, sizeof usbs[k]);
                memcpy(usbs[k].name, e->d_name, strlen(e->d_name) + 1); /* length checked above */
                snprintf(usbs[k].id, sizeof usbs[k].id, "%s", id);
                nusbs++;
                vlog("usb %s %s", usbs[k].name, usbs[k].id);
            }
            usbs[k].seen = 1;
        }
        closedir(d);
    }
    for (int i = 0; i < nusbs;) {
        if (usbs[i].seen) {
            i++;
            continue;
        }
        vlog("usb-gone %s %s", usbs[i].name, usbs[i].id);
        usbs[i] = usbs[--nusbs];
    }
    if (acm_fd >= 0 && now_ms() >= acm_deadline) {
        vlog("usb-echo-timeout %s", acm_name);
        acm_close();
    }
    if (acm_fd < 0)
        acm_start();
}


/* The usbbulk command: N bytes through the ttyACM both ways at once, in a
 * child so the main loop keeps logging input. The child writes a lowercase
 * pattern and checks that every byte comes back uppercased, in order; the
 * main loop logs "usb-bulk TTY N MS" when it ends (or usb-bulk-error with
 * the child's code: 1 mismatch, 2 no data for 10 s, 3 no ttyACM). */
static pid_t usb_bulk_pid;
static uint64_t usb_bulk_t0;
static unsigned long usb_bulk_bytes;
static char usb_bulk_tty[16];

static int usb_bulk_child(const char *tty, unsigned long n)
{
    char path[32];
    snprintf(path, sizeof path, "/dev/%s", tty);
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 3;
    set_raw(fd);
    tcflush(fd, TCIOFLUSH);
    char out[4096], in[4096];
    unsigned long sent = 0, got = 0;
    uint64_t last = now_ms();
    while (got < n) {
        struct pollfd pf = {fd, (short)(POLLIN | (sent < n ? POLLOUT : 0)), 0};
        if (poll(&pf, 1, 1000) < 0 && errno != EINTR)
            return 2;
        if (pf.revents & POLLOUT) {
            size_t k = n - sent < sizeof out ? n - sent : sizeof out;
            for (size_t i = 0; i < k; i++)
                out[i] = (char)('a' + (sent + i) % 26);
            ssize_t w = write(fd, out, k);
            if (w > 0)
                sent += (unsigned long)w;
        }
        if (pf.revents & POLLIN) {
            ssize_t r = read(fd, in, sizeof in);
            for (ssize_t i = 0; i < r; i++, got++)
                if (in[i] != (char)('A' + got % 26))
                    return 1;
            if (r > 0)
                last = now_ms();
        }
        if (now_ms() - last > 10000)
            return 2;
    }
    close(fd);
    return 0;
}

/* tty: "ttyACMn" (checked by the caller), or "" for the last one listed. */
static void usb_bulk_start(unsigned long bytes, const char *tty)
{
    if (usb_bulk_pid) {
        vlog("usb-bulk-error busy");
        return;
    }
    usb_bulk_tty[0] = 0;
    DIR *d = opendir("/sys/class/tty");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "ttyACM", 6) == 0 && strlen(e->d_name) < sizeof usb_bulk_tty &&
            (!tty[0] || !strcmp(e->d_name, tty)))
            memcpy(usb_bulk_tty, e->d_name, strlen(e->d_name) + 1);
    if (d)
        closedir(d);
    if (!usb_bulk_tty[0]) {
        vlog("usb-bulk-error no ttyACM");
        return;
    }
    usb_bulk_bytes = bytes;
    usb_bulk_t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        log_off = log_len = 0;
        log_direct = 1;
        _exit(usb_bulk_child(usb_bulk_tty, bytes));
    }
    if (pid < 0) {
        vlog("usb-bulk-error fork");
        return;
    }
    usb_bulk_pid = pid;
}

static int usb_bulk_reaped(pid_t pid, int status)
{
    if (!usb_bulk_pid || pid != usb_bulk_pid)
        return 0;
    usb_bulk_pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (code == 0)
        vlog("usb-bulk %s %lu %llu", usb_bulk_tty, usb_bulk_bytes,
             (unsigned long long)(now_ms() - usb_bulk_t0));
    else
        vlog("usb-bulk-error %s %lu code=%d", usb_bulk_tty, usb_bulk_bytes, code);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Main loop                                                           */
/* ------------------------------------------------------------------ */

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    early_setup();
    vlog("boot vredir-probe " PROBE_VERSION);
    text_console = cmdline_has_word(TEXT_CONSOLE_WORD);
    serial_shell = cmdline_has_word(SERIAL_SHELL_WORD);
    load_modules();

    int cmd_fd = open("/dev/ttyS1", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (cmd_fd >= 0)
        set_raw(cmd_fd);
    else
        vlog("warn no /dev/ttyS1");

    memset(&scr, 0, sizeof scr);
    if (text_console)
        text_console_start(&disp.w, &disp.h);
    else if (display_init() != 0)
        vlog("warn display unavailable");
    scan_inputs();
    qga_open();
    mode_watch_start();
    input_reader_start();
    for (int i = 0; i < 100 && reader_priority < 0; i++)
        usleep(1000);
    vlog("input-reader priority %d", reader_priority);
    vlog("ready %ux%u", disp.w, disp.h);
    if (serial_shell)
        serial_shell_start();
    fcntl(log_fd, F_SETFL, fcntl(log_fd, F_GETFL) | O_NONBLOCK);
    log_direct = 0;

    char cmdbuf[512];
    size_t cmdlen = 0;
    uint64_t next_scan = now_ms() + 1000;
    uint64_t next_usb_scan = now_ms();

    for (;;) {
        struct pollfd pf[MAX_DEV + 4];
        int np = 0;
        int in_idx = -1;
        if (inq_pipe[0] >= 0) {
            in_idx = np;
            pf[np++] = (struct pollfd){inq_pipe[0], POLLIN, 0};
        }
        int cmd_idx = -1, qga_idx = -1, log_idx = -1, mode_idx = -1, acm_idx = -1;
        if (acm_fd >= 0) {
            acm_idx = np;
            pf[np++] = (struct pollfd){acm_fd, POLLIN, 0};
        }
        if (mode_pipe[0] >= 0) {
            mode_idx = np;
            pf[np++] = (struct pollfd){mode_pipe[0], POLLIN, 0};
        }
        if (log_pending()) {
            log_idx = np;
            pf[np++] = (struct pollfd){log_fd, POLLOUT, 0};
        }
        if (cmd_fd >= 0) {
            cmd_idx = np;
            pf[np++] = (struct pollfd){cmd_fd, POLLIN, 0};
        }
        uint64_t t = now_ms();
        if (qga_fd >= 0 && t >= qga_retry_ms) {
            qga_idx = np;
            pf[np++] = (struct pollfd){qga_fd, POLLIN, 0};
        }
        uint64_t due = next_scan < next_usb_scan ? next_scan : next_usb_scan;
        if (scr.bar && bar_next_ms < due)
            due = bar_next_ms;
        if (needle_due_ms && needle_due_ms < due)
            due = needle_due_ms;
        if (qga_fd >= 0 && qga_idx < 0 && qga_retry_ms < due)
            due = qga_retry_ms;
        int timeout = due > t ? (int)(due - t) : 0;
        if (timeout > 100)
            timeout = 100; /* bounds the delay of reaping tone children */
        int r = poll(pf, (nfds_t)np, timeout);
        if (r < 0 && errno != EINTR)
            usleep(10000);

        if (r > 0) {
            if (in_idx >= 0 && (pf[in_idx].revents & POLLIN))
                drain_input(); /* inputs first */
            if (log_idx >= 0 && (pf[log_idx].revents & (POLLOUT | POLLERR | POLLHUP)))
                log_flush_some();
            if (mode_idx >= 0 && (pf[mode_idx].revents & POLLIN))
                display_apply_mode();
            if (acm_idx >= 0 && (pf[acm_idx].revents & (POLLIN | POLLHUP | POLLERR)))
                acm_read();
            if (cmd_idx >= 0 && (pf[cmd_idx].revents & POLLIN)) {
                char b[256];
                ssize_t n = read(cmd_fd, b, sizeof b);
                for (ssize_t i = 0; i < n; i++) {
                    if (b[i] == '\n' || b[i] == '\r') {
                        cmdbuf[cmdlen] = 0;
                        do_command(cmdbuf);
                        cmdlen = 0;
                    } else if (cmdlen + 1 < sizeof cmdbuf) {
                        cmdbuf[cmdlen++] = b[i];
                    }
                }
            }
            if (qga_idx >= 0) {
                short re = pf[qga_idx].revents;
                if (re & POLLIN) {
                    char b[4096];
                    ssize_t n = read(qga_fd, b, sizeof b);
                    if (n > 0)
                        qga_feed(b, (size_t)n);
                    else if (n == 0)
                        qga_retry_ms = now_ms() + 200;
                } else if (re & (POLLHUP | POLLERR)) {
                    /* host side not connected: look again later */
                    qga_retry_ms = now_ms() + 200;
                }
            }
        }

        t = now_ms();
        if (scr.bar && t >= bar_next_ms) {
            bar_step();
            bar_next_ms += VREDIR_BAR_PERIOD_MS;
            if (bar_next_ms < t)
                bar_next_ms = t + VREDIR_BAR_PERIOD_MS;
        }
        if (needle_due_ms && t >= needle_due_ms) {
            needle_due_ms = 0;
            scr.needle = 1;
            vredir_rect n = vredir_needle_rect(disp.w, disp.h);
            render_rect(n);
            vlog("needle %u %u %u %u", n.x, n.y, n.w, n.h);
        }
        if (t >= next_usb_scan) {
            scan_usb();
            next_usb_scan = t + 250;
        }
        if (t >= next_scan) {
            scan_inputs();
            if (qga_fd < 0)
                qga_open();
            next_scan = t + 1000;
        }
        reap_children();
    }
}
