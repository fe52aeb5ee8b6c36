#include "consensus/ready.h"

#include <utility>

namespace meterchain::consensus {

void DrainReady(Core& core, ReadyHandler& handler) {
    while (handler.Running() && core.HasReady()) {
        Ready ready = core.TakeReady();
        if (!ready.durable.empty()) {
            bool sync = false;
            for (const auto& w : ready.durable) sync = sync || !w.lazy;
            handler.Persist(std::move(ready.durable), sync);
        }
        for (const auto& block : ready.committed) handler.Apply(block);
        for (auto& out : ready.messages) handler.Send(std::move(out));
        for (const auto& request : ready.serve) handler.Serve(request);
    }
}

}  // namespace meterchain::consensus
