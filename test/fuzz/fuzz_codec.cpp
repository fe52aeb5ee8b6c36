// Fuzz target: the canonical codec's reader (node/base/codec.h), driven by the input itself:
// each step's first byte picks the next read. Reads never overrun, a failed reader stays
// failed, and what was read encodes back to the bytes it came from.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "node/base/codec.h"
#include "test/fuzz/fuzz_common.h"

using namespace meterchain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    // The first byte is the program: two bits per read, four reads per byte, repeated.
    const uint8_t program = data[0];
    const ByteView input(data + 1, size - 1);
    codec::Reader reader(input);
    codec::Writer writer;
    for (int step = 0; step < 64 && reader.ok() && reader.remaining() > 0; ++step) {
        const size_t before = reader.remaining();
        switch ((program >> ((step % 4) * 2)) & 3) {
            case 0: {
                uint8_t v = 0;
                if (reader.U8(v)) writer.U8(v);
                break;
            }
            case 1: {
                uint32_t v = 0;
                if (reader.U32(v)) writer.U32(v);
                break;
            }
            case 2: {
                uint64_t v = 0;
                if (reader.U64(v)) writer.U64(v);
                break;
            }
            case 3: {
                Bytes v;
                if (reader.Blob(v, 1u << 20)) writer.Blob(v);
                break;
            }
        }
        MC_FUZZ_CHECK(reader.remaining() <= before);
    }
    const size_t consumed = input.size() - reader.remaining();
    if (reader.ok()) {
        MC_FUZZ_CHECK(writer.bytes().size() == consumed);
        MC_FUZZ_CHECK(std::equal(writer.bytes().begin(), writer.bytes().end(), input.begin()));
    }
    return 0;
}
