// Starting a child process whose output goes to a log file: the one fork/exec of the project,
// used by the end-to-end test harness and the benchmark to run meterchaind.
//
// Errors: kIoError when the process cannot be created. A program that cannot be executed is
// reported by the child's exit status 127 (as a shell does), not here: exec happens after
// the fork. The caller owns the child: it must reap it (waitpid) or it stays a zombie.
// Thread-safety: safe to call from any thread; the child only calls async-signal-safe
// functions between fork and exec.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <string>
#include <vector>

#include "node/base/status.h"

namespace meterchain::base {

// Runs `path` with `argv` (argv[0] included, e.g. the program's name), stdout and stderr
// appended to `log_path` (created with mode 0644 if missing). Returns the child's pid.
// `max_file_bytes` > 0 sets the child's RLIMIT_FSIZE (a full disk, for fault tests).
Result<pid_t> SpawnProcess(const std::string& path, const std::vector<std::string>& argv,
                           const std::string& log_path, uint64_t max_file_bytes = 0);

}  // namespace meterchain::base
