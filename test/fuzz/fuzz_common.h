// Shared helpers of the libFuzzer targets (built only with clang: scripts/fuzz.sh).
//
// Each target feeds bytes from outside (a peer, a client, a file) to one decoder, and checks
// what the decoder promises beyond "no crash": what it accepts encodes back to something it
// accepts again, with the same meaning. A broken promise aborts (libFuzzer keeps the input).
#pragma once

#include <cstdio>
#include <cstdlib>

// Aborts with a message: a decoder broke its contract on this input.
#define MC_FUZZ_CHECK(cond)                                                              \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                \
        }                                                                                \
    } while (0)
