// Fuzz target: the JSON files a node reads at start-up: its configuration (proto3 JSON of
// v1::NodeConfig, then defaults and validation, as config::LoadNodeConfig does after reading
// the file) and the contracts genesis (contracts::GenesisWrites).
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "contracts/builtin.h"
#include "node/config/config.h"
#include "test/fuzz/fuzz_common.h"

using namespace meterchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    v1::NodeConfig config;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    if (google::protobuf::util::JsonStringToMessage(text, &config, options).ok()) {
        config::ApplyDefaults(config);
        if (config::ValidateNodeConfig(config, "fuzz").ok()) {
            MC_FUZZ_CHECK(config::SelfIndex(config) >= 0);
            MC_FUZZ_CHECK(config::BuildValidatorSet(config).ok());
        }
    }
    (void)contracts::GenesisWrites(text);
    return 0;
}
