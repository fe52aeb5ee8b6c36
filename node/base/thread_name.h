// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb show what each of a
// node's threads is for ("mc-pool", "mc-consensus", ...). Linux keeps at most 15 characters;
// a longer name is cut. Naming is best effort: a failure changes nothing else.
#pragma once

#include <string>

namespace meterchain::base {

void NameThisThread(const std::string& name);

// Names the calling thread for a scope (a gRPC thread while it serves one long stream) and
// gives it back its previous name at the end.
class ScopedThreadName {
public:
    explicit ScopedThreadName(const std::string& name);
    ~ScopedThreadName();
    ScopedThreadName(const ScopedThreadName&) = delete;
    ScopedThreadName& operator=(const ScopedThreadName&) = delete;

private:
    std::string m_previous;
};

}  // namespace meterchain::base
