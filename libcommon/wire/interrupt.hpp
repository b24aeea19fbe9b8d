// How a blocking read in the wire layer learns that the user asked to stop.
// wire installs no signal handler of its own: the program registers a check
// (sys/signals.hpp does when it installs its handlers), and a read that a
// signal cut short (EINTR) asks it whether to give up or read again.
#pragma once

namespace vredir {

using InterruptCheck = bool (*)();

void set_interrupt_check(InterruptCheck check);
// True when a check is registered and says the user asked to stop.
bool interrupt_requested();

}  // namespace vredir
