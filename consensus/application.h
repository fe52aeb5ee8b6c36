// What the consensus core asks of the replicated application (the executor in node/, a
// deterministic stand-in in the simulator).
#pragma once

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/types.h"

namespace meterchain::consensus {

class Application {
public:
    virtual ~Application() = default;

    // Executes `block` on top of the state after its parent (block.header.prev_hash), which is
    // the committed tip or a block this application executed before. header.state_root is
    // ignored; the resulting state root is returned. An error means the block is invalid (a
    // transaction with a bad signature, a duplicate or replayed transaction, a timestamp out of
    // bounds) and the proposal must be rejected. The application keeps the result (keyed by the
    // block hash with the returned root filled in) so that children can build on it and a later
    // commit applies it. Must be deterministic: same parent state and block, same answer.
    virtual Result<Hash256> Execute(const chain::Block& block) = 0;
};

}  // namespace meterchain::consensus
