# kensho - a relying-party verification gateway for Japanese e-government.
#
#   make            build bin/kensho (and the library)
#   make test       build and run every test (SAN=1: under ASan+UBSan+LSan)
#   (both install what a fresh Debian 12 lacks first when run as root)
#   make run        the whole stack on 127.0.0.1:8080 with a demo PKI
#   make clean
#
# SAN=1 builds into build/san with sanitizers; the default build is build/rel.

# A fresh machine lacks the packages that pkg-config is asked about below,
# at parse time: for the goals that build, install them first (as root,
# like CI's .ci/run; tests/install-deps.sh does nothing when all are there).
# KS_DEPS_DONE keeps recursive makes from asking again.
KS_BUILD_GOALS := all test run pki fuzz fuzz-build fuzz-long bench soak conformance test-www test-cluster
ifneq ($(filter $(KS_BUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(KS_DEPS_DONE),)
ifeq ($(shell id -u),0)
$(shell bash tests/install-deps.sh >&2)
ifneq ($(.SHELLSTATUS),0)
$(error tests/install-deps.sh failed: the packages above could not be installed)
endif
else ifneq ($(shell pkg-config --exists libcjson openssl libxml-2.0 xmlsec1-openssl 2>/dev/null || echo missing),)
$(warning packages are missing and we are not root: run sudo bash tests/install-deps.sh (or make as root))
endif
export KS_DEPS_DONE := 1
endif
endif

CC      ?= cc
FLAVOR  := $(if $(SAN),san,rel)
OUT     := build/$(FLAVOR)
BIN     := $(if $(SAN),$(OUT)/bin,bin)

PKGS    := libcjson openssl
LIBS    :=   # libraries without a pkg-config file (the .mk fragments add them)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
VERIFY_SRC := verify/util.c verify/config.c verify/input.c verify/certinfo.c verify/path.c \
              verify/verdict.c verify/revoke.c verify/ocsp.c verify/registry.c verify/fetch.c \
              verify/status.c verify/verify.c verify/tsp.c verify/digest.c verify/jws.c verify/cades.c
LIB_SRC    := $(VERIFY_SRC)
HDRS       := verify/verify.h verify/internal.h
TEST_SRC   := tests/test_unit.c tests/test_verify.c tests/test_ltv.c tests/test_digest.c tests/test_ocsp_vectors.c tests/test_revcache.c tests/test_oom.c
BINS       := $(BIN)/kensho

.DEFAULT_GOAL := all
# Each module lists its own sources, packages, binaries and tests here.
include $(wildcard verify/*.mk cache/*.mk fcgi/*.mk tests/*/*.mk bench/*.mk fuzz/*.mk)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) $(LIBS)
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -g $(WARN) -fPIE -fstack-protector-strong -pthread -Iverify -Icache $(PKG_CFLAGS)
ifeq ($(SAN),1)
CFLAGS  := $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS := -fsanitize=address,undefined -pie -Wl,-z,relro,-z,now -pthread
else
CFLAGS  := $(CFLAGS_COMMON) -O2 -D_FORTIFY_SOURCE=2
LDFLAGS := -pie -Wl,-z,relro,-z,now -pthread
endif

# --version and kensho_build_info: the release and the commit built.  The
# stamp file changes only when the version does, and util.o follows it.
KS_VERSION := 0.1.0+$(or $(shell git rev-parse --short HEAD 2>/dev/null),unknown)
KS_VERSION_STAMP := $(OUT)/version.stamp
$(shell mkdir -p $(OUT) && (echo '$(KS_VERSION)' | cmp -s - $(KS_VERSION_STAMP) || echo '$(KS_VERSION)' >$(KS_VERSION_STAMP)))
$(OUT)/verify/util.o: CFLAGS += -DKS_VERSION='"$(KS_VERSION)"'
$(OUT)/verify/util.o: $(KS_VERSION_STAMP)

LIB_OBJ    := $(LIB_SRC:%.c=$(OUT)/%.o)
LIB        := $(OUT)/libkensho.a
TEST_BIN   := $(TEST_SRC:tests/%.c=$(OUT)/tests/%)

.PHONY: all test run clean pki
all: $(BINS)

$(OUT)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/kensho: $(OUT)/verify/cli.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(OUT)/tests/%: tests/%.c tests/testlib.h tests/testnet.h tests/ltvlib.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -Icache -Ifcgi -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS)

# The test PKI is generated, never committed: dates are relative to now.
PKI := build/pki
# demo.json: the README's command-line example, offline (the PKI's own CRLs,
# revocation "require"); paths are relative to the file.
$(PKI)/.done: tests/pki/mkpki.sh
	bash tests/pki/mkpki.sh $(PKI)
	printf '%s\n' '{' '  "trust_anchors": ["anchors"],' '  "intermediates": ["intermediates"],' \
	    '  "crls": ["pref-ca.crl", "pref-ca2.crl", "jpki-bca.crl", "gpki-bca.crl", "ministry-ca.crl"],' \
	    '  "revocation": {"mode": "require"},' '  "accept_policies": ["1.2.392.200149.8.5.1.1.20"]' '}' >$(PKI)/demo.json
	@touch $@
pki: $(PKI)/.done

test: $(BINS) $(TEST_BIN) $(PKI)/.done
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath $(PKI)) OUT=$(OUT) SHARED=$(abspath ../shared) bash tests/run.sh $(TEST_BIN)

# The whole stack on 127.0.0.1 in the foreground (tests/run-stack.sh);
# PORT=n and CONFIG=file override.  Ctrl-C stops it.
run:
	@$(MAKE) --no-print-directory all pki
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath $(PKI)) PORT=$(or $(PORT),8080) CONFIG=$(CONFIG) \
	    bash tests/run-stack.sh

clean:
	rm -rf build bin
