#include "node/daemon/genesis.h"

#include "contracts/builtin.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/crypto/sm.h"
#include "node/executor/executor.h"

namespace meterchain::node {

Result<Genesis> LoadGenesis(const v1::NodeConfig& config) {
    auto text = config::ReadFileToString(config.genesis_file());
    if (!text.ok()) return text.status();
    Genesis g;
    g.registry = std::make_unique<contracts::Registry>();
    MC_RETURN_IF_ERROR(contracts::RegisterBuiltinContracts(*g.registry));
    auto contract_writes = contracts::GenesisWrites(*text);
    if (!contract_writes.ok()) {
        return Status(contract_writes.status().code(),
                      "genesis " + config.genesis_file() + ": " + contract_writes.status().message());
    }
    g.writes = std::move(*contract_writes);
    // The validator set is part of what every node must agree on from the start.
    std::string validators;
    for (const auto& v : config.validators()) {
        validators += v.name() + "|" + v.organisation() + "|" + v.role() + "|" + v.public_key() +
                      "\n";
    }
    g.writes.emplace("sys/chain_id", ToBytes(config.chain_id()));
    g.writes.emplace("sys/genesis_file_sm3", ToBytes(crypto::Sm3(*text)));
    g.writes.emplace("sys/validators", ToBytes(validators));
    g.block = executor::MakeGenesisBlock(config.chain_id(), config.genesis_time_ms(), g.writes);
    return g;
}

Result<std::unique_ptr<contracts::ValidationKey>> LoadNodeValidationKey(
    const v1::NodeConfig& config, const chain::WriteSet& genesis_writes) {
    contracts::MemoryState state;
    for (const auto& [key, value] : genesis_writes) {
        if (value) state.Put(key, *value);
    }
    if (!contracts::ChainValidationKeyCheck(state)) {
        return std::unique_ptr<contracts::ValidationKey>();  // no validation key on this chain
    }
    auto sm2 = config::LoadSm2KeyFile(config.key_file());
    if (!sm2.ok()) return sm2.status();
    auto k = contracts::LoadValidationKey(state, config.name(), *sm2);
    if (!k.ok()) {
        const StatusCode code = k.status().code() == StatusCode::kNotFound
                                    ? StatusCode::kFailedPrecondition
                                    : k.status().code();
        return Status(code, "genesis " + config.genesis_file() + ": " + k.status().message() +
                                "; without it this node could not validate public records "
                                "like the other validators");
    }
    return std::make_unique<contracts::ValidationKey>(std::move(*k));
}

}  // namespace meterchain::node
