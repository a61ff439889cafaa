/* sanitizer.h - which sanitizer this file is being compiled under, for the
 * few places that must know (a sanitizer owns malloc and the address
 * space): HAMT_UNDER_ASAN under AddressSanitizer, HAMT_UNDER_TSAN under
 * ThreadSanitizer. GCC says so with __SANITIZE_ADDRESS__ and
 * __SANITIZE_THREAD__, clang only through __has_feature.
 */
#ifndef HAMT_SANITIZER_H
#define HAMT_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define HAMT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAMT_UNDER_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define HAMT_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HAMT_UNDER_TSAN 1
#endif
#endif

#endif
