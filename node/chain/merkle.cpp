#include "node/chain/merkle.h"

#include "node/crypto/sm.h"

namespace meterchain::chain {

namespace {

Hash256 LeafNode(const Hash256& leaf) {
    crypto::Sm3Hasher h;
    const uint8_t prefix = 0x00;
    h.Update(ByteView(&prefix, 1)).Update(leaf);
    return h.Final();
}

Hash256 InnerNode(const Hash256& left, const Hash256& right) {
    crypto::Sm3Hasher h;
    const uint8_t prefix = 0x01;
    h.Update(ByteView(&prefix, 1)).Update(left).Update(right);
    return h.Final();
}

// Replaces `level` with its parent level; a last unpaired node is promoted.
void Reduce(std::vector<Hash256>& level) {
    size_t out = 0;
    for (size_t i = 0; i < level.size(); i += 2) {
        level[out++] = (i + 1 < level.size()) ? InnerNode(level[i], level[i + 1]) : level[i];
    }
    level.resize(out);
}

std::vector<Hash256> LeafLevel(const std::vector<Hash256>& leaves) {
    std::vector<Hash256> level;
    level.reserve(leaves.size());
    for (const auto& leaf : leaves) level.push_back(LeafNode(leaf));
    return level;
}

}  // namespace

Hash256 MerkleRoot(const std::vector<Hash256>& leaves) {
    if (leaves.empty()) return Hash256{};
    std::vector<Hash256> level = LeafLevel(leaves);
    while (level.size() > 1) Reduce(level);
    return level[0];
}

Result<MerkleProof> BuildMerkleProof(const std::vector<Hash256>& leaves, uint64_t index) {
    if (index >= leaves.size()) {
        return InvalidArgument("leaf index " + std::to_string(index) + " out of range (" +
                               std::to_string(leaves.size()) + " leaves)");
    }
    MerkleProof proof;
    proof.leaf_index = index;
    proof.leaf_count = leaves.size();
    std::vector<Hash256> level = LeafLevel(leaves);
    uint64_t i = index;
    while (level.size() > 1) {
        const uint64_t sibling = i ^ 1;
        if (sibling < level.size()) proof.siblings.push_back(level[sibling]);
        Reduce(level);
        i /= 2;
    }
    return proof;
}

bool VerifyMerkleProof(const Hash256& leaf, const MerkleProof& proof, const Hash256& root) {
    if (proof.leaf_count == 0 || proof.leaf_index >= proof.leaf_count) return false;
    Hash256 node = LeafNode(leaf);
    uint64_t i = proof.leaf_index;
    uint64_t n = proof.leaf_count;
    size_t used = 0;
    while (n > 1) {
        const uint64_t sibling = i ^ 1;
        if (sibling < n) {
            if (used == proof.siblings.size()) return false;
            const Hash256& s = proof.siblings[used++];
            node = (i % 2 == 0) ? InnerNode(node, s) : InnerNode(s, node);
        }
        i /= 2;
        n = (n + 1) / 2;
    }
    return used == proof.siblings.size() && node == root;
}

}  // namespace meterchain::chain
