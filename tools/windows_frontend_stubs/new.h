/* winport verification stand-in for MSVC's new.h. */
#pragma once
#include <new>
