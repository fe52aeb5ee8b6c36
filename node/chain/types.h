// Domain types of the chain (transactions, headers, blocks, commit certificates) and the
// canonical bytes that are hashed and signed for each. Wire conversion is in proto_adapter.h.
//
// Hashes (docs/ENCODING.md):
//   tx hash     = SM3(body)                       body = serialized TxBody as signed
//   tx signed   = SM2(codec: "meterchain/tx/v1", body)
//   block hash  = SM3(BlockHeader::Encode())
//   commit vote = SM2(CommitVoteBytes(chain_id, height, view, block hash))
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/crypto/signer.h"

namespace meterchain::chain {

inline constexpr size_t kPublicKeySize = 65;
inline constexpr size_t kMaxTxBodySize = 256 * 1024;
inline constexpr size_t kMaxSignatureSize = 80;  // DER SM2 signatures are at most 72 bytes

enum class TxType : uint32_t {
    kUnspecified = 0,
    kStatePut = 1,
    kContractCall = 2,
};

// The signed content of a transaction, decoded.
struct TxBody {
    std::string chain_id;
    uint32_t type = 0;
    Bytes payload;
    Bytes sender;  // raw SM2 public key (65 bytes)
    uint64_t nonce = 0;
    uint64_t timestamp_ms = 0;

    // Serializes as the protobuf TxBody (what a client signs).
    Bytes Serialize() const;
    // Parses a serialized TxBody; kInvalidArgument on malformed input or bad field sizes.
    static Result<TxBody> Parse(ByteView body);
};

// The SM3 of a transaction body, remembered with a fast fingerprint of the bytes it was
// computed over: a body changed in place afterwards no longer matches and is hashed again.
// Copies carry it along. Never part of a transaction's value (compares equal always).
struct TxHashMemo {
    bool set = false;
    uint64_t fingerprint = 0;
    Hash256 hash{};
    friend bool operator==(const TxHashMemo&, const TxHashMemo&) { return true; }
};

// A transaction as it travels and is stored: the body bytes exactly as signed.
struct Transaction {
    Transaction() = default;
    Transaction(Bytes body_bytes, Bytes signature_bytes)
        : body(std::move(body_bytes)), signature(std::move(signature_bytes)) {}

    Bytes body;
    Bytes signature;
    TxHashMemo memo;

    // SM3(body). Costs a fingerprint of the body (much cheaper than SM3) when RememberHash()
    // was called on this transaction or on what it was copied from.
    Hash256 Hash() const;
    // Computes the hash and keeps it in `memo`. Like any mutation, not concurrently with
    // other uses of this object. Done where transactions are made or arrive (wire, storage,
    // signing, the mempool), so that the many later Hash() calls are cheap.
    void RememberHash();
    bool operator==(const Transaction&) const = default;
};

// The bytes an SM2 transaction signature covers.
Bytes TxSigningBytes(ByteView body);

// Serializes `body` and signs it with `signer`; body.sender is set to the signer's key.
Transaction SignTransaction(TxBody body, const crypto::Signer& signer);

// Parses the body and checks the signature against body.sender. On success returns the body.
// Errors: kInvalidArgument (malformed, oversized), kUnauthenticated (bad signature).
Result<TxBody> VerifyTransaction(const Transaction& tx, const crypto::Verifier& verifier);

struct BlockHeader {
    uint64_t height = 0;
    Hash256 prev_hash{};
    Hash256 tx_root{};
    Hash256 state_root{};
    uint32_t proposer = 0;
    uint64_t view = 0;
    uint64_t timestamp_ms = 0;
    std::string chain_id;

    // Canonical encoding: tag "meterchain/header/v1", chain_id, height, prev_hash, tx_root,
    // state_root, proposer, view, timestamp_ms.
    Bytes Encode() const;
    static Result<BlockHeader> Decode(ByteView encoded);
    Hash256 Hash() const;
    bool operator==(const BlockHeader&) const = default;
};

struct CommitSignature {
    uint32_t validator = 0;
    Bytes signature;
    bool operator==(const CommitSignature&) const = default;
};

struct CommitCertificate {
    uint64_t height = 0;
    uint64_t view = 0;
    Hash256 block_hash{};
    std::vector<CommitSignature> signatures;
    bool operator==(const CommitCertificate&) const = default;
};

// The bytes a validator signs to commit a block.
Bytes CommitVoteBytes(const std::string& chain_id, uint64_t height, uint64_t view,
                      const Hash256& block_hash);

struct Block {
    BlockHeader header;
    std::vector<Transaction> transactions;
    CommitCertificate certificate;

    Hash256 Hash() const { return header.Hash(); }
    std::vector<Hash256> TxHashes() const;
    bool operator==(const Block&) const = default;
};

// The outcome of executing one transaction; stored with the transaction index.
struct Receipt {
    uint32_t code = 0;  // 0 = success; otherwise a contract-defined failure code
    std::string message;
    bool operator==(const Receipt&) const = default;
};

// Checks that the header's tx_root matches the block's transactions.
Status CheckTxRoot(const Block& block);

// Checks what a block says about itself: tx_root matches its transactions and the
// certificate names this block's height and hash. (Signatures: see validators.h.)
Status CheckBlockIntegrity(const Block& block);

}  // namespace meterchain::chain
