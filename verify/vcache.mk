# verify/vcache.mk - decoded certificates and validation results kept per context (make bench).
LIB_SRC += verify/vcache.c
TEST_SRC += tests/test_vcache.c
