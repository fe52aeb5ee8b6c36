// The subcommands of meterctl. To add one: write `int RunX(const Flags&)` in its own file
// (parse flags with Flags, print results to stdout and errors to stderr, return an exit
// code), declare it here, add the file to CMakeLists.txt and a row to kCommands in
// meterctl.cpp.
#pragma once

#include <string>

#include "node/base/status.h"
#include "node/tools/meterctl_flags.h"

namespace meterchain::tools {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed
inline constexpr int kExitUsage = 2;    // bad command line
inline constexpr int kExitMismatch = 3; // replay: the chain fails a check

// meterctl_keys.cpp
int RunKeygen(const Flags& flags);
// meterctl_cluster.cpp
int RunInitCluster(const Flags& flags);
int RunStatus(const Flags& flags);
int RunPut(const Flags& flags);
int RunGetTx(const Flags& flags);
int RunGetBlock(const Flags& flags);
int RunLoad(const Flags& flags);
int RunDemo(const Flags& flags);
// meterctl_secdata.cpp
int RunSecdataUpload(const Flags& flags);
int RunSecdataCredential(const Flags& flags);
int RunSecdataRequest(const Flags& flags);
// meterctl_replay.cpp
int RunReplay(const Flags& flags);
int RunExport(const Flags& flags);
// meterctl_calibration.cpp
int RunErrorModel(const Flags& flags);
int RunCalibrationRequest(const Flags& flags);
int RunCalibrationAccept(const Flags& flags);
int RunCalibrationHandle(const Flags& flags);
int RunCalibrationEvaluate(const Flags& flags);
int RunCalibrationClose(const Flags& flags);
int RunCalibrationWatch(const Flags& flags);
int RunCalibrationStats(const Flags& flags);
// meterctl_supervision.cpp
int RunSamplingPlan(const Flags& flags);
int RunSamplingCreate(const Flags& flags);
int RunSamplingDraw(const Flags& flags);
int RunSamplingImport(const Flags& flags);
int RunSamplingShow(const Flags& flags);
int RunSupervisionOverview(const Flags& flags);
int RunSupervisionBatch(const Flags& flags);
int RunSupervisionAlerts(const Flags& flags);
int RunSupervisionOutOfTolerance(const Flags& flags);
int RunSupervisionSwitching(const Flags& flags);
// The demo's supervision step: a sampling plan, a sample, re-check imports (one inconsistent
// meter; a batch with three), alerts and the overview.
Status RunDemoSupervision(const std::string& dir, const std::string& data_dir,
                          const std::string& stamp);

}  // namespace meterchain::tools
