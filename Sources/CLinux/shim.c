// Everything in this module is static inline in include/CLinux.h; this unit only
// gives the package manager something to compile for the module.
#include "CLinux.h"
