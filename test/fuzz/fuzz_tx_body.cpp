// Fuzz target: a transaction as a client or a peer sends it (v1::Transaction) and its signed
// body (chain::TxBody::Parse), as the mempool and the executor decode them.
#include <cstddef>
#include <cstdint>

#include "node/chain/proto_adapter.h"
#include "node/chain/types.h"
#include "proto/chain.pb.h"
#include "test/fuzz/fuzz_common.h"

using namespace meterchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView bytes(data, size);
    // The bytes as a body.
    if (auto body = chain::TxBody::Parse(bytes); body.ok()) {
        const Bytes again = body->Serialize();
        auto reparsed = chain::TxBody::Parse(again);
        MC_FUZZ_CHECK(reparsed.ok());
        MC_FUZZ_CHECK(reparsed->Serialize() == again);
        MC_FUZZ_CHECK(reparsed->chain_id == body->chain_id);
        MC_FUZZ_CHECK(reparsed->nonce == body->nonce);
        MC_FUZZ_CHECK(reparsed->sender == body->sender);
    }
    // The bytes as a wire transaction: its hash, and its body.
    v1::Transaction pb;
    if (pb.ParseFromArray(data, static_cast<int>(size))) {
        const chain::Transaction tx = chain::FromProto(pb);
        (void)tx.Hash();
        (void)chain::TxBody::Parse(tx.body);
        const chain::Transaction back = chain::FromProto(chain::ToProto(tx));
        MC_FUZZ_CHECK(back.Hash() == tx.Hash());
    }
    return 0;
}
