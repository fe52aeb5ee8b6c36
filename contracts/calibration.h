// Contract "calibration": the remote error model's results (BIZ-2), user active calibration and
// its work orders (BIZ-1, DATA-2), and calibration-request supervision (BIZ-7).
// docs/CALIBRATION.md describes the workflow; docs/CONTRACTS.md the state layout.
//
// Deterministic like every contract: integers only (errors in parts per million), every time is
// the block time of CallContext, iteration only over ordered state prefixes.
//
// State layout:
//   calibration/settings                        CalibrationSettings (genesis, governance)
//   calibration/asset/<hex SM3(assetNo)>         AssetStatus, kept by Validity for meter assets
//   calibration/asset-of/<hex SM3(barCode)>      hex SM3(assetNo) of that asset (stale-entry
//                                                clean-up when an asset number changes)
//   calibration/replacement/<hex SM3(barCode)>   unfinished replacement order no (Validity)
//   calibration/result/<hex SM3(assetNo)>        StoredErrorResult, the meter's latest result
//   calibration/run/<org>/<hex SM3(run id)>      tx hash hex of the accepted run
//   calibration/request/<hex SM3(requestNo)>     CalibrationAnswer
//   calibration/order/<order no>                 WorkOrder
//   calibration/open/<hex SM3(assetNo)>          order no of the meter's unfinished order
//   calibration/anomaly/<order no>               CalibrationAnomaly (supervision store)
//   calibration/due/accept/<ms:020>/<order no>   (empty) open orders by accept deadline
//   calibration/due/handle/<ms:020>/<order no>   (empty) unhandled orders by handle deadline
//   calibration/alert/dissatisfied/<order no>    (empty)
//   calibration/stats                            CalibrationStats (counters only)
//   calibration/last-time                        u64 block time of the latest call
//
// Methods (args -> effect; a non-OK status fails the transaction and writes nothing):
//   SubmitErrorResults ErrorModelSubmission -> each meter's latest result; PERMISSION_DENIED
//                      unless the signer holds a result role; ALREADY_EXISTS for a repeated run.
//   Request  CalibrationRequestArgs -> CalibrationAnswer at calibration/request/...; the checks
//            run in the specification's order (Request's comment in the .cpp).
//   Accept / Handle / Evaluate / Close  WorkOrderTransitionArgs -> the order's next state;
//            PERMISSION_DENIED for a role the settings do not allow, FAILED_PRECONDITION when the
//            order is not in the state before.
// Queries (CalibrationQueryArgs): Answer (id = request no), Order (id = order no), Result
// (id = asset no), Stats (as_of_ms), Settings, Anomaly (id = order no).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "contracts/records.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

inline constexpr std::string_view kCalibrationContract = "calibration";

// Refusal codes of CalibrationAnswer.refusal.
inline constexpr std::string_view kRefuseUnknownMeter = "UNKNOWN_METER";
inline constexpr std::string_view kRefuseNotInService = "NOT_IN_SERVICE";
inline constexpr std::string_view kRefuseOpenOrder = "OPEN_WORK_ORDER";

// Alert kinds of CalibrationAlert.kind.
inline constexpr std::string_view kAlertOverdueNotAccepted = "OVERDUE_NOT_ACCEPTED";
inline constexpr std::string_view kAlertOverdueNotHandled = "OVERDUE_NOT_HANDLED";
inline constexpr std::string_view kAlertDissatisfied = "CUSTOMER_DISSATISFIED";

// The meter state that counts as "in service" (the sample data's 运行).
inline constexpr std::string_view kInService = "运行";

// Tolerance of an accuracy class in parts per million (class "2" -> 20000); 0 when unknown.
uint64_t ClassTolerancePpm(std::string_view accuracy_class);

// Called by Validity after it stored a valid record: keeps the indexes the calibration checks
// read (meter asset -> AssetStatus; replacement order -> unfinished-order index). `fields` must
// be complete for these types (they are public records). `replaces` says a record with the same
// id was stored before (only then can an older index entry exist: the asset record's id is its
// bar code, so a new one costs no read). kCorruption on unparsable state.
Status IndexStoredRecord(StateView& state, RecordType type, const RecordFields& fields,
                         uint64_t height, bool replaces);

// Governance action set_calibration_settings (also applied from genesis). kInvalidArgument
// naming the field.
Status ApplySetCalibrationSettings(StateView& state, const v1::CalibrationSettings& settings);

// The WorkOrder at calibration/order/<order_no>, nullopt when absent.
Result<std::optional<v1::WorkOrder>> FindWorkOrder(const StateView& state,
                                                   std::string_view order_no);

class CalibrationContract final : public Contract {
public:
    std::string_view Name() const override;
    Status Call(const CallContext& ctx, std::string_view method, ByteView args,
                StateView& state) override;
    Result<Bytes> Query(std::string_view method, ByteView args,
                        const StateView& state) const override;
};

}  // namespace meterchain::contracts
