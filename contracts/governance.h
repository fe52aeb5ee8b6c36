// Contract "governance": organisations (SM2 identities), roles, the role x record-type
// permission matrix, record policies (storage class, classification), institutions, the
// validity rule set and settings. Genesis writes the initial state; afterwards changes go
// through proposals approved by a quorum of organisations.
//
// State layout (docs/CONTRACTS.md):
//   governance/org/<name>                 Organisation
//   governance/key/<public key hex>       organisation name (raw bytes)
//   governance/perm/<role>/<type:02>      Permission
//   governance/policy/<type:02>           RecordPolicy
//   governance/inst/<inst_id>             Institution
//   governance/rules/current              u64 version (codec::EncodeU64)
//   governance/rules/v/<version:020>      RuleSet
//   governance/settings/validity          ValiditySettings
//   governance/settings/quorum            u64 (0 = majority)
//   governance/proposal/<id>              Proposal
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/contract.h"
#include "contracts/records.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

inline constexpr std::string_view kDefaultValidatorRole = "validator";

std::string OrganisationKey(std::string_view name);
std::string RuleSetKey(uint64_t version);

// ---- reads (any contract may call these; errors are kCorruption on unparsable state) ----

Result<std::optional<v1::Organisation>> FindOrganisation(const StateView& state,
                                                         std::string_view name);
// The organisation whose registered key is `sender`; kPermissionDenied when there is none.
Result<v1::Organisation> OrganisationOfSender(const StateView& state, ByteView sender);
// All organisations, ordered by name.
Result<std::vector<v1::Organisation>> ListOrganisations(const StateView& state);
Result<std::optional<v1::Institution>> FindInstitution(const StateView& state,
                                                       std::string_view inst_id);
Result<std::optional<v1::RecordPolicy>> FindRecordPolicy(const StateView& state, RecordType type);
// Settings with defaults applied (validator_role "validator").
Result<v1::ValiditySettings> LoadValiditySettings(const StateView& state);
// kFailedPrecondition when no rule set was installed (no genesis).
Result<v1::RuleSet> LoadCurrentRuleSet(const StateView& state);
// Approvals needed for a proposal: the configured quorum, or a majority of organisations.
Result<uint32_t> EffectiveQuorum(const StateView& state);

bool HasRole(const v1::Organisation& org, std::string_view role);

// The permission matrix, loaded once per call (one Scan).
class AccessMatrix {
public:
    static Result<AccessMatrix> Load(const StateView& state);
    bool CanWrite(const v1::Organisation& org, RecordType type) const;
    bool CanRead(const v1::Organisation& org, RecordType type) const;

private:
    std::set<std::pair<std::string, int>, std::less<>> m_write;  // (role, type)
    std::set<std::pair<std::string, int>, std::less<>> m_read;
};

// Organisations that must receive the wrapped key of a public record of `type`, by name.
Result<std::vector<v1::Organisation>> AuthorisedReaders(const StateView& state, RecordType type);

// ---- writes ----

// Validates `action` against `state` and applies it. kInvalidArgument / kNotFound /
// kAlreadyExists with a message naming the field. Used by Approve and by genesis.
Status ApplyGovernanceAction(StateView& state, const v1::GovernanceAction& action);

// Methods (args -> effect):
//   Propose  ProposeArgs  -> Proposal at governance/proposal/<tx hash hex>; the proposer's
//                            approval counts; executes at once when the quorum is reached.
//   Approve  ApproveArgs  -> adds the signer's approval; executes the actions (in order,
//                            atomically) when approvals reach the quorum.
// Queries (QueryArgs):
//   Organisation (id = name) -> Organisation;  Organisations -> OrganisationList
//   Readers (record_type)     -> OrganisationList;  Proposal (id) -> Proposal
//   RuleSet                   -> current RuleSet;  RecordPolicy (record_type) -> RecordPolicy
class GovernanceContract final : public Contract {
public:
    std::string_view Name() const override;
    Status Call(const CallContext& ctx, std::string_view method, ByteView args,
                StateView& state) override;
    Result<Bytes> Query(std::string_view method, ByteView args,
                        const StateView& state) const override;

private:
    Status Propose(const CallContext& ctx, ByteView args, StateView& state);
    Status Approve(const CallContext& ctx, ByteView args, StateView& state);
    Status AddApproval(v1::Proposal& proposal, const std::string& org, const CallContext& ctx,
                       StateView& state);
};

}  // namespace meterchain::contracts
