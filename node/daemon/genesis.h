// The genesis of a chain: the contracts it runs and the state they start from, built from the
// configuration's genesis file (identical on every node, so every node computes the same
// genesis block and hash).
#pragma once

#include <memory>

#include "contracts/contract.h"
#include "contracts/validation_key.h"
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

// This node's copy of the chain validation key K (docs/CONTRACTS.md, "Validation key"): the
// copy wrapped for config.name() in the genesis writes, unwrapped with the node's SM2 key
// (config.key_file). nullptr when the genesis has no validation key (public records are then
// refused on every node alike). Errors: kFailedPrecondition when the genesis has validation
// keys but none for this node, which could then not execute public-record uploads like the
// others and would diverge; kUnauthenticated / kFailedPrecondition when its copy does not
// unwrap to the chain's K.
Result<std::unique_ptr<contracts::ValidationKey>> LoadNodeValidationKey(
    const v1::NodeConfig& config, const chain::WriteSet& genesis_writes);

}  // namespace meterchain::node
