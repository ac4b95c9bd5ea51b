/* winport verification stand-in: see emmintrin.h. */
#pragma once
#include <emmintrin.h>
