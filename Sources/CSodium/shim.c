// Everything is in libsodium; this unit only gives the package manager something to
// compile for the module.
#include "CSodium.h"
