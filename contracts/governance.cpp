#include "contracts/governance.h"

#include <algorithm>
#include <cstdio>

#include "contracts/calibration.h"
#include "contracts/common.h"
#include "contracts/rules.h"
#include "node/base/codec.h"
#include "node/crypto/sm.h"

namespace meterchain::contracts {

namespace {

const std::string kPrefix = std::string(kGovernanceContract) + "/";
const std::string kOrgPrefix = kPrefix + "org/";
const std::string kKeyPrefix = kPrefix + "key/";
const std::string kPermPrefix = kPrefix + "perm/";
const std::string kPolicyPrefix = kPrefix + "policy/";
const std::string kInstPrefix = kPrefix + "inst/";
const std::string kRulesCurrentKey = kPrefix + "rules/current";
const std::string kValiditySettingsKey = kPrefix + "settings/validity";
const std::string kQuorumKey = kPrefix + "settings/quorum";
const std::string kProposalPrefix = kPrefix + "proposal/";

constexpr int kMaxActions = 1000;

std::string KeyIndexKey(std::string_view hex) { return kKeyPrefix + std::string(hex); }
std::string PermissionKey(std::string_view role, RecordType type) {
    return kPermPrefix + std::string(role) + "/" + TypeKey(type);
}
std::string PolicyKey(RecordType type) { return kPolicyPrefix + TypeKey(type); }
std::string InstitutionKey(std::string_view id) { return kInstPrefix + std::string(id); }

Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

Result<uint64_t> ReadU64(const StateView& state, const std::string& key, uint64_t fallback) {
    auto v = state.Get(key);
    if (!v) return fallback;
    if (v->size() != 8) return Corruption("state value at '" + key + "' is not a u64");
    return codec::DecodeU64(*v);
}

// Normalised (lower-case) hex of a valid raw SM2 public key given in hex.
Result<std::string> CheckPublicKeyHex(std::string_view hex) {
    auto raw = FromHex(hex);
    if (!raw || raw->size() != 65) {
        return InvalidArgument("public_key must be 130 hex characters (04 || x || y)");
    }
    auto key = crypto::Sm2PublicKey::FromRaw(*raw);
    if (!key.ok()) return InvalidArgument("public_key: " + key.status().message());
    return ToHex(*raw);
}

Status ApplyUpsertOrganisation(StateView& state, v1::Organisation org) {
    if (!IsSimpleName(org.name()))
        return InvalidArgument("organisation name must be a simple name");
    auto hex = CheckPublicKeyHex(org.public_key());
    if (!hex.ok())
        return InvalidArgument("organisation " + org.name() + ": " + hex.status().message());
    org.set_public_key(*hex);
    if (org.roles().empty())
        return InvalidArgument("organisation " + org.name() + ": roles is empty");
    std::set<std::string, std::less<>> roles;
    for (const auto& role : org.roles()) {
        if (!IsSimpleName(role) || !roles.insert(role).second) {
            return InvalidArgument("organisation " + org.name() +
                                   ": roles must be distinct simple names");
        }
    }
    auto owner = state.Get(KeyIndexKey(*hex));
    if (owner && ToString(*owner) != org.name()) {
        return {StatusCode::kAlreadyExists, "organisation " + org.name() +
                                                ": public_key is already registered to " +
                                                ToString(*owner)};
    }
    auto existing = FindOrganisation(state, org.name());
    if (!existing.ok()) return existing.status();
    if (existing->has_value() && (*existing)->public_key() != *hex) {
        state.Delete(KeyIndexKey((*existing)->public_key()));
    }
    WriteProto(state, OrganisationKey(org.name()), org);
    state.Put(KeyIndexKey(*hex), AsBytes(org.name()));
    return Status::Ok();
}

Status ApplyRemoveOrganisation(StateView& state, const std::string& name) {
    auto existing = FindOrganisation(state, name);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) return NotFound("remove_organisation: no organisation " + name);
    auto all = ListOrganisations(state);
    if (!all.ok()) return all.status();
    auto quorum = ReadU64(state, kQuorumKey, 0);
    if (!quorum.ok()) return quorum.status();
    if (all->size() <= 1 || *quorum > all->size() - 1) {
        return FailedPrecondition(
            "remove_organisation: the governance quorum would be unreachable");
    }
    state.Delete(KeyIndexKey((*existing)->public_key()));
    state.Delete(OrganisationKey(name));
    return Status::Ok();
}

Status ApplySetPermission(StateView& state, const v1::Permission& p) {
    if (!IsSimpleName(p.role()))
        return InvalidArgument("set_permission.role must be a simple name");
    if (!IsKnownRecordType(p.record_type())) {
        return InvalidArgument("set_permission.record_type: unknown record type");
    }
    if (!p.write() && !p.read()) {
        state.Delete(PermissionKey(p.role(), p.record_type()));
    } else {
        WriteProto(state, PermissionKey(p.role(), p.record_type()), p);
    }
    return Status::Ok();
}

Status ApplySetRuleSet(StateView& state, const v1::RuleSet& rules) {
    auto current = ReadU64(state, kRulesCurrentKey, 0);
    if (!current.ok()) return current.status();
    if (*current != 0 && rules.version() != *current + 1) {
        return InvalidArgument("set_rule_set.version must be " + std::to_string(*current + 1));
    }
    auto compiled = CompiledRules::Compile(rules);
    if (!compiled.ok()) return InvalidArgument("set_rule_set: " + compiled.status().message());
    WriteProto(state, RuleSetKey(rules.version()), rules);
    state.Put(kRulesCurrentKey, codec::EncodeU64(rules.version()));
    return Status::Ok();
}

Status ApplySetValiditySettings(StateView& state, v1::ValiditySettings settings) {
    if (settings.required_validator_signatures() == 0) {
        return InvalidArgument("validity.required_validator_signatures must be at least 1");
    }
    if (settings.validator_role().empty())
        settings.set_validator_role(std::string(kDefaultValidatorRole));
    if (!IsSimpleName(settings.validator_role())) {
        return InvalidArgument("validity.validator_role must be a simple name");
    }
    WriteProto(state, kValiditySettingsKey, settings);
    return Status::Ok();
}

Status ApplySetRecordPolicy(StateView& state, const v1::RecordPolicy& p) {
    if (!IsKnownRecordType(p.record_type())) {
        return InvalidArgument("record_policy.record_type: unknown record type");
    }
    if (p.storage_class() != v1::STORAGE_PUBLIC_ENCRYPTED &&
        p.storage_class() != v1::STORAGE_DIGEST_ONLY) {
        return InvalidArgument(
            "record_policy.storage_class must be STORAGE_PUBLIC_ENCRYPTED or "
            "STORAGE_DIGEST_ONLY");
    }
    if (p.classification() == v1::CLASSIFICATION_UNSPECIFIED ||
        !v1::Classification_IsValid(p.classification())) {
        return InvalidArgument("record_policy.classification must be set");
    }
    WriteProto(state, PolicyKey(p.record_type()), p);
    return Status::Ok();
}

Status ApplyUpsertInstitution(StateView& state, const v1::Institution& inst) {
    if (!IsSimpleName(inst.inst_id()))
        return InvalidArgument("institution.inst_id must be a simple name");
    if (inst.name().empty())
        return InvalidArgument("institution " + inst.inst_id() + ": name is empty");
    auto org = FindOrganisation(state, inst.org());
    if (!org.ok()) return org.status();
    if (!org->has_value()) {
        return InvalidArgument("institution " + inst.inst_id() + ": org '" + inst.org() +
                               "' is not a registered organisation");
    }
    WriteProto(state, InstitutionKey(inst.inst_id()), inst);
    return Status::Ok();
}

Status ApplySetQuorum(StateView& state, uint32_t quorum) {
    auto all = ListOrganisations(state);
    if (!all.ok()) return all.status();
    if (quorum > all->size()) {
        return InvalidArgument("governance_quorum " + std::to_string(quorum) + " exceeds the " +
                               std::to_string(all->size()) + " organisations");
    }
    state.Put(kQuorumKey, codec::EncodeU64(quorum));
    return Status::Ok();
}

template <typename M>
Result<Bytes> Serialized(const Result<M>& r) {
    if (!r.ok()) return r.status();
    return SerializeProto(*r);
}

}  // namespace

std::string OrganisationKey(std::string_view name) { return kOrgPrefix + std::string(name); }

std::string RuleSetKey(uint64_t version) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(version));
    return kPrefix + "rules/v/" + buf;
}

Result<std::optional<v1::Organisation>> FindOrganisation(const StateView& state,
                                                         std::string_view name) {
    v1::Organisation org;
    auto found = ReadProto(state, OrganisationKey(name), &org);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<v1::Organisation>();
    return std::optional(std::move(org));
}

Result<v1::Organisation> OrganisationOfSender(const StateView& state, ByteView sender) {
    auto name = state.Get(KeyIndexKey(ToHex(sender)));
    if (!name) return PermissionDenied("the signer is not a registered organisation");
    auto org = FindOrganisation(state, ToString(*name));
    if (!org.ok()) return org.status();
    if (!org->has_value()) return Corruption("key index names a missing organisation");
    return **org;
}

Result<std::vector<v1::Organisation>> ListOrganisations(const StateView& state) {
    std::vector<v1::Organisation> out;
    Status error;
    state.Scan(kOrgPrefix, [&](std::string_view key, ByteView value) {
        v1::Organisation org;
        if (!org.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
            error = Corruption("state value at '" + std::string(key) + "' is not an Organisation");
            return false;
        }
        out.push_back(std::move(org));
        return true;
    });
    if (!error.ok()) return error;
    return out;
}

Result<std::optional<v1::Institution>> FindInstitution(const StateView& state,
                                                       std::string_view inst_id) {
    if (!IsSimpleName(inst_id)) return std::optional<v1::Institution>();
    v1::Institution inst;
    auto found = ReadProto(state, InstitutionKey(inst_id), &inst);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<v1::Institution>();
    return std::optional(std::move(inst));
}

Result<std::optional<v1::RecordPolicy>> FindRecordPolicy(const StateView& state, RecordType type) {
    v1::RecordPolicy policy;
    auto found = ReadProto(state, PolicyKey(type), &policy);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<v1::RecordPolicy>();
    return std::optional(std::move(policy));
}

Result<v1::ValiditySettings> LoadValiditySettings(const StateView& state) {
    v1::ValiditySettings settings;
    auto found = ReadProto(state, kValiditySettingsKey, &settings);
    if (!found.ok()) return found.status();
    if (settings.validator_role().empty())
        settings.set_validator_role(std::string(kDefaultValidatorRole));
    if (settings.required_validator_signatures() == 0)
        settings.set_required_validator_signatures(1);
    return settings;
}

Result<v1::RuleSet> LoadCurrentRuleSet(const StateView& state) {
    auto version = ReadU64(state, kRulesCurrentKey, 0);
    if (!version.ok()) return version.status();
    if (*version == 0) return FailedPrecondition("no validity rule set is installed");
    v1::RuleSet rules;
    auto found = ReadProto(state, RuleSetKey(*version), &rules);
    if (!found.ok()) return found.status();
    if (!*found) return Corruption("rule set version " + std::to_string(*version) + " is missing");
    return rules;
}

Result<uint32_t> EffectiveQuorum(const StateView& state) {
    auto configured = ReadU64(state, kQuorumKey, 0);
    if (!configured.ok()) return configured.status();
    if (*configured != 0) return static_cast<uint32_t>(*configured);
    auto all = ListOrganisations(state);
    if (!all.ok()) return all.status();
    return static_cast<uint32_t>(all->size() / 2 + 1);
}

bool HasRole(const v1::Organisation& org, std::string_view role) {
    return std::find(org.roles().begin(), org.roles().end(), role) != org.roles().end();
}

Result<AccessMatrix> AccessMatrix::Load(const StateView& state) {
    AccessMatrix m;
    Status error;
    state.Scan(kPermPrefix, [&](std::string_view key, ByteView value) {
        v1::Permission p;
        if (!p.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
            error = Corruption("state value at '" + std::string(key) + "' is not a Permission");
            return false;
        }
        if (p.write()) m.m_write.emplace(p.role(), p.record_type());
        if (p.read()) m.m_read.emplace(p.role(), p.record_type());
        return true;
    });
    if (!error.ok()) return error;
    return m;
}

bool AccessMatrix::CanWrite(const v1::Organisation& org, RecordType type) const {
    for (const auto& role : org.roles()) {
        if (m_write.count(std::make_pair(role, static_cast<int>(type))) != 0) return true;
    }
    return false;
}

bool AccessMatrix::CanRead(const v1::Organisation& org, RecordType type) const {
    for (const auto& role : org.roles()) {
        if (m_read.count(std::make_pair(role, static_cast<int>(type))) != 0) return true;
    }
    return false;
}

Result<std::vector<v1::Organisation>> AuthorisedReaders(const StateView& state, RecordType type) {
    auto matrix = AccessMatrix::Load(state);
    if (!matrix.ok()) return matrix.status();
    auto all = ListOrganisations(state);
    if (!all.ok()) return all.status();
    std::vector<v1::Organisation> out;
    for (auto& org : *all) {
        if (matrix->CanRead(org, type)) out.push_back(std::move(org));
    }
    return out;
}

Status ApplyGovernanceAction(StateView& state, const v1::GovernanceAction& action) {
    switch (action.action_case()) {
        case v1::GovernanceAction::kUpsertOrganisation:
            return ApplyUpsertOrganisation(state, action.upsert_organisation());
        case v1::GovernanceAction::kRemoveOrganisation:
            return ApplyRemoveOrganisation(state, action.remove_organisation());
        case v1::GovernanceAction::kSetPermission:
            return ApplySetPermission(state, action.set_permission());
        case v1::GovernanceAction::kSetRuleSet:
            return ApplySetRuleSet(state, action.set_rule_set());
        case v1::GovernanceAction::kSetValiditySettings:
            return ApplySetValiditySettings(state, action.set_validity_settings());
        case v1::GovernanceAction::kSetRecordPolicy:
            return ApplySetRecordPolicy(state, action.set_record_policy());
        case v1::GovernanceAction::kUpsertInstitution:
            return ApplyUpsertInstitution(state, action.upsert_institution());
        case v1::GovernanceAction::kSetGovernanceQuorum:
            return ApplySetQuorum(state, action.set_governance_quorum());
        case v1::GovernanceAction::kSetCalibrationSettings:
            return ApplySetCalibrationSettings(state, action.set_calibration_settings());
        default:
            return InvalidArgument("governance action is empty");
    }
}

// ---- GovernanceContract ----

std::string_view GovernanceContract::Name() const { return kGovernanceContract; }

Status GovernanceContract::Call(const CallContext& ctx, std::string_view method, ByteView args,
                                StateView& state) {
    if (method == "Propose") return Propose(ctx, args, state);
    if (method == "Approve") return Approve(ctx, args, state);
    return InvalidArgument("governance has no method '" + std::string(method) + "'");
}

Status GovernanceContract::Propose(const CallContext& ctx, ByteView args, StateView& state) {
    auto org = OrganisationOfSender(state, ctx.sender);
    if (!org.ok()) return org.status();
    v1::ProposeArgs propose;
    MC_RETURN_IF_ERROR(ParseProto(args, &propose, "Propose args"));
    if (propose.actions().empty() || propose.actions_size() > kMaxActions) {
        return InvalidArgument("a proposal needs 1.." + std::to_string(kMaxActions) + " actions");
    }
    if (propose.expires_at_ms() != 0 && propose.expires_at_ms() <= ctx.block_timestamp_ms) {
        return InvalidArgument("expires_at_ms is not in the future");
    }
    // Dry run in order, so that a proposal which could never execute is refused now.
    OverlayState dry_run(state);
    for (int i = 0; i < propose.actions_size(); ++i) {
        Status st = ApplyGovernanceAction(dry_run, propose.actions(i));
        if (!st.ok()) return {st.code(), "actions[" + std::to_string(i) + "]: " + st.message()};
    }
    v1::Proposal proposal;
    proposal.set_proposal_id(ToHex(ctx.tx_hash));
    if (state.Get(kProposalPrefix + proposal.proposal_id())) {
        return {StatusCode::kAlreadyExists, "proposal " + proposal.proposal_id() + " exists"};
    }
    proposal.set_proposer(org->name());
    *proposal.mutable_actions() = propose.actions();
    proposal.set_expires_at_ms(propose.expires_at_ms());
    proposal.set_description(propose.description());
    return AddApproval(proposal, org->name(), ctx, state);
}

Status GovernanceContract::Approve(const CallContext& ctx, ByteView args, StateView& state) {
    auto org = OrganisationOfSender(state, ctx.sender);
    if (!org.ok()) return org.status();
    v1::ApproveArgs approve;
    MC_RETURN_IF_ERROR(ParseProto(args, &approve, "Approve args"));
    v1::Proposal proposal;
    if (!IsSimpleName(approve.proposal_id())) return NotFound("no such proposal");
    auto found = ReadProto(state, kProposalPrefix + approve.proposal_id(), &proposal);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("no proposal " + approve.proposal_id());
    if (proposal.executed()) return FailedPrecondition("proposal was already executed");
    if (proposal.expires_at_ms() != 0 && ctx.block_timestamp_ms > proposal.expires_at_ms()) {
        return FailedPrecondition("proposal expired");
    }
    const auto& approvals = proposal.approvals();
    if (std::find(approvals.begin(), approvals.end(), org->name()) != approvals.end()) {
        return {StatusCode::kAlreadyExists, org->name() + " already approved this proposal"};
    }
    return AddApproval(proposal, org->name(), ctx, state);
}

Status GovernanceContract::AddApproval(v1::Proposal& proposal, const std::string& org,
                                       const CallContext& ctx, StateView& state) {
    std::vector<std::string> approvals(proposal.approvals().begin(), proposal.approvals().end());
    approvals.push_back(org);
    std::sort(approvals.begin(), approvals.end());
    proposal.clear_approvals();
    for (const auto& a : approvals) proposal.add_approvals(a);

    // Only approvals of organisations that are still registered count.
    uint32_t counted = 0;
    for (const auto& a : approvals) {
        auto registered = FindOrganisation(state, a);
        if (!registered.ok()) return registered.status();
        if (registered->has_value()) ++counted;
    }
    auto quorum = EffectiveQuorum(state);
    if (!quorum.ok()) return quorum.status();
    if (counted >= *quorum) {
        for (int i = 0; i < proposal.actions_size(); ++i) {
            Status st = ApplyGovernanceAction(state, proposal.actions(i));
            if (!st.ok()) return {st.code(), "actions[" + std::to_string(i) + "]: " + st.message()};
        }
        proposal.set_executed(true);
        proposal.set_executed_height(ctx.height);
    }
    WriteProto(state, kProposalPrefix + proposal.proposal_id(), proposal);
    return Status::Ok();
}

Result<Bytes> GovernanceContract::Query(std::string_view method, ByteView args,
                                        const StateView& state) const {
    v1::QueryArgs q;
    MC_RETURN_IF_ERROR(ParseProto(args, &q, "query args"));
    if (method == "Organisation") {
        auto org = FindOrganisation(state, q.id());
        if (!org.ok()) return org.status();
        if (!org->has_value()) return NotFound("no organisation " + q.id());
        return SerializeProto(**org);
    }
    if (method == "Organisations" || method == "Readers") {
        auto orgs = method == "Readers" ? AuthorisedReaders(state, q.record_type())
                                        : ListOrganisations(state);
        if (!orgs.ok()) return orgs.status();
        v1::OrganisationList list;
        for (auto& o : *orgs) *list.add_organisations() = std::move(o);
        return SerializeProto(list);
    }
    if (method == "Proposal") {
        v1::Proposal proposal;
        if (!IsSimpleName(q.id())) return NotFound("no such proposal");
        auto found = ReadProto(state, kProposalPrefix + q.id(), &proposal);
        if (!found.ok()) return found.status();
        if (!*found) return NotFound("no proposal " + q.id());
        return SerializeProto(proposal);
    }
    if (method == "RuleSet") return Serialized(LoadCurrentRuleSet(state));
    if (method == "RecordPolicy") {
        auto policy = FindRecordPolicy(state, q.record_type());
        if (!policy.ok()) return policy.status();
        if (!policy->has_value()) return NotFound("no policy for this record type");
        return SerializeProto(**policy);
    }
    return InvalidArgument("governance has no query '" + std::string(method) + "'");
}

}  // namespace meterchain::contracts
