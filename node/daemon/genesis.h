// The genesis of a chain: the contracts it runs and the state they start from, built from the
// configuration's genesis file (identical on every node, so every node computes the same
// genesis block and hash).
#pragma once

#include <memory>

#include "contracts/contract.h"
#include "node/base/status.h"
#include "node/chain/state.h"
#include "node/chain/types.h"
#include "proto/config.pb.h"

namespace meterchain::node {

struct Genesis {
    std::unique_ptr<contracts::Registry> registry;
    chain::WriteSet writes;
    chain::Block block;
};

// Reads config.genesis_file, registers the built-in contracts and computes their genesis
// state. Errors name the file and the bad value.
Result<Genesis> LoadGenesis(const v1::NodeConfig& config);

}  // namespace meterchain::node
