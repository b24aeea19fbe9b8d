#include "capture_cli.hpp"

#include "media/needle.hpp"

namespace vredir {

std::string resolve_capture_flags(const CaptureFlags& f, CaptureOptions* o, ControlRequest* q) {
  const bool via = !f.via.empty();
  if (via && (!o->domain_ref.empty() || !o->vnc_address.empty())) return "--via talks to a running capture: no DOMAIN or --vnc";
  if (!via && o->domain_ref.empty() == o->vnc_address.empty())
    return o->vnc_address.empty() ? "missing DOMAIN (or --vnc ADDRESS, or --via SOCKET)"
                                  : "give either DOMAIN or --vnc, not both";
  if (f.encoding == "raw") o->encoding = StreamRectEncoding::kRaw;
  else if (f.encoding == "zlib") o->encoding = StreamRectEncoding::kZlib;
  else if (f.encoding != "auto") return "--encoding must be raw, zlib or auto";

  ScreenRegion region;
  if (!f.region.empty() && !parse_region(f.region, &region)) return "--region needs x,y,w,h (for example 0,0,640,480)";
  auto regions = [](const std::vector<std::string>& in, std::vector<ScreenRegion>* out) {
    for (const std::string& s : in) {
      ScreenRegion r;
      if (!parse_region(s, &r)) return false;
      out->push_back(r);
    }
    return true;
  };
  std::vector<ScreenRegion> ignore, areas;
  if (!regions(f.ignore, &ignore)) return "--ignore needs x,y,w,h";
  if (!regions(f.areas, &areas)) return "--area needs x,y,w,h";

  const int waits = (f.until_stable >= 0) + !f.until_match.empty() + !f.until_text.empty() + !f.until_serial.empty();
  if (waits > 1) return "--until-stable, --until-match, --until-text and --until-serial cannot be combined";
  if (!f.until_serial.empty()) o->serial = true;
  if (o->serial && !o->vnc_address.empty()) return "--serial needs a DOMAIN (the console comes through libvirt), not --vnc";
  if (!o->serial_input.empty() && !o->serial) return "--serial-input needs --serial";
  if (o->no_display) {
    if (!o->serial) return "--no-display needs --serial (the console is then the stream's only channel)";
    if (waits > (f.until_serial.empty() ? 0 : 1) || f.text || !o->needle_new.empty() || !o->snapshot.empty() ||
        !o->control.empty() || via)
      return "--no-display: no screen, so no --snapshot, --text, --needle-new, screen waits, --control or --via";
    if (f.audio || o->frames || o->display != 0) return "--no-display: no --audio, --frames or --display";
  }
  if (!f.until_serial.empty() && !o->snapshot.empty()) return "--snapshot does not apply to --until-serial (no screen)";
  const int modes = waits + f.text + !o->needle_new.empty();
  if (modes > 1) return "--text, --needle-new and the --until-* waits cannot be combined";
  if (!f.region.empty() && f.until_match.empty() && f.until_text.empty() && !f.text)
    return "--region only applies to --until-match, --until-text and --text";
  if (f.threshold_given() && f.until_match.empty()) return "--threshold only applies to --until-match";
  if (f.threshold_given() && is_needle_json(f.until_match))
    return "--threshold applies to PNG needles (a JSON needle has its own match percentages)";
  if ((f.psnr >= 0 || f.no_blink_filter) && f.until_stable < 0)
    return "--psnr and --no-blink-filter only apply to --until-stable";
  if (!ignore.empty() && f.until_stable < 0 && o->needle_new.empty())
    return "--ignore only applies to --until-stable and --needle-new";
  if (!areas.empty() && o->needle_new.empty()) return "--area only applies to --needle-new";
  if (!o->needle_new.empty() && areas.empty()) return "--needle-new needs at least one --area X,Y,W,H";
  if (o->json && waits == 0 && !f.text) return "--json only applies to the --until-* waits and --text";
  if (!o->vnc_address.empty() && o->display != 0) return "--display needs a DOMAIN";
  if (f.head != "all") {
    if (f.head.empty() || f.head.size() > 2 || f.head.find_first_not_of("0123456789") != std::string::npos)
      return "--head needs all or a head number, 0 to 15 (got '" + f.head + "')";
    o->head = std::stoi(f.head);
    if (o->head > 15) return "--head needs all or a head number, 0 to 15 (got '" + f.head + "')";
    if (!o->vnc_address.empty()) return "--head needs a DOMAIN (a VNC server shows one head)";
    if (o->no_display) return "--no-display: no --head";
  }

  if (waits) {
    WaitSpec w;
    if (f.until_stable >= 0) {
      w.kind = WaitSpec::Kind::kStable;
      w.stable_s = f.until_stable;
      w.stability.psnr_db = f.psnr > 0 ? f.psnr : 0;
      w.stability.ignore = ignore;
      w.stability.ignore_blink = !f.no_blink_filter;
    } else if (!f.until_match.empty()) {
      w.kind = WaitSpec::Kind::kMatch;
      w.needle = f.until_match;
      if (f.threshold_given()) w.threshold = f.threshold;
    } else if (!f.until_text.empty()) {
      w.kind = WaitSpec::Kind::kText;
      w.regex = f.until_text;
    }
    w.region = region;
    w.timeout_s = o->timeout_s;
    w.snapshot = o->snapshot;
    // --until-serial waits on the console, not the screen (SerialSession).
    if (f.until_serial.empty()) o->wait = w;
  }
  o->region = region;
  o->areas = areas;
  o->ignore = ignore;
  o->text = f.text;
  if (f.audio && f.no_audio) return "--audio and --no-audio cannot be combined";
  o->audio = !f.no_audio;
  o->audio_required = f.audio;
  o->cursor = !f.no_cursor;
  const bool ci = waits || f.text || !o->needle_new.empty() || !o->snapshot.empty();

  o->until_serial = f.until_serial;
  if (via) {
    if (o->serial) return "--via: the serial console is not served through the control socket (use --serial on the capture)";
    if (!o->output.empty() || !o->control.empty() || f.audio)
      return "--via sends one request: no -o, --control or --audio";
    if (!ci) return "--via needs a request: --snapshot, --text, --needle-new or an --until-* wait";
    if (o->wait) {
      q->verb = ControlRequest::Verb::kWait;
      q->wait = *o->wait;
      q->region = region;
    } else if (f.text) {
      if (!o->snapshot.empty()) return "--via: --text and --snapshot are two requests; send them one by one";
      q->verb = ControlRequest::Verb::kText;
      q->region = region;
    } else if (!o->needle_new.empty()) {
      q->verb = ControlRequest::Verb::kNeedleNew;
      q->file = o->needle_new;
      q->areas = areas;
      q->ignore = ignore;
    } else {
      q->verb = ControlRequest::Verb::kSnapshot;
      q->file = o->snapshot;
    }
    return "";
  }
  // The CI modes write a stream only when asked to with -o; a control
  // socket alone keeps the capture running without one.
  o->stream = (!ci && o->control.empty()) || !o->output.empty();
  if (o->head > 0 && !o->stream)
    return "--head picks the stream's display channels; --snapshot, --text, --needle-new and the waits read head 0";
  if (!o->control.empty() && ci) return "--control serves requests: the one-off modes go through --via";
  if (o->serial && !o->stream && o->until_serial.empty() && o->control.empty())
    return "--serial adds a channel to a stream: not with --snapshot, --text or --needle-new alone";
  if (o->json && o->stream && (o->output.empty() || o->output == "-"))
    return "--json and a stream on stdout cannot be combined (use -o FILE)";
  if (o->text && o->stream && (o->output.empty() || o->output == "-"))
    return "--text and a stream on stdout cannot be combined (use -o FILE)";
  return "";
}

}  // namespace vredir
