// Fuzz target: the arguments of a contract call as a transaction carries them (a ContractCall
// payload, contracts::DispatchContractCall, what the executor runs) and as a client queries
// (Contract::Query), against the state of a real genesis (test/fuzz/contracts_genesis.json,
// written by `meterctl init-cluster`: public keys only). The input's first byte picks the
// calling organisation, so calls get past the permission checks into the argument decoding.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "contracts/builtin.h"
#include "contracts/contract.h"
#include "node/base/bytes.h"
#include "proto/chain.pb.h"
#include "test/fuzz/fuzz_common.h"

using namespace meterchain;

namespace {

struct World {
    contracts::Registry registry;
    chain::WriteSet genesis;
    std::vector<Bytes> senders;
};

const World& TheWorld() {
    static const World* world = [] {
        auto* w = new World();
        std::ifstream in(MC_SOURCE_DIR "/test/fuzz/contracts_genesis.json");
        std::stringstream text;
        text << in.rdbuf();
        auto parsed = contracts::ParseContractsGenesis(text.str());
        auto writes = contracts::GenesisWrites(text.str());
        if (!parsed.ok() || !writes.ok() ||
            !contracts::RegisterBuiltinContracts(w->registry).ok()) {
            std::fprintf(stderr, "fuzz_contract_call: cannot load contracts_genesis.json\n");
            std::abort();
        }
        w->genesis = std::move(*writes);
        for (const auto& org : parsed->organisations()) {
            if (auto key = FromHex(org.public_key())) w->senders.push_back(*key);
        }
        w->senders.push_back(Bytes(65, 4));  // an unregistered sender
        return w;
    }();
    return *world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const World& world = TheWorld();
    contracts::MemoryState state;
    for (const auto& [key, value] : world.genesis) {
        if (value) state.Put(key, *value);
    }
    contracts::CallContext ctx;
    ctx.chain_id = "fuzz-chain";
    ctx.sender = world.senders[data[0] % world.senders.size()];
    ctx.height = 7;
    ctx.block_timestamp_ms = 1'710'000'000'000;
    const ByteView payload(data + 1, size - 1);
    (void)contracts::DispatchContractCall(world.registry, ctx, payload, state);

    v1::ContractCall call;
    if (call.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        if (const contracts::Contract* contract = world.registry.Find(call.contract())) {
            (void)contract->Query(call.method(), AsBytes(call.args()), state);
        }
    }
    return 0;
}
