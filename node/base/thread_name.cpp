#include "node/base/thread_name.h"

#include <pthread.h>

namespace meterchain::base {

namespace {
constexpr size_t kMaxLen = 15;  // the kernel's TASK_COMM_LEN less the terminator
}  // namespace

void NameThisThread(const std::string& name) {
    (void)pthread_setname_np(pthread_self(), name.substr(0, kMaxLen).c_str());
}

ScopedThreadName::ScopedThreadName(const std::string& name) {
    char buf[kMaxLen + 1] = {};
    if (pthread_getname_np(pthread_self(), buf, sizeof buf) == 0) m_previous = buf;
    NameThisThread(name);
}

ScopedThreadName::~ScopedThreadName() {
    if (!m_previous.empty()) NameThisThread(m_previous);
}

}  // namespace meterchain::base
