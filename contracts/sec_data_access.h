// Contract "secdata" (SecDataAccess, CON-2): access credentials, owner policies, and the
// decision on each secure-read request. The contract never sees data or private keys: it records
// a grant (or a refusal with its reason); the owner's node, which holds its private key off
// chain, then delivers the record encrypted to the requester's one-time SM2 key (offchain.h)
// through the Deliver method, and the requester checks it against the on-chain digest.
//
// State layout (docs/CONTRACTS.md):
//   secdata/policy/<owner>/<type:02>          AccessPolicy
//   secdata/cred/<hex SM3(credential id)>     CredentialState
//   secdata/otk/<one-time key hex>            request id that used the key (never reused)
//   secdata/req/<request id>                  AccessDecision (request id = tx hash hex)
//   secdata/pending/<owner>/<request id>      empty; grants awaiting delivery
//   secdata/delivery/<request id>             EncryptedDelivery
#pragma once

#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "contracts/records.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

// Refusal codes recorded in AccessDecision.reason_code.
inline constexpr std::string_view kRefuseOneTimeKey = "ONE_TIME_KEY_INVALID";
inline constexpr std::string_view kRefuseOneTimeKeyReused = "ONE_TIME_KEY_REUSED";
inline constexpr std::string_view kRefuseNoData = "DATA_NOT_FOUND";
inline constexpr std::string_view kRefuseNoCredential = "CREDENTIAL_NOT_FOUND";
inline constexpr std::string_view kRefuseWrongIssuer = "CREDENTIAL_WRONG_ISSUER";
inline constexpr std::string_view kRefuseWrongRequester = "CREDENTIAL_WRONG_REQUESTER";
inline constexpr std::string_view kRefuseRevoked = "CREDENTIAL_REVOKED";
inline constexpr std::string_view kRefuseExpired = "CREDENTIAL_EXPIRED";
inline constexpr std::string_view kRefuseScope = "CREDENTIAL_SCOPE";
inline constexpr std::string_view kRefuseClassification = "CLASSIFICATION";
inline constexpr std::string_view kRefusePolicy = "OWNER_POLICY";

// State key of an owner's access policy for one record type (genesis writes these too).
std::string AccessPolicyKey(std::string_view owner, RecordType type);

// Additional data authenticated with a delivery: binds it to one request and one record digest.
Bytes DeliveryAad(std::string_view request_id, ByteView record_digest);

// Methods:
//   SetAccessPolicy  AccessPolicy        owner := signer
//   IssueCredential  AccessCredential    owner := signer; kAlreadyExists for a used id
//   RevokeCredential RevokeCredentialArgs only the issuer
//   SecDataAccess    AccessRequest       -> AccessDecision at secdata/req/<tx hash hex>
//                                           (granted, or refused with reason_code + reason)
//   Deliver          DeliverArgs         only the owner of a granted, undelivered request
// A signer that is not a registered organisation fails every method (kPermissionDenied).
// Queries (QueryArgs): "Decision" (id = request id) -> AccessDecision; "Delivery" (id) ->
//   EncryptedDelivery; "PendingGrants" (id = owner) -> PendingGrants; "Credential" (id) ->
//   CredentialState.
class SecDataAccessContract final : public Contract {
public:
    std::string_view Name() const override;
    Status Call(const CallContext& ctx, std::string_view method, ByteView args,
                StateView& state) override;
    Result<Bytes> Query(std::string_view method, ByteView args,
                        const StateView& state) const override;
};

}  // namespace meterchain::contracts
