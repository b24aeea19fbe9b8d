// Exit codes shared by every vredir tool. They are interface: scripts test
// them, and every man page lists them under EXIT STATUS.
#pragma once

namespace vredir {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,
  kExitUsage = 2,
  kExitNotFound = 3,     // no such domain / app / user
  kExitDenied = 4,       // auth or permission denied
  kExitTimeout = 5,
  kExitPeerLost = 6,     // peer closed, connection lost, stream truncated
  kExitMalformed = 7,    // malformed stream or protocol violation
  kExitInterrupted = 130,
};

}  // namespace vredir
