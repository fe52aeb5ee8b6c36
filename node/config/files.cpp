#include "node/config/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace meterchain::config {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Writes everything or fails; write(2) may write less than asked.
bool WriteAll(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

Status WriteWithFlags(const std::string& path, const std::string& contents, int flags,
                      mode_t mode, bool exact_mode) {
    const int fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST) {
            return Status(StatusCode::kAlreadyExists,
                          path + " already exists; refusing to overwrite it");
        }
        return IoError(Errno("cannot create " + path));
    }
    // The umask can only remove bits, but a umask such as 0277 would leave a key unwritable
    // by its owner; set the exact mode so the result does not depend on the environment.
    bool ok = !exact_mode || ::fchmod(fd, mode) == 0;
    ok = ok && WriteAll(fd, contents) && ::fsync(fd) == 0;
    const std::string error = ok ? std::string() : Errno("cannot write " + path);
    if (::close(fd) != 0 && ok) {
        ::unlink(path.c_str());
        return IoError(Errno("cannot write " + path));
    }
    if (!ok) {
        ::unlink(path.c_str());
        return IoError(error);
    }
    return Status::Ok();
}

}  // namespace

Result<std::string> ReadFileToString(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return NotFound(path + ": no such file");
        return IoError(Errno("cannot read " + path));
    }
    if (S_ISDIR(st.st_mode)) return IoError("cannot read " + path + ": it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) return IoError(Errno("cannot open " + path));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return IoError("cannot read " + path);
    return buffer.str();
}

Status WritePrivateFile(const std::string& path, const std::string& contents) {
    return WriteWithFlags(path, contents, O_CREAT | O_EXCL, 0600, true);
}

Status WritePublicFile(const std::string& path, const std::string& contents) {
    return WriteWithFlags(path, contents, O_CREAT | O_TRUNC, 0644, false);
}

Status CheckPrivateFileMode(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return NotFound(path + ": no such file");
        return IoError(Errno("cannot inspect " + path));
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return FailedPrecondition(path + " is accessible by group or others (mode " + mode +
                                  "); run: chmod 600 " + path);
    }
    return Status::Ok();
}

}  // namespace meterchain::config
