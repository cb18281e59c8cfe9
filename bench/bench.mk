# bench/: measurements, not tests (make bench).  Figures live in README
# "Throughput" and bench/results.json.
#   make bench            the whole season load (bench/run.sh), under 10 minutes
#   make bench-crl        the 1,000,000-entry CRL alone
# BENCH_SECONDS (per scenario, default 20), BENCH_CONNS (64), BENCH_DOCS
# (10000), BENCH_COLD (cold signers, 2000) are passed through, and
# BENCH_ONLY (e.g. BENCH_ONLY=pdf,batch: those scenarios alone, written to
# build/bench/results-partial.json).
BENCH_TOOLS := $(OUT)/bench/crl_bench $(OUT)/bench/mkfilings $(OUT)/bench/naive $(OUT)/bench/loop \
               $(OUT)/bench/pdf_bench

$(OUT)/bench/%: bench/%.c $(OUT)/libkensho.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS)

.PHONY: bench bench-crl bench-tools
bench-tools: $(BENCH_TOOLS)

bench-crl: $(OUT)/bench/crl_bench
	$(OUT)/bench/crl_bench 1000000 build/bench-crl.der

bench: $(BINS) $(BENCH_TOOLS) build/pki/.done
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath build/pki) BENCH_BIN=$(abspath $(OUT)/bench) \
	    bash bench/run.sh
