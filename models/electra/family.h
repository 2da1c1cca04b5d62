// ELECTRA's entry in the zoo's registry (models/registry.cpp lists it): model_type, heads, named
// sizes, and how to parse its config and build its classes.
#pragma once

#include "models/registry.h"

namespace tz::electra {

models::Family family();

}  // namespace tz::electra
