// Deleter for the buffers C libraries hand out with malloc (libunistring's results, libtasn1's
// DER encodings): for std::unique_ptr. One in base/ so that every file, and the unity builds
// that put a folder's files into one translation unit, use the same.
#pragma once
#include <cstdlib>

namespace ssm {

struct CFree {
    template <typename T>
    void operator()(T* p) const noexcept
    {
        std::free(p);
    }
};

}  // namespace ssm
