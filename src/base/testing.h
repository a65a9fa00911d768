// base/testing: the one way unit tests include cmocka.
//
// cmocka fails an assertion with longjmp, which skips C++ destructors: keep
// objects with destructors out of the frames that assert, or assert on plain
// values copied out of them.
#ifndef SMIME_BASE_TESTING_H_
#define SMIME_BASE_TESTING_H_

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern "C" {
#include <cmocka.h>
}

#endif  // SMIME_BASE_TESTING_H_
