// The precompiled header of our own code (configure's --enable-precompiled-headers, the
// default, gives it to every compile with -include): base/system_headers.h says what and why.
#ifndef SSM_BASE_PRECOMPILED_H
#define SSM_BASE_PRECOMPILED_H

#include "base/system_headers.h"

#endif
