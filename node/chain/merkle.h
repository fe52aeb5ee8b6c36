// SM3 Merkle tree over 32-byte leaves (transaction hashes), with inclusion proofs.
//
//   leaf node  = SM3(0x00 || leaf)
//   inner node = SM3(0x01 || left || right)
//   a node without a right sibling is promoted to the next level unchanged (no duplication,
//   so two different leaf lists never share a root);
//   the root of zero leaves is 32 zero bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/status.h"

namespace meterchain::chain {

struct MerkleProof {
    uint64_t leaf_index = 0;
    uint64_t leaf_count = 0;
    std::vector<Hash256> siblings;  // bottom-up; promoted levels contribute none
    bool operator==(const MerkleProof&) const = default;
};

Hash256 MerkleRoot(const std::vector<Hash256>& leaves);

// kInvalidArgument when index >= leaves.size().
Result<MerkleProof> BuildMerkleProof(const std::vector<Hash256>& leaves, uint64_t index);

// True when `proof` shows `leaf` at proof.leaf_index among proof.leaf_count leaves of `root`.
// The sibling sides are derived from index and count, so a proof cannot be replayed for a
// different position.
bool VerifyMerkleProof(const Hash256& leaf, const MerkleProof& proof, const Hash256& root);

}  // namespace meterchain::chain
