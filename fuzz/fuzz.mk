# fuzz/fuzz.mk - libFuzzer harnesses (fuzz/fuzz_*.c), one per parser of
# untrusted bytes.  The library is compiled again with clang and
# -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/ (build/rel and
# build/san are untouched); each harness links it with -fsanitize=fuzzer.
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_JOBS=nproc] [FUZZ_TARGETS="ocsp crl"]
#        runs each harness for FUZZ_SECONDS over its corpus
#        (build/fuzz/corpus/<h>, kept between runs) and the seeds generated
#        from the test PKI and ../shared (build/fuzz/seeds/<h>); crashes land
#        in build/fuzz/artifacts/<h>/ -- copy each to fuzz/regress/<h>/.
#   make fuzz-long [FUZZ_LONG_SECONDS=3600] [FUZZ_JOBS=nproc]
#        the same over every harness for an hour each (FUZZ_JOBS at a
#        time: with 2 jobs, 17 harnesses take about 9 hours); the edges each
#        reached are printed and appended to build/fuzz/edges.tsv, so
#        coverage growth between runs is visible.
#   make fuzz-build   the harnesses and seeds only (make test depends on it:
#                     tests/test_fuzz.sh replays fuzz/regress and runs each
#                     harness briefly).
FUZZ_CC      ?= clang
FUZZ_OUT     := build/fuzz
FUZZ_NAMES   := signature certificate xml multipart json config ocsp crl cache ocsp_sign crl_sign cms_sign path pdf tsp tsp_sign xades_sign
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_OUT)/fuzz_%)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The release build's warnings, errors included: clang sees other things
# than gcc, and the harnesses are held to the same standard as the code.
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(WARN) \
                -pthread -Iverify -Icache -Ifcgi $(PKG_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIB_SRC  = $(LIB_SRC) $(FCGI_SRC)
FUZZ_LIB_OBJ  = $(FUZZ_LIB_SRC:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_SHARED  ?= $(abspath ../shared)
FUZZ_SECONDS ?= 60
FUZZ_LONG_SECONDS ?= 3600
# = $(PKI), which the Makefile sets only after including the fragments
FUZZ_PKI     := build/pki

.PHONY: fuzz fuzz-build fuzz-long
fuzz-build: $(FUZZ_BINS) $(FUZZ_OUT)/seeds/.done

$(FUZZ_OUT)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# As in the release build (verify/pdf.mk): std::bad_alloc crosses its frames.
$(FUZZ_OUT)/obj/verify/pdf_inflate.o: FUZZ_CFLAGS += -fexceptions

$(FUZZ_OUT)/libkensho-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# fuzz_cache includes cache/cache.c to reach its static frame parser; its
# copy wins over the archive member at link time.
$(FUZZ_OUT)/fuzz_cache: cache/cache.c
# fuzz_ocsp_sign includes verify/fetch.c to put a fake responder in place
# of ks_http_fetch.
$(FUZZ_OUT)/fuzz_ocsp_sign: verify/fetch.c
$(FUZZ_OUT)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_OUT)/libkensho-fuzz.a $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OUT)/libkensho-fuzz.a $(PKG_LIBS) -pthread

$(FUZZ_OUT)/seeds/.done: fuzz/seeds.sh $(FUZZ_PKI)/.done $(FUZZ_PKI)/xml/.done $(FUZZ_PKI)/pdf/.done
	bash fuzz/seeds.sh $(FUZZ_OUT)/seeds $(abspath $(FUZZ_PKI)) $(FUZZ_SHARED)
	@touch $@

fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ_SECONDS) $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))

fuzz-long: fuzz-build
	bash fuzz/run.sh $(FUZZ_LONG_SECONDS) $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))

test: fuzz-build
