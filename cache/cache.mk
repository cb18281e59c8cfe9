# cache/ - the two-tier revocation cache (in-process + memcached).
# libmemcached's pkg-config file already links -lmemcachedutil (the
# connection pool) on Debian 12, so no extra library is needed here.
LIB_SRC  += cache/base.c cache/cache.c
HDRS     += cache/base.h cache/cache.h
PKGS     += libmemcached
TEST_SRC += tests/test_cache.c
