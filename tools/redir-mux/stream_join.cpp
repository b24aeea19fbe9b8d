#include "stream_join.hpp"

#include <algorithm>
#include <charconv>

namespace vredir::stream {

namespace {

// Worse reasons win when the inputs' END frames are combined.
int severity(EndReason r) {
  switch (r) {
    case EndReason::kNormal: return 0;
    case EndReason::kSourceGone: return 1;
    case EndReason::kInterrupted: return 2;
    case EndReason::kDenied: return 3;
    case EndReason::kError: return 4;
  }
  return 4;
}

std::optional<uint16_t> lowest_free(const std::set<uint16_t>& used, uint16_t wanted) {
  if (wanted != 0 && !used.count(wanted)) return wanted;
  for (uint32_t id = 1; id <= 0xffff; ++id)
    if (!used.count(static_cast<uint16_t>(id))) return static_cast<uint16_t>(id);
  return std::nullopt;
}

bool parse_u16(const std::string& s, uint16_t* out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 0xffff) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

// --- StreamJoiner -------------------------------------------------------------

StreamJoiner::StreamJoiner(StreamWriter* out, std::vector<JoinInput> inputs) : out_(out) {
  for (auto& in : inputs) {
    InputState s;
    s.info = std::move(in);
    state_.push_back(std::move(s));
  }
}

Status StreamJoiner::begin(const std::string& producer) {
  out_->set_fixed_time(0);
  return out_->begin(producer, {{"inputs", std::to_string(state_.size())}});
}

uint64_t StreamJoiner::timestamp(size_t input, uint64_t ts_us, uint64_t now_us) {
  InputState& s = state_.at(input);
  if (!s.started) {
    s.started = true;
    // A file keeps its own timestamps; a live input starts at its arrival.
    s.offset = s.info.live ? static_cast<int64_t>(now_us) - static_cast<int64_t>(ts_us) : 0;
  }
  int64_t t = static_cast<int64_t>(ts_us) + s.offset;
  return std::max<uint64_t>(t < 0 ? 0 : static_cast<uint64_t>(t), last_ts_);
}

Status StreamJoiner::close_all(size_t input) {
  InputState& s = state_.at(input);
  for (auto [orig, joined] : s.ids) {
    owner_.erase(joined);
    out_->set_fixed_time(last_ts_);
    if (Status st = out_->close_channel(joined); !st) return st;
  }
  s.ids.clear();
  return Status::ok();
}

Status StreamJoiner::add(size_t input, const Event& ev, uint64_t now_us) {
  InputState& s = state_.at(input);
  if (s.ended) return Status::ok();
  const uint64_t ts = timestamp(input, ev.frame.header.timestamp_us, now_us);
  last_ts_ = ts;
  const FrameType type = ev.type();
  const uint16_t ch = ev.frame.header.channel;
  out_->set_fixed_time(ts);

  if (ch == 0) {
    if (type == FrameType::kHello || ev.what != Event::What::kFrame) return Status::ok();
    if (type == FrameType::kEnd) {
      const End& e = std::get<End>(ev.payload);
      s.ended = true;
      s.reason = e.reason;
      s.message = e.message;
      return close_all(input);
    }
    if (type == FrameType::kDeclare) {
      Declare d = std::get<Declare>(ev.payload);
      std::set<uint16_t> used;
      for (const auto& [id, _] : owner_) used.insert(id);
      auto id = lowest_free(used, d.id);
      if (!id || owner_.size() >= kMaxChannels)
        return fail(kExitMalformed, s.info.label + ": too many channels in the joined stream");
      s.ids[d.id] = *id;
      owner_[*id] = {input, d.id};
      kinds_[*id] = d.kind;
      // display=N on an output channel (a cursor) names a channel of the same
      // input; on an input channel (a pointer) it names a display of the
      // other direction, which keeps its meaning.
      const bool input_kind = ev.channel && ev.channel->is_input();
      uint16_t ref = 0;
      if (auto p = d.params.find("display"); !input_kind && p != d.params.end() && parse_u16(p->second, &ref))
        if (auto r = s.ids.find(ref); r != s.ids.end()) p->second = std::to_string(r->second);
      // Where it came from, as far as the format's limits allow.
      d.params.erase("input");
      d.params.erase("source");
      if (d.params.size() + 2 <= kMaxParams) {
        d.params["input"] = std::to_string(input);
        d.params["source"] = s.info.label.substr(0, kMaxParamValue);
      }
      d.id = *id;
      return out_->declare_raw(d);
    }
    return Status::ok();
  }

  auto it = s.ids.find(ch);
  if (it == s.ids.end()) return Status::ok();  // the decoder saw it declared; nothing to do
  const uint16_t joined = it->second;
  if (type == FrameType::kClose) {
    owner_.erase(joined);
    s.ids.erase(it);
    return out_->close_channel(joined);
  }
  std::string_view payload(reinterpret_cast<const char*>(ev.frame.payload.data()), ev.frame.payload.size());
  if (type == FrameType::kAck && ev.what == Event::What::kFrame && ack_map_) {
    Ack a = std::get<Ack>(ev.payload);
    if (auto mapped = ack_map_(input, a.channel)) {
      a.channel = *mapped;
      scratch_.clear();
      encode_ack(a, scratch_);
      payload = scratch_;
    }
  }
  return out_->frame_at(ts, joined, type, payload, ev.frame.header.flags);
}

Status StreamJoiner::end_input(size_t input, EndReason reason, const std::string& message) {
  InputState& s = state_.at(input);
  if (s.ended) return Status::ok();
  s.ended = true;
  s.reason = reason;
  s.message = message;
  return close_all(input);
}

bool StreamJoiner::all_ended() const {
  return std::all_of(state_.begin(), state_.end(), [](const InputState& s) { return s.ended; });
}

EndReason StreamJoiner::final_reason() const {
  EndReason worst = EndReason::kNormal;
  for (const auto& s : state_)
    if (severity(s.reason) > severity(worst)) worst = s.reason;
  return worst;
}

Status StreamJoiner::finish() {
  std::string message;
  for (size_t i = 0; i < state_.size(); ++i) {
    const InputState& s = state_[i];
    if (s.reason == EndReason::kNormal && s.message.empty()) continue;
    if (!message.empty()) message += "; ";
    message += s.info.label + ": " + end_reason_name(s.reason);
    if (!s.message.empty()) message += " (" + s.message + ")";
  }
  out_->set_fixed_time(last_ts_);
  return out_->end(final_reason(), message);
}

std::optional<std::pair<size_t, uint16_t>> StreamJoiner::origin(uint16_t joined) const {
  auto it = owner_.find(joined);
  if (it == owner_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint8_t> StreamJoiner::kind_of(uint16_t joined) const {
  auto it = kinds_.find(joined);
  if (it == kinds_.end() || !owner_.count(joined)) return std::nullopt;
  return it->second;
}

std::optional<uint16_t> StreamJoiner::joined_id(size_t input, uint16_t original) const {
  const auto& ids = state_.at(input).ids;
  auto it = ids.find(original);
  if (it == ids.end()) return std::nullopt;
  return it->second;
}

// --- UpstreamRouter -----------------------------------------------------------

UpstreamRouter::UpstreamRouter(const StreamJoiner* joiner, std::vector<StreamWriter*> writers) : joiner_(joiner) {
  for (auto* w : writers) {
    Target t;
    t.writer = w;
    targets_.push_back(std::move(t));
  }
}

std::optional<size_t> UpstreamRouter::target_of(const Channel& ch) const {
  if (ch.fixed) return ch.fixed;
  if (focus_) return focus_;
  for (size_t i = 0; i < targets_.size(); ++i)
    if (targets_[i].writer) return i;
  return std::nullopt;
}

Status UpstreamRouter::ensure_declared(uint16_t id, Channel& ch, size_t input, uint16_t* there) {
  if (auto it = ch.declared.find(input); it != ch.declared.end()) {
    *there = it->second;
    return Status::ok();
  }
  Target& t = targets_[input];
  if (!t.begun) {
    t.begun = true;
    if (Status st = t.writer->begin("redir-mux"); !st) return st;
  }
  auto free = lowest_free(t.used, ch.original ? *ch.original : id);
  if (!free) return fail(kExitMalformed, "upstream: too many channels");
  Declare d = ch.declare;
  d.id = *free;
  t.used.insert(*free);
  t.back[*free] = id;
  ch.declared[input] = *free;
  *there = *free;
  return t.writer->declare_raw(d);
}

Status UpstreamRouter::add(const Event& ev) {
  const FrameType type = ev.type();
  const uint16_t id = ev.frame.header.channel;
  if (id == 0) {
    if (type == FrameType::kDeclare && ev.what == Event::What::kFrame) {
      Channel ch;
      ch.declare = std::get<Declare>(ev.payload);
      uint16_t ref = 0;
      auto p = ch.declare.params.find("display");
      auto k = ch.declare.params.find("input");
      if (p != ch.declare.params.end() && parse_u16(p->second, &ref) && joiner_->origin(ref)) {
        // The owner gets its own display id back.
        ch.fixed = joiner_->origin(ref)->first;
        p->second = std::to_string(joiner_->origin(ref)->second);
      } else if (k != ch.declare.params.end() && parse_u16(k->second, &ref) && ref < targets_.size()) {
        ch.fixed = ref;
      } else if (auto o = joiner_->origin(ch.declare.id); o && joiner_->kind_of(ch.declare.id) == ch.declare.kind) {
        ch.fixed = o->first;
        ch.original = o->second;
      }
      channels_[ch.declare.id] = std::move(ch);
    } else if (type == FrameType::kEnd && ev.what == Event::What::kFrame) {
      const End& e = std::get<End>(ev.payload);
      return finish(e.reason, e.message);
    }
    return Status::ok();
  }
  auto it = channels_.find(id);
  if (it == channels_.end()) return Status::ok();
  Channel& ch = it->second;
  if (type == FrameType::kClose) {
    for (auto [input, there] : ch.declared) {
      targets_[input].used.erase(there);
      targets_[input].back.erase(there);
      targets_[input].writer->set_fixed_time(ev.frame.header.timestamp_us);
      if (Status st = targets_[input].writer->close_channel(there); !st) return st;
    }
    channels_.erase(it);
    return Status::ok();
  }
  auto target = target_of(ch);
  if (!target || !targets_[*target].writer) {
    ++dropped_;
    return Status::ok();
  }
  if ((type == FrameType::kPointer || type == FrameType::kPointerRel) && ch.fixed) focus_ = ch.fixed;
  targets_[*target].writer->set_fixed_time(ev.frame.header.timestamp_us);
  uint16_t there = 0;
  if (Status st = ensure_declared(id, ch, *target, &there); !st) return st;
  std::string_view payload(reinterpret_cast<const char*>(ev.frame.payload.data()), ev.frame.payload.size());
  return targets_[*target].writer->frame_at(ev.frame.header.timestamp_us, there, type, payload,
                                            ev.frame.header.flags);
}

Status UpstreamRouter::finish(EndReason reason, const std::string& message) {
  Status result;
  for (auto& t : targets_) {
    if (!t.begun || t.writer->ended()) continue;
    Status st = t.writer->end(reason, message);
    if (!st && result) result = st;
  }
  return result;
}

std::optional<uint16_t> UpstreamRouter::consumer_id(size_t input, uint16_t channel) const {
  if (input >= targets_.size()) return std::nullopt;
  const auto& back = targets_[input].back;
  auto it = back.find(channel);
  if (it == back.end()) return std::nullopt;
  return it->second;
}

// --- SplitRoutes --------------------------------------------------------------

bool SplitRoutes::add(const std::string& spec, std::string* err) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    *err = "route '" + spec + "' is not MATCH=TARGET";
    return false;
  }
  SplitRoute r;
  r.target = spec.substr(eq + 1);
  std::string list = spec.substr(0, eq);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string m = list.substr(start, comma - start);
    if (m.empty()) {
      *err = "route '" + spec + "' has an empty match";
      return false;
    }
    r.matches.push_back(m);
    start = comma + 1;
  }
  if (r.target.rfind("exec:", 0) == 0 && r.target.size() == 5) {
    *err = "route '" + spec + "' has an empty command";
    return false;
  }
  routes_.push_back(std::move(r));
  return true;
}

std::optional<size_t> SplitRoutes::route(const Declare& d) const {
  const char* kind = kind_name(static_cast<ChannelKind>(d.kind));
  for (size_t i = 0; i < routes_.size(); ++i)
    for (const auto& m : routes_[i].matches)
      if (m == "*" || (kind && m == kind) || m == d.name || m == std::to_string(d.id)) return i;
  return std::nullopt;
}

}  // namespace vredir::stream
