// The chain validation key K (CON-1 with CON-3, docs/CONTRACTS.md "Validation key").
//
// The Validity contract must check the full content of public records on every node, yet no
// record may travel or rest on chain in clear. K is a 32-byte Seal key shared by the validators:
// genesis carries it SM2-wrapped for each of them (ContractsGenesis.validation_keys) with a key
// check value; each node unwraps its copy with its own SM2 key at start-up. An uploader seals
// the record under a fresh record key as before (`sealed`, for the authorised readers) and adds
// a validation envelope, Seal(K, record key + record id), so the contract on every node can
// open `sealed`, validate the plaintext and forget it.
//
// State written by genesis:
//   governance/validation/key/<holder>   WrappedKey (K wrapped for one validator)
//   governance/validation/check          32 bytes, ValidationKeyCheck(K)
//
// Thread-safety: ValidationKey is immutable after construction; free functions are pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "contracts/contract.h"
#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/crypto/sm.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

inline constexpr size_t kValidationKeySize = crypto::kSealKeySize;
inline constexpr std::string_view kValidationCheckStateKey = "governance/validation/check";
std::string ValidationKeyStateKey(std::string_view holder);

// HMAC-SM3(K, Text("meterchain/validation-key/check/v1")): identifies K without revealing it.
Hash256 ValidationKeyCheck(ByteView key);

// AAD of a validation envelope: Text("meterchain/validation/v1") Text(chain_id) U32(type).
Bytes ValidationAad(std::string_view chain_id, v1::RecordType type);

// The envelope plaintext: Text("meterchain/validation-envelope/v1") Blob(record key)
// Text(record id). Decode: kInvalidArgument unless well formed with a 32-byte key.
Bytes EncodeValidationEnvelope(ByteView record_key, std::string_view record_id);
Result<std::pair<Bytes, std::string>> DecodeValidationEnvelope(ByteView plaintext);

class ValidationKey final : public ValidationOpener {
public:
    // A fresh random K (only `meterctl init-cluster` and tests create one).
    static ValidationKey Generate();
    // kInvalidArgument unless 32 bytes.
    static Result<ValidationKey> FromBytes(ByteView key);

    ValidationKey(ValidationKey&& other) noexcept;
    ValidationKey& operator=(ValidationKey&& other) noexcept;
    ValidationKey(const ValidationKey&) = delete;
    ValidationKey& operator=(const ValidationKey&) = delete;
    ~ValidationKey() override;  // wipes K

    Result<Bytes> Open(ByteView sealed, ByteView aad) const override;
    const Hash256& KeyCheck() const override { return m_check; }
    Bytes Seal(ByteView plaintext, ByteView aad) const;
    // K wrapped with SM2 for `holder` (raw 65-byte public key). kInvalidArgument for a bad key.
    Result<v1::WrappedKey> WrapFor(std::string_view holder, ByteView raw_public_key) const;

private:
    explicit ValidationKey(Bytes key);
    Bytes m_key;
    Hash256 m_check{};
};

// Unwraps one copy with the holder's SM2 private key and checks it against `check`.
// kUnauthenticated when it does not decrypt with `key`; kFailedPrecondition when the result is
// not the chain's K (a genesis whose copies disagree).
Result<ValidationKey> UnwrapValidationKey(const v1::WrappedKey& wrapped, ByteView check,
                                          const crypto::Sm2PrivateKey& key);

// The chain's key check value, or nullopt when the chain has no validation key.
std::optional<Hash256> ChainValidationKeyCheck(const StateView& state);

// Reads `holder`'s copy from state (genesis writes or committed chain state) and unwraps it.
// kNotFound when the chain has no validation key, or none is wrapped for `holder`.
Result<ValidationKey> LoadValidationKey(const StateView& state, std::string_view holder,
                                        const crypto::Sm2PrivateKey& key);

}  // namespace meterchain::contracts
