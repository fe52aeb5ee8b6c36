// Conversion between the wire types of proto/chain.proto and the domain types.
// FromProto validates sizes (hashes 32 bytes) and returns kInvalidArgument otherwise.
#pragma once

#include "node/base/status.h"
#include "node/chain/merkle.h"
#include "node/chain/types.h"
#include "proto/chain.pb.h"

namespace meterchain::chain {

v1::Transaction ToProto(const Transaction& tx);
v1::BlockHeader ToProto(const BlockHeader& header);
v1::CommitCertificate ToProto(const CommitCertificate& cert);
v1::Block ToProto(const Block& block);
v1::MerkleProof ToProto(const MerkleProof& proof);

Transaction FromProto(const v1::Transaction& tx);
Result<BlockHeader> FromProto(const v1::BlockHeader& header);
Result<CommitCertificate> FromProto(const v1::CommitCertificate& cert);
Result<Block> FromProto(const v1::Block& block);
Result<MerkleProof> FromProto(const v1::MerkleProof& proof);

// Storage form of a block: the serialized v1::Block.
Bytes SerializeBlock(const Block& block);
Result<Block> ParseBlock(ByteView data);

}  // namespace meterchain::chain
