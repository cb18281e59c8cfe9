# bench/: measurements, not tests (make bench).  Targets live in README "Throughput".
BENCH_BIN := $(OUT)/bench/crl_bench

$(OUT)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS)

.PHONY: bench-crl
bench-crl: $(OUT)/bench/crl_bench
	$(OUT)/bench/crl_bench 1000000 build/bench-crl.der
