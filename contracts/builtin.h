// Entry points the node daemon uses: the built-in contracts, the genesis state, and building
// signed contract-call transactions.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "contracts/offchain.h"
#include "contracts/records.h"
#include "contracts/validation_key.h"
#include "node/chain/state.h"
#include "node/chain/types.h"
#include "node/crypto/signer.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

// Registers "governance", "validity", "secdata", "supervision" and "calibration". kAlreadyExists
// if called twice on one registry.
Status RegisterBuiltinContracts(Registry& registry);

// Parses a ContractsGenesis in its JSON form (proto3 JSON mapping, unknown fields refused).
// kInvalidArgument naming the bad field.
Result<v1::ContractsGenesis> ParseContractsGenesis(std::string_view json);

// Validates a genesis and writes its state into `state` (organisations, permissions, record
// policies, rule set, settings, institutions, access policies). kInvalidArgument naming the
// offending field, e.g. "organisations[1] (regulator): public_key must be 130 hex characters".
Status ApplyContractsGenesis(const v1::ContractsGenesis& genesis, StateView& state);

// ParseContractsGenesis + ApplyContractsGenesis on an empty state: the write set of the genesis
// block, identical on every node for the same JSON.
Result<chain::WriteSet> GenesisWrites(std::string_view contracts_genesis_json);

// Client side (off chain): the submission of one record in the storage class its type's policy
// prescribes. Public class: sealed, with the record key wrapped for every organisation that
// `state` (committed chain state, e.g. the node's own) authorises to read the type, and the
// validation envelope sealed under `validation_key` (required then; the uploader unwraps it with
// LoadValidationKey). Digest-only class: the serialized record is kept in `vault` (required
// then) and only its digest and index are submitted. kFailedPrecondition when the type has no
// policy or a public record has no validation key to seal with.
Result<v1::RecordSubmission> BuildRecordSubmission(const StateView& state,
                                                   std::string_view chain_id, RecordType type,
                                                   const google::protobuf::Message& record,
                                                   OffchainVault* vault,
                                                   const ValidationKey* validation_key);

// The payload of a TX_CONTRACT_CALL transaction (a serialized v1::ContractCall).
Bytes ContractCallPayload(std::string_view contract, std::string_view method,
                          const google::protobuf::Message& args);

// Builds and signs a TX_CONTRACT_CALL transaction. Per record type the arguments are a
// ValiditySubmission built with BuildPublicSubmission / BuildDigestOnlySubmission (records.h)
// and signed with SignValiditySubmission (validity.h); see docs/CONTRACTS.md for every method.
chain::Transaction SignContractCall(std::string_view chain_id, uint64_t nonce,
                                    uint64_t timestamp_ms, std::string_view contract,
                                    std::string_view method, const google::protobuf::Message& args,
                                    const crypto::Signer& signer);

// Parses a ContractCall payload and runs it against `registry` (what the executor does for a
// TX_CONTRACT_CALL; also used by tests). kNotFound for an unknown contract.
Status DispatchContractCall(const Registry& registry, const CallContext& ctx, ByteView payload,
                            StateView& state);

}  // namespace meterchain::contracts
