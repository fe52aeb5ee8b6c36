// Contract "supervision": the regulator's verification-quality supervision (SUP-3..5,
// BIZ-3..6; docs/SUPERVISION.md).
//
//   CreatePlan(SamplingPlanArgs)     GB/T 2828.1 single sampling plan for an arrival batch, at
//                                    the severity the batch's manufacturer has earned (switching
//                                    rules, contracts/sampling.h); stored with its parameters.
//   DrawSample(DrawSampleArgs)       bar codes chosen by the regulator and/or drawn at random
//                                    ("data re-check") from the rest of the batch's verified
//                                    meters, seeded from the transaction hash: the same on every
//                                    node. Never more than the batch's verified count.
//   ImportRecheck(RecheckImportArgs) physical re-check results: batch number and count must
//                                    match the plan, every meter must be in the sample, once.
//                                    Each result is compared item by item with the first
//                                    verification; every inconsistent meter raises an alert to
//                                    the institution that verified it; 3 or more inconsistent
//                                    meters fail the batch's first verification (re-verify).
//
// Statistics are counters and indexes maintained when records are written (IndexAcceptedRecord,
// called by Validity for every accepted record); queries read a bounded number of keys and never
// scan records. The methods above are the regulator's: other signers get kPermissionDenied.
// Refusals (wrong batch, wrong count, a meter not in the sample, a second import) fail the
// transaction with a message naming the problem, and write nothing.
//
// Deterministic: integers only, ordered containers, block time and transaction hash from the
// CallContext. Not thread-safe per call (the executor runs one call at a time).
#pragma once

#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "contracts/records.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

inline constexpr std::string_view kSupervisionContract = "supervision";
inline constexpr std::string_view kRegulatorRole = "regulator";
// The batch rule of §5.2: more than 2 inconsistent meters fail the batch.
inline constexpr uint32_t kBatchFailInconsistent = 3;

// Updates the supervision indexes and counters for a record Validity has just stored. `fields`
// is the opened record (public class) or its index (digest-only). Only the first verification
// of a meter is counted. Errors: kCorruption on unreadable state.
Status IndexAcceptedRecord(const CallContext& ctx, RecordType type, const RecordFields& fields,
                           StateView& state);

// The arrival date ("YYYY-MM-DD") of the batch a meter belongs to, as indexed; nullopt when the
// meter or its batch is not known. Used by the RULE_DATE_PLAUSIBLE validity rule.
Result<std::optional<std::string>> MeterArrivalDate(const StateView& state,
                                                    std::string_view bar_code);

// Methods: CreatePlan, DrawSample, ImportRecheck (above).
// Queries (QueryArgs.id): "Plan", "Sample", "Recheck" (plan id); "Batch" (arrival batch no);
// "Alerts" (organisation, or "" for all); "Switching" (manufacturer); "Overview";
// "OutOfTolerance" (id = year "YYYY" for the over-8-years count; "" = year of the last block).
class SupervisionContract final : public Contract {
public:
    std::string_view Name() const override;
    Status Call(const CallContext& ctx, std::string_view method, ByteView args,
                StateView& state) override;
    Result<Bytes> Query(std::string_view method, ByteView args,
                        const StateView& state) const override;
};

}  // namespace meterchain::contracts
