#include "node/base/process.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace meterchain::base {

Result<pid_t> SpawnProcess(const std::string& path, const std::vector<std::string>& argv,
                           const std::string& log_path, uint64_t max_file_bytes) {
    // Everything the child needs is built before the fork: after it, in a threaded parent,
    // only async-signal-safe calls are allowed.
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return IoError(std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
        const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (max_file_bytes > 0) {
            const rlimit limit{static_cast<rlim_t>(max_file_bytes),
                               static_cast<rlim_t>(max_file_bytes)};
            setrlimit(RLIMIT_FSIZE, &limit);
        }
        execv(path.c_str(), args.data());
        _exit(127);
    }
    return pid;
}

}  // namespace meterchain::base
