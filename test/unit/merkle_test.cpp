#include <catch2/catch.hpp>

#include "node/chain/merkle.h"
#include "node/crypto/sm.h"

using namespace meterchain;
using namespace meterchain::chain;

namespace {
std::vector<Hash256> Leaves(size_t n) {
    std::vector<Hash256> out;
    for (size_t i = 0; i < n; ++i) out.push_back(crypto::Sm3("leaf " + std::to_string(i)));
    return out;
}
}  // namespace

TEST_CASE("merkle root of zero leaves is all zero and of one leaf is the leaf node", "[merkle]") {
    CHECK(MerkleRoot({}) == Hash256{});
    auto one = Leaves(1);
    Bytes leaf_node{0x00};
    leaf_node.insert(leaf_node.end(), one[0].begin(), one[0].end());
    CHECK(MerkleRoot(one) == crypto::Sm3(leaf_node));
}

TEST_CASE("merkle inner nodes are domain separated from leaves", "[merkle]") {
    // A two-leaf root must differ from the hash of the concatenated leaves and from a tree
    // whose single leaf is the inner node (second-preimage defence).
    auto two = Leaves(2);
    Hash256 root = MerkleRoot(two);
    Bytes concat(two[0].begin(), two[0].end());
    concat.insert(concat.end(), two[1].begin(), two[1].end());
    CHECK(root != crypto::Sm3(concat));
    CHECK(MerkleRoot({root}) != root);
}

TEST_CASE("merkle proofs verify for every leaf of trees of many sizes", "[merkle]") {
    for (size_t n : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 16u, 17u, 33u, 100u}) {
        auto leaves = Leaves(n);
        Hash256 root = MerkleRoot(leaves);
        for (size_t i = 0; i < n; ++i) {
            auto proof = BuildMerkleProof(leaves, i);
            REQUIRE(proof.ok());
            INFO("n=" << n << " i=" << i);
            CHECK(VerifyMerkleProof(leaves[i], *proof, root));
        }
    }
}

TEST_CASE("merkle proofs are rejected for a wrong leaf, position, count, sibling or root",
          "[merkle]") {
    auto leaves = Leaves(11);
    Hash256 root = MerkleRoot(leaves);
    auto proof = *BuildMerkleProof(leaves, 6);
    REQUIRE(VerifyMerkleProof(leaves[6], proof, root));

    CHECK_FALSE(VerifyMerkleProof(leaves[5], proof, root));
    auto moved = proof;
    moved.leaf_index = 7;
    CHECK_FALSE(VerifyMerkleProof(leaves[6], moved, root));
    // The root does not commit to the leaf count; a different count is rejected whenever it
    // changes the path (here leaf 6 would be the unpaired last leaf of 7).
    auto recount = proof;
    recount.leaf_count = 7;
    CHECK_FALSE(VerifyMerkleProof(leaves[6], recount, root));
    auto tampered = proof;
    tampered.siblings[1][0] ^= 1;
    CHECK_FALSE(VerifyMerkleProof(leaves[6], tampered, root));
    auto extra = proof;
    extra.siblings.push_back(root);
    CHECK_FALSE(VerifyMerkleProof(leaves[6], extra, root));
    auto shorter = proof;
    shorter.siblings.pop_back();
    CHECK_FALSE(VerifyMerkleProof(leaves[6], shorter, root));
    Hash256 other_root = root;
    other_root[31] ^= 1;
    CHECK_FALSE(VerifyMerkleProof(leaves[6], proof, other_root));
    CHECK_FALSE(BuildMerkleProof(leaves, 11).ok());
}

TEST_CASE("merkle root changes with order and with an appended duplicate leaf", "[merkle]") {
    auto leaves = Leaves(3);
    Hash256 root = MerkleRoot(leaves);
    auto swapped = leaves;
    std::swap(swapped[0], swapped[1]);
    CHECK(MerkleRoot(swapped) != root);
    auto dup = leaves;
    dup.push_back(leaves[2]);  // the duplication attack on promote-by-duplication trees
    CHECK(MerkleRoot(dup) != root);
}
