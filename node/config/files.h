// Small file helpers for configuration and key material.
//
// Thread-safety: all functions are safe to call concurrently on different paths.
#pragma once

#include <string>

#include "node/base/status.h"

namespace meterchain::config {

// Reads a whole file. kNotFound when it does not exist, kIoError when it cannot be read; the
// message names `path`.
Result<std::string> ReadFileToString(const std::string& path);

// Creates `path` with mode 0600 (owner read/write only, whatever the umask) and writes
// `contents`, then flushes it to disk. Never overwrites: kAlreadyExists if the file exists.
// On a write failure the partial file is removed. For private keys; never log `contents`.
Status WritePrivateFile(const std::string& path, const std::string& contents);

// Creates or replaces `path` (mode 0644 less the umask) with `contents`. For public material:
// certificates, configuration, genesis.
Status WritePublicFile(const std::string& path, const std::string& contents);

// kFailedPrecondition when the file's group or others have any permission bit (a private key
// must be 0600 or 0400), kNotFound/kIoError when it cannot be inspected. The message names the
// path and the mode, and says how to fix it.
Status CheckPrivateFileMode(const std::string& path);

}  // namespace meterchain::config
