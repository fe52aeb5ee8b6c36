#include "node/daemon/genesis.h"

#include "contracts/builtin.h"
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
    g.block = MakeGenesisBlock(config.chain_id(), config.genesis_time_ms(), g.writes);
    return g;
}

}  // namespace meterchain::node
