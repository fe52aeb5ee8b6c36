// Fuzz target: a consensus message as a peer sends it (v1::ConsensusEnvelope through
// net::FromProto): what is accepted converts back and is accepted again, unchanged, and its
// signing bytes can be computed.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "consensus/messages.h"
#include "node/net/wire.h"
#include "test/fuzz/fuzz_common.h"

using namespace meterchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    v1::ConsensusEnvelope envelope;
    if (!envelope.ParseFromArray(data, static_cast<int>(size))) return 0;
    auto message = net::FromProto(envelope);
    if (!message.ok()) return 0;
    (void)consensus::Sender(*message);
    const v1::ConsensusEnvelope first = net::ToProto(*message);
    auto again = net::FromProto(first);
    MC_FUZZ_CHECK(again.ok());
    const v1::ConsensusEnvelope second = net::ToProto(*again);
    MC_FUZZ_CHECK(first.SerializeAsString() == second.SerializeAsString());
    return 0;
}
