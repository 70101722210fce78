// The precompiled header of the unit tests' own files: base/system_headers.h (which says
// why), and CppUnit's macros, which every test file includes.
#ifndef SSM_TESTS_UNIT_PRECOMPILED_H
#define SSM_TESTS_UNIT_PRECOMPILED_H

#include "base/system_headers.h"

#include <cppunit/extensions/HelperMacros.h>

#endif
