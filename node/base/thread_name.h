// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb show what each of a
// node's threads is for ("mc-pool", "mc-consensus", ...). Linux keeps at most 15 characters;
// a longer name is cut. Naming is best effort: a failure changes nothing else.
#pragma once

#include <string>

namespace meterchain::base {

void NameThisThread(const std::string& name);

}  // namespace meterchain::base
