// Fuzz target: a stored or fetched block (chain::ParseBlock, the storage form a peer's
// BLOCK-RESPONSE also carries) and a header's canonical encoding (BlockHeader::Decode).
#include <cstddef>
#include <cstdint>

#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/chain/types.h"
#include "test/fuzz/fuzz_common.h"

using namespace meterchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView bytes(data, size);
    if (auto block = chain::ParseBlock(bytes); block.ok()) {
        (void)block->Hash();
        (void)chain::MerkleRoot(block->TxHashes());
        const Bytes stored = chain::SerializeBlock(*block);
        auto again = chain::ParseBlock(stored);
        MC_FUZZ_CHECK(again.ok());
        MC_FUZZ_CHECK(*again == *block);
        MC_FUZZ_CHECK(again->Hash() == block->Hash());
    }
    if (auto header = chain::BlockHeader::Decode(bytes); header.ok()) {
        const Bytes encoded = header->Encode();
        auto again = chain::BlockHeader::Decode(encoded);
        MC_FUZZ_CHECK(again.ok());
        MC_FUZZ_CHECK(*again == *header);
    }
    return 0;
}
