#include "node/base/thread_name.h"

#include <pthread.h>

namespace meterchain::base {

void NameThisThread(const std::string& name) {
    constexpr size_t kMaxLen = 15;  // the kernel's TASK_COMM_LEN less the terminator
    (void)pthread_setname_np(pthread_self(), name.substr(0, kMaxLen).c_str());
}

}  // namespace meterchain::base
