// Handling a Core's Ready in the order pbft.h requires, written once for every driver of a
// Core (the node daemon, the simulator): the durable records first (synced when any of them is
// not lazy), then the committed blocks are applied, then the messages sent, then the block
// requests of peers served. A driver supplies the four steps; DrainReady supplies the order.
#pragma once

#include <vector>

#include "consensus/pbft.h"

namespace meterchain::consensus {

class ReadyHandler {
public:
    virtual ~ReadyHandler() = default;
    // Persists `writes` (never empty). With `sync`, they must be durable when this returns,
    // together with any lazy records persisted before; without, they may wait for the next
    // synced write. A driver that cannot persist must stop before anything is sent.
    virtual void Persist(std::vector<DurableWrite> writes, bool sync) = 0;
    // A block the core committed, in height order.
    virtual void Apply(const chain::Block& block) = 0;
    virtual void Send(Outbound message) = 0;
    // A peer asked for committed blocks (answer with a BlockResponse from storage).
    virtual void Serve(const ServeRequest& request) = 0;
    // Whether to keep draining (a simulated node that crashed meanwhile stops).
    virtual bool Running() const { return true; }
};

// Takes every Ready the core has and hands its parts to `handler` in the order above.
void DrainReady(Core& core, ReadyHandler& handler);

}  // namespace meterchain::consensus
