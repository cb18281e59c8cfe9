# verify/audit.mk - the audit log (verify/audit.c) is part of the library:
# kensho-fcgi appends to it, `kensho audit-verify` checks it.
LIB_SRC += verify/audit.c
TEST_SRC += tests/test_audit.c
