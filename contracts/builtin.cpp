#include "contracts/builtin.h"

#include <google/protobuf/util/json_util.h>

#include "contracts/calibration.h"
#include "contracts/common.h"
#include "contracts/governance.h"
#include "contracts/sec_data_access.h"
#include "contracts/supervision.h"
#include "contracts/validity.h"
#include "proto/chain.pb.h"

namespace meterchain::contracts {

namespace {

// An SM2 ciphertext of a 32-byte key is about 140 bytes; anything far larger is not one.
constexpr size_t kMaxWrappedValidationKey = 1024;

Status Prefixed(const std::string& where, const Status& st) {
    if (st.ok()) return st;
    return {st.code(), where + ": " + st.message()};
}

}  // namespace

Status RegisterBuiltinContracts(Registry& registry) {
    MC_RETURN_IF_ERROR(registry.Register(std::make_unique<GovernanceContract>()));
    MC_RETURN_IF_ERROR(registry.Register(std::make_unique<ValidityContract>()));
    MC_RETURN_IF_ERROR(registry.Register(std::make_unique<SecDataAccessContract>()));
    MC_RETURN_IF_ERROR(registry.Register(std::make_unique<CalibrationContract>()));
    MC_RETURN_IF_ERROR(registry.Register(std::make_unique<SupervisionContract>()));
    return Status::Ok();
}

Result<v1::ContractsGenesis> ParseContractsGenesis(std::string_view json) {
    v1::ContractsGenesis genesis;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &genesis, options);
    if (!st.ok()) return InvalidArgument("contracts genesis: " + std::string(st.message()));
    return genesis;
}

Status ApplyContractsGenesis(const v1::ContractsGenesis& g, StateView& state) {
    auto apply = [&](const std::string& where, const v1::GovernanceAction& action) {
        return Prefixed(where, ApplyGovernanceAction(state, action));
    };
    if (g.organisations().empty()) return InvalidArgument("organisations: at least one is needed");
    for (int i = 0; i < g.organisations_size(); ++i) {
        const auto& org = g.organisations(i);
        std::string where = "organisations[" + std::to_string(i) + "] (" + org.name() + ")";
        if (FindOrganisation(state, org.name()).value().has_value()) {
            return InvalidArgument(where + ": duplicate name");
        }
        v1::GovernanceAction a;
        *a.mutable_upsert_organisation() = org;
        MC_RETURN_IF_ERROR(apply(where, a));
    }
    {
        v1::GovernanceAction a;
        a.set_set_governance_quorum(g.governance_quorum());
        MC_RETURN_IF_ERROR(apply("governance_quorum", a));
    }
    for (int i = 0; i < g.permissions_size(); ++i) {
        v1::GovernanceAction a;
        *a.mutable_set_permission() = g.permissions(i);
        MC_RETURN_IF_ERROR(apply("permissions[" + std::to_string(i) + "]", a));
    }
    for (int i = 0; i < g.record_policies_size(); ++i) {
        v1::GovernanceAction a;
        *a.mutable_set_record_policy() = g.record_policies(i);
        MC_RETURN_IF_ERROR(apply("record_policies[" + std::to_string(i) + "]", a));
    }
    for (RecordType type : AllRecordTypes()) {
        auto policy = FindRecordPolicy(state, type);
        if (!policy.ok()) return policy.status();
        if (!policy->has_value()) {
            return InvalidArgument("record_policies: no policy for " +
                                   std::string(RecordTypeName(type)));
        }
    }
    {
        v1::GovernanceAction a;
        *a.mutable_set_rule_set() = g.rule_set();
        MC_RETURN_IF_ERROR(apply("rule_set", a));
    }
    {
        v1::GovernanceAction a;
        *a.mutable_set_validity_settings() = g.validity();
        MC_RETURN_IF_ERROR(apply("validity", a));
        auto settings = LoadValiditySettings(state);
        if (!settings.ok()) return settings.status();
        uint32_t validators = 0;
        for (const auto& org : g.organisations()) {
            validators += HasRole(org, settings->validator_role()) ? 1 : 0;
        }
        if (validators < settings->required_validator_signatures()) {
            return InvalidArgument("validity.required_validator_signatures: " +
                                   std::to_string(settings->required_validator_signatures()) +
                                   " exceeds the " + std::to_string(validators) +
                                   " organisations with role " + settings->validator_role());
        }
    }
    for (int i = 0; i < g.institutions_size(); ++i) {
        v1::GovernanceAction a;
        *a.mutable_upsert_institution() = g.institutions(i);
        MC_RETURN_IF_ERROR(apply("institutions[" + std::to_string(i) + "]", a));
    }
    if (g.has_calibration()) {
        v1::GovernanceAction a;
        *a.mutable_set_calibration_settings() = g.calibration();
        MC_RETURN_IF_ERROR(apply("calibration", a));
    }
    for (int i = 0; i < g.access_policies_size(); ++i) {
        const auto& p = g.access_policies(i);
        std::string where = "access_policies[" + std::to_string(i) + "]";
        auto owner = FindOrganisation(state, p.owner());
        if (!owner.ok()) return owner.status();
        if (!owner->has_value())
            return InvalidArgument(where + ".owner: not a registered organisation");
        if (!IsKnownRecordType(p.record_type())) {
            return InvalidArgument(where + ".record_type: unknown record type");
        }
        for (const auto& role : p.allowed_roles()) {
            if (!IsSimpleName(role))
                return InvalidArgument(where + ".allowed_roles: not a simple name");
        }
        WriteProto(state, AccessPolicyKey(p.owner(), p.record_type()), p);
    }
    // The chain validation key: SM2-wrapped copies and the check value only, never K.
    if (g.validation_keys().empty() != g.validation_key_check().empty()) {
        return InvalidArgument(
            "validation_key_check: set it exactly when validation_keys is not empty");
    }
    if (!g.validation_key_check().empty() && g.validation_key_check().size() != 32) {
        return InvalidArgument("validation_key_check: must be 32 bytes (HMAC-SM3)");
    }
    for (int i = 0; i < g.validation_keys_size(); ++i) {
        const auto& k = g.validation_keys(i);
        std::string where = "validation_keys[" + std::to_string(i) + "]";
        if (!IsSimpleName(k.org())) return InvalidArgument(where + ".org: not a simple name");
        if (k.wrapped().empty() || k.wrapped().size() > kMaxWrappedValidationKey) {
            return InvalidArgument(where + ".wrapped: must be an SM2 ciphertext of the key");
        }
        if (state.Get(ValidationKeyStateKey(k.org()))) {
            return InvalidArgument(where + " (" + k.org() + "): duplicate holder");
        }
        WriteProto(state, ValidationKeyStateKey(k.org()), k);
    }
    if (!g.validation_key_check().empty()) {
        state.Put(kValidationCheckStateKey, AsBytes(g.validation_key_check()));
    }
    return Status::Ok();
}

Result<chain::WriteSet> GenesisWrites(std::string_view contracts_genesis_json) {
    auto genesis = ParseContractsGenesis(contracts_genesis_json);
    if (!genesis.ok()) return genesis.status();
    MemoryState state;
    Status st = ApplyContractsGenesis(*genesis, state);
    if (!st.ok()) return Status(st.code(), "contracts genesis: " + st.message());
    return state.writes();
}

Result<v1::RecordSubmission> BuildRecordSubmission(const StateView& state,
                                                   std::string_view chain_id, RecordType type,
                                                   const google::protobuf::Message& record,
                                                   OffchainVault* vault,
                                                   const ValidationKey* validation_key) {
    auto policy = FindRecordPolicy(state, type);
    if (!policy.ok()) return policy.status();
    if (!policy->has_value()) return FailedPrecondition("no record policy for this record type");
    if ((*policy)->storage_class() == v1::STORAGE_PUBLIC_ENCRYPTED) {
        if (validation_key == nullptr) {
            return FailedPrecondition(
                "public records are sealed for validation with the chain validation key; the "
                "uploader holds none (LoadValidationKey)");
        }
        auto readers = AuthorisedReaders(state, type);
        if (!readers.ok()) return readers.status();
        std::vector<ReaderKey> keys;
        for (const auto& org : *readers) {
            auto raw = FromHex(org.public_key());
            if (!raw) return Corruption("organisation " + org.name() + " has a malformed key");
            keys.push_back({org.name(), std::move(*raw)});
        }
        return BuildPublicSubmission(chain_id, type, record, keys, *validation_key);
    }
    if (vault == nullptr) return InvalidArgument("digest-only records need the owner's vault");
    Bytes content;
    auto sub = BuildDigestOnlySubmission(type, record, &content);
    if (!sub.ok()) return sub.status();
    auto id = RecordId(type, RecordFields::FromMessage(record));
    if (!id.ok()) return id.status();
    auto kept = vault->Keep(type, *id, content);
    if (!kept.ok()) return kept.status();
    return sub;
}

Bytes ContractCallPayload(std::string_view contract, std::string_view method,
                          const google::protobuf::Message& args) {
    v1::ContractCall call;
    call.set_contract(std::string(contract));
    call.set_method(std::string(method));
    call.set_args(ToString(SerializeProto(args)));
    return SerializeProto(call);
}

chain::Transaction SignContractCall(std::string_view chain_id, uint64_t nonce,
                                    uint64_t timestamp_ms, std::string_view contract,
                                    std::string_view method, const google::protobuf::Message& args,
                                    const crypto::Signer& signer) {
    chain::TxBody body;
    body.chain_id = std::string(chain_id);
    body.type = static_cast<uint32_t>(chain::TxType::kContractCall);
    body.payload = ContractCallPayload(contract, method, args);
    body.nonce = nonce;
    body.timestamp_ms = timestamp_ms;
    return chain::SignTransaction(std::move(body), signer);
}

Status DispatchContractCall(const Registry& registry, const CallContext& ctx, ByteView payload,
                            StateView& state) {
    v1::ContractCall call;
    MC_RETURN_IF_ERROR(ParseProto(payload, &call, "contract call"));
    Contract* contract = registry.Find(call.contract());
    if (contract == nullptr) return NotFound("no contract '" + call.contract() + "'");
    return contract->Call(ctx, call.method(), AsBytes(call.args()), state);
}

}  // namespace meterchain::contracts
