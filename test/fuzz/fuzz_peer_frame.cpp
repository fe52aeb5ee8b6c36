// Fuzz target: a frame of a peer stream (v1::PeerFrame), decoded as the peer transport does:
// a consensus message through net::FromProto, forwarded transactions through chain::FromProto
// and their bodies through TxBody::Parse (the mempool's first step).
#include <cstddef>
#include <cstdint>

#include "consensus/messages.h"
#include "node/chain/proto_adapter.h"
#include "node/chain/types.h"
#include "node/net/wire.h"
#include "proto/node.pb.h"
#include "test/fuzz/fuzz_common.h"

using namespace meterchain;

namespace {

void Transaction(const v1::Transaction& pb) {
    const chain::Transaction tx = chain::FromProto(pb);
    (void)tx.Hash();
    (void)chain::TxBody::Parse(tx.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    v1::PeerFrame frame;
    if (!frame.ParseFromArray(data, static_cast<int>(size))) return 0;
    if (frame.has_hello()) {
        const auto& hello = frame.hello();
        (void)hello.chain_id().size();
        (void)hello.nonce().size();
    } else if (frame.has_message()) {
        auto message = net::FromProto(frame.message());
        if (message.ok()) (void)consensus::Sender(*message);
    } else if (frame.has_forwarded_tx()) {
        Transaction(frame.forwarded_tx());
    } else if (frame.has_forwarded_txs()) {
        for (const auto& tx : frame.forwarded_txs().transactions()) Transaction(tx);
    }
    return 0;
}
