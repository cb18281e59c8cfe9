# fcgi/fcgi.mk - bin/kensho-fcgi.  Everything but main.c is independent of
# libfcgi and goes into its own archive, so tests can drive the handler.
FCGI_SRC  := fcgi/arena.c fcgi/http.c fcgi/multipart.c fcgi/metrics.c fcgi/handler.c fcgi/openapi.c
FCGI_OBJ   = $(FCGI_SRC:%.c=$(OUT)/%.o)
FCGI_LIB   = $(OUT)/libkensho-fcgi.a
HDRS      += fcgi/fcgi.h
BINS      += $(BIN)/kensho-fcgi
TEST_SRC  += tests/test_fcgi_unit.c

# The OpenAPI document is embedded into openapi.o (.incbin).
$(OUT)/fcgi/openapi.o: fcgi/openapi.json

$(OUT)/libkensho-fcgi.a: $(FCGI_SRC:%.c=$(OUT)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/kensho-fcgi: $(OUT)/fcgi/main.o $(OUT)/libkensho-fcgi.a $(OUT)/libkensho.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lfcgi

# The unit test links the libfcgi-free part of the service.
$(OUT)/tests/test_fcgi_unit: tests/test_fcgi_unit.c tests/testlib.h $(OUT)/libkensho-fcgi.a $(OUT)/libkensho.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -Ifcgi -o $@ $< $(FCGI_LIB) $(LIB) $(LDFLAGS) $(PKG_LIBS)
