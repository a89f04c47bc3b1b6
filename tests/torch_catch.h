// Include this instead of <catch2/catch.hpp> in tests that use LibTorch: c10's logging header
// defines its own CHECK macro, which would silently replace Catch's CHECK.
#pragma once

#include <torch/torch.h>

#undef CHECK
#include <catch2/catch.hpp>
