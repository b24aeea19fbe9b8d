// SIGINT and SIGTERM as a flag: long-running loops poll interrupted() and
// end with kExitInterrupted. Installing the handlers also registers the flag
// with the wire layer, so its blocking reads stop on the same signals.
#pragma once

namespace vredir {

void install_interrupt_handlers();
bool interrupted();

}  // namespace vredir
