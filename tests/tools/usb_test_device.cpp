// usb-test-device: a software USB device for the tests (never installed). It
// speaks the device side of usbredir through usbredirparser, the library
// usbredirhost and QEMU use, on a unix socket it listens on, so that
// `redir-usb share unix:PATH` (or QEMU's usb-redir chardev directly) reaches
// it exactly as it would reach `usbredirect --as`.
//
// The device is a CDC-ACM serial port (VID:PID 1209:0001 by default, the
// pid.codes test ID): a communication interface with its interrupt
// endpoint 0x83 and a data interface with bulk OUT 0x01 and bulk IN 0x82.
// It answers what the usb-guest sends: hello (interface_info, ep_info,
// device_connect in return), reset, set/get configuration, set/get alt
// setting, interrupt receiving, cancel, control packets (standard
// GET_DESCRIPTOR / GET_STATUS and the CDC class requests) and bulk packets.
// Every byte written to bulk OUT comes back on bulk IN uppercased, so an
// echo read in the guest proves the round trip through the whole path.
//
// usage: usb-test-device --listen PATH [--vid HEX] [--pid HEX] [--once]
//        [--source BYTES]
//   --once    exit after the first connection ends (default: accept again)
//   --source  instead of echoing, answer bulk IN with BYTES bytes of 'x' per
//             connection (then nothing): a bulk source for throughput runs
// Progress goes to stderr, one line per event ("connected", "hello from
// ...", "configured 1", "echoed N bytes", "disconnected").
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <usbredirparser.h>

#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string listen;
  uint16_t vid = 0x1209, pid = 0x0001;
  bool once = false;
  uint64_t source = 0;
};

struct PendingIn {
  uint64_t id;
  uint32_t length;
  uint32_t stream_id;
};

struct Device {
  Options opt;
  int fd = -1;
  bool eof = false;
  usbredirparser* parser = nullptr;
  uint8_t configuration = 0;
  uint8_t line_coding[7] = {0x00, 0xc2, 0x01, 0x00, 0x00, 0x00, 0x08};  // 115200 8N1
  std::deque<PendingIn> pending_in;
  std::string in_queue;  // bytes waiting for a bulk IN request
  uint64_t echoed = 0, source_left = 0, sent = 0;
};

void say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "usb-test-device: ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

// --- descriptors ----------------------------------------------------------------

constexpr uint16_t kBulkMps = 512;

std::vector<uint8_t> device_descriptor(const Device& d) {
  return {18,   1,    0x00, 0x02, 0x02, 0x00, 0x00, 64,   uint8_t(d.opt.vid & 0xff), uint8_t(d.opt.vid >> 8),
          uint8_t(d.opt.pid & 0xff), uint8_t(d.opt.pid >> 8), 0x00, 0x01, 1, 2, 3, 1};
}

std::vector<uint8_t> config_descriptor() {
  std::vector<uint8_t> c = {
      9, 2, 0, 0, 2, 1, 0, 0x80, 50,                   // configuration 1, two interfaces
      9, 4, 0, 0, 1, 0x02, 0x02, 0x01, 0,              // interface 0: CDC ACM (AT commands)
      5, 0x24, 0x00, 0x10, 0x01,                       //   header, CDC 1.10
      5, 0x24, 0x01, 0x00, 0x01,                       //   call management: data interface 1
      4, 0x24, 0x02, 0x02,                             //   ACM: line coding and serial state
      5, 0x24, 0x06, 0x00, 0x01,                       //   union: master 0, slave 1
      7, 5, 0x83, 0x03, 16, 0, 9,                      //   interrupt IN 0x83
      9, 4, 1, 0, 2, 0x0a, 0x00, 0x00, 0,              // interface 1: CDC data
      7, 5, 0x01, 0x02, kBulkMps & 0xff, kBulkMps >> 8, 0,  //   bulk OUT 0x01
      7, 5, 0x82, 0x02, kBulkMps & 0xff, kBulkMps >> 8, 0,  //   bulk IN 0x82
  };
  c[2] = uint8_t(c.size() & 0xff);
  c[3] = uint8_t(c.size() >> 8);
  return c;
}

std::vector<uint8_t> string_descriptor(uint8_t index) {
  if (index == 0) return {4, 3, 0x09, 0x04};
  const char* s = index == 1 ? "vredir" : index == 2 ? "vredir USB test device" : index == 3 ? "0001" : nullptr;
  if (!s) return {};
  std::vector<uint8_t> out = {0, 3};
  for (const char* p = s; *p; ++p) {
    out.push_back(uint8_t(*p));
    out.push_back(0);
  }
  out[0] = uint8_t(out.size());
  return out;
}

// --- usbredirparser callbacks ------------------------------------------------------

Device* dev_of(void* priv) { return static_cast<Device*>(priv); }

void log_cb(void*, int level, const char* msg) {
  if (level <= usbredirparser_warning) say("usbredirparser: %s", msg);
}

int read_cb(void* priv, uint8_t* data, int count) {
  Device* d = dev_of(priv);
  ssize_t n = ::read(d->fd, data, size_t(count));
  if (n > 0) return int(n);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  d->eof = true;
  return -1;
}

int write_cb(void* priv, uint8_t* data, int count) {
  Device* d = dev_of(priv);
  ssize_t n = ::write(d->fd, data, size_t(count));
  if (n >= 0) return int(n);
  if (errno == EAGAIN || errno == EINTR) return 0;
  d->eof = true;
  return -1;
}

void send_device(Device* d) {
  usb_redir_interface_info_header ii{};
  ii.interface_count = 2;
  ii.interface[0] = 0;
  ii.interface_class[0] = 0x02;
  ii.interface_subclass[0] = 0x02;
  ii.interface_protocol[0] = 0x01;
  ii.interface[1] = 1;
  ii.interface_class[1] = 0x0a;
  usbredirparser_send_interface_info(d->parser, &ii);

  usb_redir_ep_info_header ep{};
  for (int i = 0; i < 32; ++i) ep.type[i] = usb_redir_type_invalid;
  // Index: OUT endpoints 0-15, IN endpoints 16-31.
  ep.type[0] = ep.type[16] = usb_redir_type_control;
  ep.max_packet_size[0] = ep.max_packet_size[16] = 64;
  ep.type[1] = usb_redir_type_bulk;  // 0x01 OUT
  ep.interface[1] = 1;
  ep.max_packet_size[1] = kBulkMps;
  ep.type[18] = usb_redir_type_bulk;  // 0x82 IN
  ep.interface[18] = 1;
  ep.max_packet_size[18] = kBulkMps;
  ep.type[19] = usb_redir_type_interrupt;  // 0x83 IN
  ep.interface[19] = 0;
  ep.interval[19] = 9;
  ep.max_packet_size[19] = 16;
  usbredirparser_send_ep_info(d->parser, &ep);

  usb_redir_device_connect_header dc{};
  dc.speed = usb_redir_speed_high;
  dc.device_class = 0x02;
  dc.vendor_id = d->opt.vid;
  dc.product_id = d->opt.pid;
  dc.device_version_bcd = 0x0100;
  usbredirparser_send_device_connect(d->parser, &dc);
  say("device %04x:%04x connected to the usb-guest", d->opt.vid, d->opt.pid);
}

void hello_cb(void* priv, usb_redir_hello_header* h) {
  Device* d = dev_of(priv);
  char version[65] = {};
  std::memcpy(version, h->version, 64);
  say("hello from %s", version);
  send_device(d);
}

void reset_cb(void* priv) {
  dev_of(priv)->configuration = 0;
  say("reset");
}

void set_configuration_cb(void* priv, uint64_t id, usb_redir_set_configuration_header* h) {
  Device* d = dev_of(priv);
  usb_redir_configuration_status_header st{};
  st.status = h->configuration <= 1 ? usb_redir_success : usb_redir_inval;
  if (st.status == usb_redir_success) d->configuration = h->configuration;
  st.configuration = d->configuration;
  usbredirparser_send_configuration_status(d->parser, id, &st);
  say("configured %u", d->configuration);
}

void get_configuration_cb(void* priv, uint64_t id) {
  Device* d = dev_of(priv);
  usb_redir_configuration_status_header st{};
  st.status = usb_redir_success;
  st.configuration = d->configuration;
  usbredirparser_send_configuration_status(d->parser, id, &st);
}

void set_alt_setting_cb(void* priv, uint64_t id, usb_redir_set_alt_setting_header* h) {
  Device* d = dev_of(priv);
  usb_redir_alt_setting_status_header st{};
  st.status = h->interface <= 1 && h->alt == 0 ? usb_redir_success : usb_redir_inval;
  st.interface = h->interface;
  st.alt = 0;
  usbredirparser_send_alt_setting_status(d->parser, id, &st);
}

void get_alt_setting_cb(void* priv, uint64_t id, usb_redir_get_alt_setting_header* h) {
  Device* d = dev_of(priv);
  usb_redir_alt_setting_status_header st{};
  st.status = h->interface <= 1 ? usb_redir_success : usb_redir_inval;
  st.interface = h->interface;
  usbredirparser_send_alt_setting_status(d->parser, id, &st);
}

void start_interrupt_cb(void* priv, uint64_t id, usb_redir_start_interrupt_receiving_header* h) {
  Device* d = dev_of(priv);
  usb_redir_interrupt_receiving_status_header st{};
  st.status = h->endpoint == 0x83 ? usb_redir_success : usb_redir_inval;
  st.endpoint = h->endpoint;
  usbredirparser_send_interrupt_receiving_status(d->parser, id, &st);
}

void stop_interrupt_cb(void* priv, uint64_t id, usb_redir_stop_interrupt_receiving_header* h) {
  Device* d = dev_of(priv);
  usb_redir_interrupt_receiving_status_header st{};
  st.status = usb_redir_success;
  st.endpoint = h->endpoint;
  usbredirparser_send_interrupt_receiving_status(d->parser, id, &st);
}

// No isochronous endpoints: both requests are refused the same way.
void iso_refused(void* priv, uint64_t id, uint8_t endpoint) {
  usb_redir_iso_stream_status_header st{};
  st.status = usb_redir_inval;
  st.endpoint = endpoint;
  usbredirparser_send_iso_stream_status(dev_of(priv)->parser, id, &st);
}

void start_iso_cb(void* priv, uint64_t id, usb_redir_start_iso_stream_header* h) { iso_refused(priv, id, h->endpoint); }
void stop_iso_cb(void* priv, uint64_t id, usb_redir_stop_iso_stream_header* h) { iso_refused(priv, id, h->endpoint); }

void alloc_streams_cb(void* priv, uint64_t id, usb_redir_alloc_bulk_streams_header* h) {
  usb_redir_bulk_streams_status_header st{};
  st.endpoints = h->endpoints;
  st.status = usb_redir_inval;
  usbredirparser_send_bulk_streams_status(dev_of(priv)->parser, id, &st);
}

void free_streams_cb(void* priv, uint64_t id, usb_redir_free_bulk_streams_header* h) {
  usb_redir_bulk_streams_status_header st{};
  st.endpoints = h->endpoints;
  st.status = usb_redir_inval;
  usbredirparser_send_bulk_streams_status(dev_of(priv)->parser, id, &st);
}

void send_bulk_in(Device* d, const PendingIn& p, const uint8_t* data, uint32_t n, uint8_t status) {
  usb_redir_bulk_packet_header h{};
  h.endpoint = 0x82;
  h.status = status;
  h.length = uint16_t(n & 0xffff);
  h.length_high = uint16_t(n >> 16);
  h.stream_id = p.stream_id;
  usbredirparser_send_bulk_packet(d->parser, p.id, &h, const_cast<uint8_t*>(data), int(n));
}

// Answers waiting bulk IN requests with what the device has to say.
void serve_in(Device* d) {
  while (!d->pending_in.empty()) {
    PendingIn p = d->pending_in.front();
    if (d->source_left > 0) {
      uint32_t n = uint32_t(std::min<uint64_t>(p.length, d->source_left));
      std::string chunk(n, 'x');
      d->source_left -= n;
      d->sent += n;
      send_bulk_in(d, p, reinterpret_cast<const uint8_t*>(chunk.data()), n, usb_redir_success);
      if (d->source_left == 0) say("sourced %llu bytes", (unsigned long long)d->sent);
    } else if (!d->in_queue.empty()) {
      uint32_t n = uint32_t(std::min<size_t>(p.length, d->in_queue.size()));
      send_bulk_in(d, p, reinterpret_cast<const uint8_t*>(d->in_queue.data()), n, usb_redir_success);
      d->in_queue.erase(0, n);
    } else {
      return;
    }
    d->pending_in.pop_front();
  }
}

void cancel_cb(void* priv, uint64_t id) {
  Device* d = dev_of(priv);
  for (auto it = d->pending_in.begin(); it != d->pending_in.end(); ++it) {
    if (it->id != id) continue;
    PendingIn p = *it;
    d->pending_in.erase(it);
    send_bulk_in(d, p, nullptr, 0, usb_redir_cancelled);
    return;
  }
}

void control_cb(void* priv, uint64_t id, usb_redir_control_packet_header* h, uint8_t* data, int data_len) {
  Device* d = dev_of(priv);
  usb_redir_control_packet_header r = *h;
  std::vector<uint8_t> reply;
  bool in = h->endpoint & 0x80;
  r.status = usb_redir_success;
  const uint8_t type = h->requesttype, req = h->request;
  if (type == 0x80 && req == 6) {  // GET_DESCRIPTOR
    uint8_t dt = h->value >> 8, index = h->value & 0xff;
    if (dt == 1) reply = device_descriptor(*d);
    else if (dt == 2 && index == 0) reply = config_descriptor();
    else if (dt == 3) reply = string_descriptor(index);
    if (reply.empty()) r.status = usb_redir_stall;
  } else if ((type & 0x80) && req == 0) {  // GET_STATUS
    reply = {0, 0};
  } else if (type == 0xa1 && req == 0x21) {  // CDC GET_LINE_CODING
    reply.assign(d->line_coding, d->line_coding + 7);
  } else if (type == 0x21 && req == 0x20) {  // CDC SET_LINE_CODING
    if (data_len == 7) std::memcpy(d->line_coding, data, 7);
  } else if (type == 0x21 && (req == 0x22 || req == 0x23)) {  // SET_CONTROL_LINE_STATE, SEND_BREAK
  } else if (type == 0x00 && (req == 1 || req == 3)) {  // CLEAR/SET_FEATURE on the device
  } else if (type == 0x02 && req == 1) {  // CLEAR_FEATURE(ENDPOINT_HALT)
  } else {
    r.status = usb_redir_stall;
  }
  if (in) {
    if (reply.size() > h->length) reply.resize(h->length);
    r.length = r.status == usb_redir_success ? uint16_t(reply.size()) : 0;
    usbredirparser_send_control_packet(d->parser, id, &r, r.length ? reply.data() : nullptr, r.length);
  } else {
    r.length = r.status == usb_redir_success ? uint16_t(data_len) : 0;
    usbredirparser_send_control_packet(d->parser, id, &r, nullptr, 0);
  }
  if (data) usbredirparser_free_packet_data(d->parser, data);
}

void bulk_cb(void* priv, uint64_t id, usb_redir_bulk_packet_header* h, uint8_t* data, int data_len) {
  Device* d = dev_of(priv);
  uint32_t length = uint32_t(h->length) | (uint32_t(h->length_high) << 16);
  if (h->endpoint == 0x01) {
    std::string bytes(reinterpret_cast<const char*>(data), size_t(data_len));
    for (char& c : bytes) c = char(std::toupper(static_cast<unsigned char>(c)));
    if (d->opt.source == 0) {
      d->in_queue += bytes;
      d->echoed += bytes.size();
    }
    usb_redir_bulk_packet_header r = *h;
    r.status = usb_redir_success;
    usbredirparser_send_bulk_packet(d->parser, id, &r, nullptr, 0);
  } else if (h->endpoint == 0x82) {
    d->pending_in.push_back({id, length, h->stream_id});
  } else {
    usb_redir_bulk_packet_header r = *h;
    r.status = usb_redir_stall;
    r.length = r.length_high = 0;
    usbredirparser_send_bulk_packet(d->parser, id, &r, nullptr, 0);
  }
  if (data) usbredirparser_free_packet_data(d->parser, data);
  serve_in(d);
}

void new_parser(Device* d) {
  usbredirparser* p = usbredirparser_create();
  p->priv = d;
  p->log_func = log_cb;
  p->read_func = read_cb;
  p->write_func = write_cb;
  p->hello_func = hello_cb;
  p->reset_func = reset_cb;
  p->set_configuration_func = set_configuration_cb;
  p->get_configuration_func = get_configuration_cb;
  p->set_alt_setting_func = set_alt_setting_cb;
  p->get_alt_setting_func = get_alt_setting_cb;
  p->start_interrupt_receiving_func = start_interrupt_cb;
  p->stop_interrupt_receiving_func = stop_interrupt_cb;
  p->start_iso_stream_func = start_iso_cb;
  p->stop_iso_stream_func = stop_iso_cb;
  p->alloc_bulk_streams_func = alloc_streams_cb;
  p->free_bulk_streams_func = free_streams_cb;
  p->cancel_data_packet_func = cancel_cb;
  p->control_packet_func = control_cb;
  p->bulk_packet_func = bulk_cb;
  uint32_t caps[USB_REDIR_CAPS_SIZE] = {};
  // What usb-redir on an xHCI port needs (max packet sizes, 32-bit bulk
  // lengths, 64-bit ids), and the device version in device_connect.
  usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
  usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
  usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
  usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
  d->parser = p;
  usbredirparser_init(p, "vredir usb-test-device", caps, USB_REDIR_CAPS_SIZE, usbredirparser_fl_usb_host);
}

int listen_on(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof(a.sun_path)) {
    say("socket path too long: %s", path.c_str());
    return -1;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  ::unlink(path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 4) != 0) {
    say("cannot listen on %s: %s", path.c_str(), std::strerror(errno));
    return -1;
  }
  return fd;
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int serve(Device& d, int lfd) {
  for (;;) {
    pollfd pf[1] = {{lfd, POLLIN, 0}};
    if (g_stop) return 0;
    if (::poll(pf, 1, 200) <= 0) continue;
    d.fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (d.fd < 0) continue;
    say("connected");
    d.eof = false;
    d.configuration = 0;
    d.pending_in.clear();
    d.in_queue.clear();
    d.echoed = d.sent = 0;
    d.source_left = d.opt.source;
    new_parser(&d);
    while (!d.eof && !g_stop) {
      pollfd cf = {d.fd, short(POLLIN | (usbredirparser_has_data_to_write(d.parser) ? POLLOUT : 0)), 0};
      if (::poll(&cf, 1, 200) < 0 && errno != EINTR) break;
      if (cf.revents & (POLLIN | POLLHUP | POLLERR)) {
        int r = usbredirparser_do_read(d.parser);
        if (r == usbredirparser_read_parse_error) say("parse error from the usb-guest");
        if (r == usbredirparser_read_io_error) d.eof = true;
      }
      if (usbredirparser_has_data_to_write(d.parser) && usbredirparser_do_write(d.parser) != 0) d.eof = true;
    }
    say("disconnected (echoed %llu bytes)", (unsigned long long)d.echoed);
    usbredirparser_destroy(d.parser);
    d.parser = nullptr;
    ::close(d.fd);
    d.fd = -1;
    if (d.opt.once || g_stop) return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Device d;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        say("%s needs a value", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--listen") d.opt.listen = value();
    else if (a == "--vid") d.opt.vid = uint16_t(std::strtoul(value().c_str(), nullptr, 16));
    else if (a == "--pid") d.opt.pid = uint16_t(std::strtoul(value().c_str(), nullptr, 16));
    else if (a == "--once") d.opt.once = true;
    else if (a == "--source") d.opt.source = std::strtoull(value().c_str(), nullptr, 10);
    else {
      say("usage: usb-test-device --listen PATH [--vid HEX] [--pid HEX] [--once] [--source BYTES]");
      return 2;
    }
  }
  if (d.opt.listen.empty()) {
    say("usage: usb-test-device --listen PATH [--vid HEX] [--pid HEX] [--once] [--source BYTES]");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  int lfd = listen_on(d.opt.listen);
  if (lfd < 0) return 1;
  say("listening on %s as %04x:%04x", d.opt.listen.c_str(), d.opt.vid, d.opt.pid);
  int rc = serve(d, lfd);
  ::close(lfd);
  ::unlink(d.opt.listen.c_str());
  return rc;
}
